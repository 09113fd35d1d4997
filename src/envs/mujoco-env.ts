/**
 * Abstract base `Env` for MuJoCo tasks (docs/design/environments.md §2).
 *
 * What the base does:
 * - action validation: wrong length or a non-finite entry → `UserError` naming the env id and the index;
 *   values outside [-1, 1] are clipped, then mapped linearly onto each actuator's ctrlrange
 *   (`ctrl = mid + a·half`, which is exactly the identity for ranges of [-1, 1]);
 * - `doSimulation(a)`: write ctrl, `frameSkip` × `mj_step`, then `mj_rnePostConstraint` (Gymnasium order);
 * - time limit: `truncated` is true on step `maxEpisodeSteps` unless that step also terminates (a row is never
 *   both, docs/design/datasets.md §2); stepping a finished episode or before the first `reset()` throws;
 * - seeding: one `Rng` per env (constructor seed, default 0); `reset({ seed })` re-seeds it, otherwise the
 *   stream continues;
 * - `close()` frees the simulator.
 *
 * What a subclass supplies:
 * - `resetModel(rng)`: called after `mj_resetData`; sets the initial state (usually `sim.setState` with noise);
 * - `simulate(action)`: called with the clipped action; calls `doSimulation` (or its own stepping) and returns
 *   reward, termination and info;
 * - `observe()`: the float64 observation (the base converts it to float32).
 *
 * For pixel wrappers: `sim` is public, and `camera` names the model camera and the body it tracks.
 * Env factories take `MujocoEnvOptions` (mass model, island flag, seed), resolved by the registry.
 */
import type { ActionSpace, Env, ResetOptions, Space, StepResult } from "./env.js";
import type { Sim } from "./sim.js";
import type { MassModel } from "./mjcf/builder.js";
import { Rng } from "../engine/rng.js";
import { UserError } from "../errors.js";

export type { MassModel };

/** Construction options every MuJoCo env accepts; the registry fills in the defaults. */
export interface MujocoEnvOptions {
  /** "legacy" (default): MuJoCo ≤ 2.1.1 capsule masses, as D4RL/V-D4RL data were made; "exact": modern. */
  massModel: MassModel;
  /** Island discovery off (default true); must match between data generation and evaluation. */
  disableIsland: boolean;
  /** Seed of the env's RNG until `reset({ seed })` re-seeds it (default 0). */
  seed: number;
}

export interface CameraSpec {
  /** Camera name in the model. */
  name: string;
  /** Body the camera follows (its `trackcom` target). */
  trackBody: string;
}

export interface MujocoEnvSpec {
  id: string;
  frameSkip: number;
  maxEpisodeSteps: number;
  obsDim: number;
  camera: CameraSpec;
}

export interface Transition {
  reward: number;
  terminated: boolean;
  info: Record<string, unknown>;
}

export abstract class MujocoEnv implements Env {
  readonly id: string;
  readonly observationSpace: Space;
  readonly actionSpace: ActionSpace;
  readonly maxEpisodeSteps: number;
  readonly frameSkip: number;
  /** Agent-step duration in seconds: timestep × frameSkip. */
  readonly dt: number;
  readonly camera: CameraSpec;
  protected rng: Rng;
  private elapsed = 0;
  private episodeOpen = false;
  private readonly ctrlMid: Float64Array;
  private readonly ctrlHalf: Float64Array;
  private readonly ctrlBuf: Float64Array;

  protected constructor(
    readonly sim: Sim,
    spec: MujocoEnvSpec,
    seed = 0,
  ) {
    this.id = spec.id;
    this.frameSkip = spec.frameSkip;
    this.maxEpisodeSteps = spec.maxEpisodeSteps;
    this.camera = spec.camera;
    this.observationSpace = { shape: [spec.obsDim], dtype: "float32" };
    this.actionSpace = { dim: sim.nu, low: -1, high: 1 };
    this.dt = sim.timestep * spec.frameSkip;
    this.rng = new Rng(seed);
    const ranges = sim.actuatorCtrlRange();
    this.ctrlMid = Float64Array.from(ranges, ([lo, hi]) => (lo + hi) / 2);
    this.ctrlHalf = Float64Array.from(ranges, ([lo, hi]) => (hi - lo) / 2);
    this.ctrlBuf = new Float64Array(sim.nu);
  }

  protected abstract resetModel(rng: Rng): void;
  protected abstract simulate(action: Float64Array): Transition;
  protected abstract observe(): Float64Array;

  /** Steps taken in the current episode. */
  get elapsedSteps(): number {
    return this.elapsed;
  }

  reset(options: ResetOptions = {}): Float32Array {
    if (options.seed !== undefined) this.rng = new Rng(options.seed);
    this.sim.resetData();
    this.resetModel(this.rng);
    this.elapsed = 0;
    this.episodeOpen = true;
    return Float32Array.from(this.observe());
  }

  step(action: ArrayLike<number>): StepResult {
    if (!this.episodeOpen) {
      throw new UserError(`${this.id}: step() called ${this.elapsed === 0 ? "before reset()" : "after the episode ended"}; call reset() first`);
    }
    const clipped = this.validateAction(action);
    const { reward, terminated, info } = this.simulate(clipped);
    this.elapsed++;
    const truncated = !terminated && this.elapsed >= this.maxEpisodeSteps;
    if (terminated || truncated) this.episodeOpen = false;
    return { obs: Float32Array.from(this.observe()), reward, terminated, truncated, info };
  }

  close(): void {
    this.episodeOpen = false;
    this.sim.close();
  }

  /** Checks length and finiteness, then clips to [-1, 1]; returns a fresh array. */
  protected validateAction(action: ArrayLike<number>): Float64Array {
    const dim = this.actionSpace.dim;
    if (action.length !== dim) {
      throw new UserError(`${this.id}: action has ${action.length} values, expected ${dim}`);
    }
    const out = new Float64Array(dim);
    for (let i = 0; i < dim; i++) {
      const v = action[i];
      if (!Number.isFinite(v)) throw new UserError(`${this.id}: action[${i}] is ${v}; actions must be finite`);
      out[i] = v < -1 ? -1 : v > 1 ? 1 : v;
    }
    return out;
  }

  /** Writes the mapped control, runs `frameSkip` physics steps and `mj_rnePostConstraint`. */
  protected doSimulation(action: Float64Array): void {
    for (let i = 0; i < this.ctrlBuf.length; i++) this.ctrlBuf[i] = this.ctrlMid[i] + action[i] * this.ctrlHalf[i];
    this.sim.setCtrl(this.ctrlBuf);
    this.sim.step(this.frameSkip);
    this.sim.rnePostConstraint();
  }
}
