/**
 * dm_control suite semantics shared by `dmc-cheetah-run` and `dmc-walker-walk` (docs/design/environments.md §8), as
 * V-D4RL uses them.
 *
 * - Legacy step (§8.1): one control step of n physics steps is `mj_step2`, `mj_step` × (n − 1), `mj_step1`,
 *   so kinematics and sensors (`xpos`, `xmat`, `sensordata`, `cam_xpos`) describe the new `qpos`/`qvel` when
 *   the reward is computed and a frame is rendered. The trajectory is the plain `mj_step` one; only the
 *   derived quantities are brought forward. (Calling `mj_forward` after `mj_step` instead would also re-solve
 *   the constraints and change the solver's warm start, hence the split step.)
 * - V-D4RL wrapper (§8.3): action repeat 2; each agent step runs 2 control steps with the same action and
 *   returns the sum of their rewards, so agent-step rewards lie in [0, 2] and a 500-step episode's return in
 *   [0, 1000]. `info.controlRewards` holds the two control-step rewards, each in [0, 1].
 * - Time limit (§8.2): 1000 control steps = 500 agent steps, then `truncated`; `terminated` is always false and
 *   the discount is 1 throughout (`info.discount`).
 * - Actions are clipped to [−1, 1] and written to `ctrl` unchanged: every dm_control motor has ctrlrange [−1, 1],
 *   and dm_control writes actions straight to `ctrl`.
 * - Reset: `mj_resetData`, `mj_forward` (dm_control's reset runs it with actuation off; `ctrl` is zero there, so a
 *   plain forward is the same), the task's randomisation, then `mj_forward`.
 * - The pixel camera is camera 0, `side`, tracking the torso (§8.3, §12).
 *
 * `tolerance` is dm_control's reward shaping function (`suite/utils/rewards.py`), with all of its sigmoids.
 */
import { MujocoEnv, type Transition } from "./mujoco-env.js";
import type { Sim } from "./sim.js";
import type { Rng } from "../engine/rng.js";
import { UserError } from "../errors.js";

export type Sigmoid = "gaussian" | "hyperbolic" | "long_tail" | "reciprocal" | "cosine" | "linear" | "quadratic" | "tanh_squared";

/** Sigmoids with unbounded support need 0 < valueAtMargin < 1; the bounded ones also accept 0. */
const POSITIVE_AT_MARGIN: ReadonlySet<Sigmoid> = new Set(["gaussian", "hyperbolic", "long_tail", "reciprocal", "tanh_squared"]);

/**
 * dm_control's sigmoid family: a function of the normalised distance `x` (0 at the bound, 1 at the margin)
 * that is 1 at x = 0 and `valueAtMargin` at |x| = 1. The bounded ones (cosine, linear, quadratic) are 0 beyond
 * the point where they reach 0.
 */
export function sigmoid(x: number, valueAtMargin: number, kind: Sigmoid): number {
  const v = valueAtMargin;
  if (POSITIVE_AT_MARGIN.has(kind) ? !(v > 0 && v < 1) : !(v >= 0 && v < 1)) {
    throw new UserError(`tolerance: valueAtMargin must be in ${POSITIVE_AT_MARGIN.has(kind) ? "(0, 1)" : "[0, 1)"} for the ${kind} sigmoid, got ${v}`);
  }
  switch (kind) {
    case "gaussian": {
      const s = Math.sqrt(-2 * Math.log(v));
      return Math.exp(-0.5 * (x * s) ** 2);
    }
    case "hyperbolic":
      return 1 / Math.cosh(x * Math.acosh(1 / v));
    case "long_tail": {
      const s = Math.sqrt(1 / v - 1);
      return 1 / ((x * s) ** 2 + 1);
    }
    case "reciprocal":
      return 1 / (Math.abs(x) * (1 / v - 1) + 1);
    case "cosine": {
      const sx = (x * Math.acos(2 * v - 1)) / Math.PI;
      return Math.abs(sx) < 1 ? (1 + Math.cos(Math.PI * sx)) / 2 : 0;
    }
    case "linear": {
      const sx = x * (1 - v);
      return Math.abs(sx) < 1 ? 1 - sx : 0;
    }
    case "quadratic": {
      const sx = x * Math.sqrt(1 - v);
      return Math.abs(sx) < 1 ? 1 - sx * sx : 0;
    }
    case "tanh_squared":
      return 1 - Math.tanh(x * Math.atanh(Math.sqrt(1 - v))) ** 2;
  }
}

