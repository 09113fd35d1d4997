/**
 * Ant with Gymnasium Ant-v4 semantics (docs/design/environments.md §6), default arguments:
 * - frame skip 5 at timestep 0.01 (dt 0.05 s), 1000 steps;
 * - observation (27) = qpos[2:15] ++ qvel[0:14]; with `useContactForces`, 84 more values: every body's
 *   `cfrc_ext` clipped to [−1, 1] (111 in all);
 * - reward = torso x velocity + 1 − 0.5·Σa², minus 5e−4·Σ clip(cfrc_ext, −1, 1)² with contact forces.
 *   The velocity is the difference of the torso's `xpos` read before and straight after the frame-skip block,
 *   divided by dt. `xpos` after `mj_step` lags one substep behind `qpos` (§1.5 item 9); Gymnasium reads it that
 *   way and so does this port;
 * - healthy = finite state and 0.2 ≤ qpos[2] ≤ 1.0 (termination.ts `ant`); unhealthy terminates. The healthy
 *   reward is paid on every step, terminal ones included (v4 with `terminate_when_unhealthy`);
 * - reset: qpos = qpos0 + U(−0.1, 0.1), qvel = 0.1·N(0, 1).
 */
import { MujocoEnv, type MujocoEnvOptions, type Transition } from "./mujoco-env.js";
import { Sim } from "./sim.js";
import type { Rng } from "../engine/rng.js";
import { antXml } from "./mjcf/ant.js";
import { TERMINATION_RULES } from "./termination.js";

export const ANT_FRAME_SKIP = 5;
const CTRL_COST_WEIGHT = 0.5;
const CONTACT_COST_WEIGHT = 5e-4;
const HEALTHY_REWARD = 1.0;
const RESET_NOISE = 0.1;
/** Free joint (7) + 8 hinges; the ant's part of qpos/qvel in both variants. */
export const ANT_NQ = 15;
export const ANT_NV = 14;

export interface AntOptions extends MujocoEnvOptions {
  /** Gymnasium's `use_contact_forces` (default false): append clipped `cfrc_ext` and charge a contact cost. */
  useContactForces?: boolean;
}

/**
 * Gymnasium/D4RL ant reset: qpos0 + U(−0.1, 0.1) on every qpos entry (the quaternion is left unnormalised, MuJoCo
 * normalises internally), qvel = 0.1·N(0, 1); all qpos draws come before the qvel draws.
 */
export function resetAntState(sim: Sim, rng: Rng): void {
  const qpos = sim.qpos0();
  for (let i = 0; i < qpos.length; i++) qpos[i] += rng.uniformRange(-RESET_NOISE, RESET_NOISE);
  const qvel = new Float64Array(sim.nv);
  for (let i = 0; i < qvel.length; i++) qvel[i] = RESET_NOISE * rng.normal();
  sim.setState(qpos, qvel);
}

export class AntEnv extends MujocoEnv {
  readonly useContactForces: boolean;

  private constructor(sim: Sim, useContactForces: boolean, seed: number) {
    super(sim, {
      id: "ant",
      frameSkip: ANT_FRAME_SKIP,
      maxEpisodeSteps: 1000,
      obsDim: ANT_NQ - 2 + ANT_NV + (useContactForces ? 6 * sim.nbody : 0),
      camera: { name: "track", trackBody: "torso" },
    }, seed);
    this.useContactForces = useContactForces;
  }

  static async create(options: AntOptions): Promise<AntEnv> {
    const sim = await Sim.fromXml(antXml({ variant: "gymnasium", massModel: options.massModel }), { disableIsland: options.disableIsland });
    return new AntEnv(sim, options.useContactForces ?? false, options.seed);
  }

  protected resetModel(rng: Rng): void {
    resetAntState(this.sim, rng);
  }

  private clippedContactForces(): Float64Array {
    const f = this.sim.cfrcExtAll();
    for (let i = 0; i < f.length; i++) f[i] = f[i] < -1 ? -1 : f[i] > 1 ? 1 : f[i];
    return f;
  }

  protected simulate(action: Float64Array): Transition {
    const before = this.sim.bodyXpos("torso");
    this.doSimulation(action);
    const after = this.sim.bodyXpos("torso");
    const xVelocity = (after[0] - before[0]) / this.dt;
    const yVelocity = (after[1] - before[1]) / this.dt;
    let ctrlCost = 0;
    for (const a of action) ctrlCost += a * a;
    ctrlCost *= CTRL_COST_WEIGHT;
    let contactCost = 0;
    if (this.useContactForces) {
      for (const f of this.clippedContactForces()) contactCost += f * f;
      contactCost *= CONTACT_COST_WEIGHT;
    }
    const reward = xVelocity + HEALTHY_REWARD - ctrlCost - contactCost;
    const info: Record<string, unknown> = {
      reward_forward: xVelocity,
      reward_ctrl: -ctrlCost,
      reward_survive: HEALTHY_REWARD,
      // Gymnasium reports the (one-substep-stale) torso xpos here, not qpos.
      x_position: after[0],
      y_position: after[1],
      distance_from_origin: Math.hypot(after[0], after[1]),
      x_velocity: xVelocity,
      y_velocity: yVelocity,
    };
    // Gymnasium v4 overwrites reward_ctrl with the contact cost here; a separate key keeps both terms visible.
    if (this.useContactForces) info.reward_contact = -contactCost;
    // Gymnasium's is_healthy on the full state equals the observation rule: x and y only add finiteness checks,
    // and a non-finite x or y makes the whole state non-finite.
    return { reward, terminated: TERMINATION_RULES.ant.fn(this.stateObservation()) !== "none", info };
  }

  /** qpos[2:15] ++ qvel[0:14]: the default observation and what the health rule reads. */
  private stateObservation(): Float64Array {
    const out = new Float64Array(ANT_NQ - 2 + ANT_NV);
    out.set(this.sim.qpos().subarray(2, ANT_NQ), 0);
    out.set(this.sim.qvel().subarray(0, ANT_NV), ANT_NQ - 2);
    return out;
  }

  protected observe(): Float64Array {
    const state = this.stateObservation();
    if (!this.useContactForces) return state;
    const obs = new Float64Array(this.observationSpace.shape[0]);
    obs.set(state, 0);
    obs.set(this.clippedContactForces(), state.length);
    return obs;
  }
}
