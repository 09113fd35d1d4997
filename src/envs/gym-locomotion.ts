/**
 * The Gymnasium v4 planar locomotion pattern shared by Hopper, Walker2d and HalfCheetah (docs/design/environments.md §2–§5):
 * - reward = forward_weight · (x_after − x_before)/dt + healthy_reward − ctrl_weight · Σa²; v4 pays the healthy
 *   reward on every step, the terminating one included;
 * - observation = qpos[1:] (x excluded), then qvel, optionally clipped;
 * - termination = the env's observation rule (termination.ts) applied to the *unclipped* state
 *   (qpos[1:], raw qvel), which is exactly Gymnasium's `is_healthy`;
 * - reset = qpos0 + U(−s, s), then qvel = U(−s, s) or s·N(0, 1);
 * - info: x_position, x_velocity, reward_forward, reward_ctrl (≤ 0) and, where paid, reward_healthy.
 *
 * The control cost uses the clipped action (Gymnasium lets MuJoCo clamp ctrl but charges the raw action; our
 * agents' actions are in [−1, 1] anyway).
 */
import { MujocoEnv, type MujocoEnvOptions, type Transition } from "./mujoco-env.js";
import type { MassModel } from "./mjcf/builder.js";
import { Sim } from "./sim.js";
import type { TerminationFn } from "./termination.js";
import type { Rng } from "../engine/rng.js";

export interface GymLocomotionConfig {
  id: string;
  xml: (massModel: MassModel) => string;
  frameSkip: number;
  obsDim: number;
  maxEpisodeSteps: number;
  ctrlCostWeight: number;
  /** Paid every step (v4); 0 for HalfCheetah. */
  healthyReward: number;
  /** Velocities in the observation are clipped to ±this; null leaves them raw. */
  qvelClip: number | null;
  resetNoiseScale: number;
  resetQvelNoise: "uniform" | "normal";
  /** Task termination on the unclipped state-as-observation; null = never terminates. */
  termination: TerminationFn | null;
}

export class GymLocomotionEnv extends MujocoEnv {
  private readonly qpos0: Float64Array;

  private constructor(
    sim: Sim,
    private readonly cfg: GymLocomotionConfig,
    seed: number,
  ) {
    super(sim, { id: cfg.id, frameSkip: cfg.frameSkip, maxEpisodeSteps: cfg.maxEpisodeSteps, obsDim: cfg.obsDim, camera: { name: "track", trackBody: "torso" } }, seed);
    this.qpos0 = sim.qpos0();
  }

  static async create(cfg: GymLocomotionConfig, options: MujocoEnvOptions): Promise<GymLocomotionEnv> {
    const sim = await Sim.fromXml(cfg.xml(options.massModel), { disableIsland: options.disableIsland });
    return new GymLocomotionEnv(sim, cfg, options.seed);
  }

  protected resetModel(rng: Rng): void {
    const s = this.cfg.resetNoiseScale;
    const qpos = this.qpos0.map((q) => q + rng.uniformRange(-s, s));
    const qvel = new Float64Array(this.sim.nv);
    for (let i = 0; i < qvel.length; i++) qvel[i] = this.cfg.resetQvelNoise === "uniform" ? rng.uniformRange(-s, s) : s * rng.normal();
    this.sim.setState(qpos, qvel);
  }

  protected simulate(action: Float64Array): Transition {
    const xBefore = this.sim.qpos()[0];
    this.doSimulation(action);
    const xAfter = this.sim.qpos()[0];
    const xVelocity = (xAfter - xBefore) / this.dt;
    // The forward-reward weight is 1 in all three v4 envs.
    const forward = xVelocity;
    let sq = 0;
    for (let i = 0; i < action.length; i++) sq += action[i] * action[i];
    const ctrlCost = this.cfg.ctrlCostWeight * sq;
    const terminated = this.cfg.termination !== null && this.cfg.termination(this.stateObservation(null)) !== "none";
    const info: Record<string, unknown> = { x_position: xAfter, x_velocity: xVelocity, reward_forward: forward, reward_ctrl: -ctrlCost };
    if (this.cfg.healthyReward !== 0) info.reward_healthy = this.cfg.healthyReward;
    return { reward: forward + this.cfg.healthyReward - ctrlCost, terminated, info };
  }

  protected observe(): Float64Array {
    return this.stateObservation(this.cfg.qvelClip);
  }

  /** qpos[1:] followed by qvel, the latter clipped to ±clip unless clip is null. */
  private stateObservation(clip: number | null): Float64Array {
    const qpos = this.sim.qpos();
    const qvel = this.sim.qvel();
    const out = new Float64Array(qpos.length - 1 + qvel.length);
    out.set(qpos.subarray(1), 0);
    for (let i = 0; i < qvel.length; i++) {
      const v = qvel[i];
      out[qpos.length - 1 + i] = clip === null ? v : Math.min(clip, Math.max(-clip, v));
    }
    return out;
  }
}