export interface ToleranceOptions {
  /** Interval where the value is 1; either end may be infinite. */
  bounds: readonly [number, number];
  /** Distance outside the bounds at which the value falls to `valueAtMargin`; 0 gives a hard 0/1 indicator. */
  margin?: number;
  sigmoid?: Sigmoid;
  valueAtMargin?: number;
}

/** dm_control `rewards.tolerance`: 1 inside `bounds`, else the sigmoid of the distance to the nearer bound / margin. */
export function tolerance(x: number, options: ToleranceOptions): number {
  const [lower, upper] = options.bounds;
  const margin = options.margin ?? 0;
  if (!(lower <= upper)) throw new UserError(`tolerance: lower bound ${lower} exceeds upper bound ${upper}`);
  if (!(margin >= 0)) throw new UserError(`tolerance: margin must be non-negative, got ${margin}`);
  if (lower <= x && x <= upper) return 1;
  if (margin === 0) return 0;
  const d = (x < lower ? lower - x : x - upper) / margin;
  return sigmoid(d, options.valueAtMargin ?? 0.1, options.sigmoid ?? "gaussian");
}

/** V-D4RL's action repeat: control steps per agent step (§8.3). */
export const VD4RL_ACTION_REPEAT = 2;
/** dm_control episode length in control steps for both tasks (time limit / control timestep, §8.2). */
export const DMC_CONTROL_STEPS_PER_EPISODE = 1000;

export interface DmcTaskSpec {
  id: string;
  /** Physics steps per dm_control control step (control timestep / physics timestep). */
  physicsStepsPerControlStep: number;
  obsDim: number;
}

/** Reward of one control step and the named quantities it was computed from. */
export interface DmcRewardTerms {
  reward: number;
  terms: Record<string, number>;
}

export abstract class DmcEnv extends MujocoEnv {
  readonly physicsStepsPerControlStep: number;
  readonly actionRepeat = VD4RL_ACTION_REPEAT;

  protected constructor(sim: Sim, spec: DmcTaskSpec, seed: number) {
    super(
      sim,
      {
        id: spec.id,
        frameSkip: spec.physicsStepsPerControlStep * VD4RL_ACTION_REPEAT,
        maxEpisodeSteps: DMC_CONTROL_STEPS_PER_EPISODE / VD4RL_ACTION_REPEAT,
        obsDim: spec.obsDim,
        camera: { name: "side", trackBody: "torso" },
      },
      seed,
    );
    this.physicsStepsPerControlStep = spec.physicsStepsPerControlStep;
  }

  /** The task's episode randomisation, run between the two `mj_forward` calls of the reset. */
  protected abstract initializeEpisode(rng: Rng): void;

  /**
   * The control-step reward of the simulator's current state and its terms. Valid whenever kinematics and
   * sensors are current: after `reset()`, `step()`, or `sim.setState()`.
   */
  abstract rewardTerms(): DmcRewardTerms;

  protected resetModel(rng: Rng): void {
    this.sim.forward();
    this.initializeEpisode(rng);
    this.sim.forward();
  }

  /** dm_control `Physics.step(n)` for Euler models: finishes the pending step, then leaves kinematics current. */
  protected legacyStep(n: number): void {
    this.sim.step2();
    this.sim.step(n - 1);
    this.sim.step1();
  }

  protected simulate(action: Float64Array): Transition {
    this.sim.setCtrl(action);
    const controlRewards: number[] = [];
    let reward = 0;
    let last: DmcRewardTerms | null = null;
    for (let k = 0; k < VD4RL_ACTION_REPEAT; k++) {
      this.legacyStep(this.physicsStepsPerControlStep);
      last = this.rewardTerms();
      controlRewards.push(last.reward);
      reward += last.reward;
    }
    // The terms reported are those of the agent step's final control step (the state the agent observes).
    return { reward, terminated: false, info: { ...last?.terms, controlRewards, discount: 1 } };
  }
}
