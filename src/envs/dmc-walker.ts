/**
 * `dmc-walker-walk`: dm_control suite planar walker, task `walk`, as V-D4RL uses it (docs/design/environments.md §8, §10).
 *
 * - Control step = 10 physics steps of 0.0025 s; agent step = 2 control steps (V-D4RL action repeat), i.e. 20
 *   physics steps; 500 agent steps.
 * - Reward per control step, in [0, 1]:
 *     standing = tolerance(h, bounds [1.2, ∞), margin 0.6, gaussian, value at margin 0.1), h = torso `xpos` z
 *                (the body frame origin, not the centre of mass);
 *     upright  = (1 + torso xmat[zz]) / 2;
 *     stand    = (3·standing + upright) / 4;
 *     move     = tolerance(v, bounds [1, ∞), margin 0.5, linear, value at margin 0.5) = clip(v, 0, 1),
 *                v = x component of sensor `torso_subtreelinvel`;
 *     reward   = stand · (5·move + 1) / 6.
 * - Observation (24, dm_control's dict flattened in key order): `orientations` = (xx, xz) of the row-major `xmat`
 *   of the 7 bodies torso, right_thigh, right_leg, right_foot, left_thigh, left_leg, left_foot (14 values, body
 *   after body), `height` = torso z (1), `velocity` = qvel (9: rootz, rootx, rooty, right_hip, right_knee,
 *   right_ankle, left_hip, left_knee, left_ankle).
 * - Reset: every limited hinge ~ U(range), the unlimited hinge rooty ~ U(−π, π), slides untouched, drawn in joint
 *   order; the walker starts in the air and falls.
 * - `info`: `height`, `upright`, `speed`, `standing`, `move` (of the final control step), `controlRewards`,
 *   `discount`.
 */
import { DmcEnv, tolerance, type DmcRewardTerms } from "./dmc.js";
import { Sim } from "./sim.js";
import type { MujocoEnvOptions } from "./mujoco-env.js";
import type { Rng } from "../engine/rng.js";
import { walkerXml } from "./mjcf/dmc-walker.js";

export const WALKER_STAND_HEIGHT = 1.2;
export const WALKER_WALK_SPEED = 1;
export const WALKER_OBS_DIM = 24;

export interface WalkerRewardInput {
  /** Torso height (`xpos` z). */
  height: number;
  /** Torso `xmat` zz element: cosine of the torso's tilt from vertical. */
  uprightZz: number;
  /** Centre-of-mass forward speed. */
  speed: number;
}

/** The walker-walk control-step reward and its terms. */
export function walkerWalkReward({ height, uprightZz, speed }: WalkerRewardInput): DmcRewardTerms {
  const standing = tolerance(height, { bounds: [WALKER_STAND_HEIGHT, Infinity], margin: WALKER_STAND_HEIGHT / 2 });
  const upright = (1 + uprightZz) / 2;
  const stand = (3 * standing + upright) / 4;
  const move = tolerance(speed, {
    bounds: [WALKER_WALK_SPEED, Infinity],
    margin: WALKER_WALK_SPEED / 2,
    sigmoid: "linear",
    valueAtMargin: 0.5,
  });
  return { reward: (stand * (5 * move + 1)) / 6, terms: { height, upright, speed, standing, move } };
}

export class DmcWalkerWalkEnv extends DmcEnv {
  private constructor(sim: Sim, seed: number) {
    super(sim, { id: "dmc-walker-walk", physicsStepsPerControlStep: 10, obsDim: WALKER_OBS_DIM }, seed);
  }

  /** Defaults: legacy masses (V-D4RL ran MuJoCo 2.1.0, docs/design/environments.md §0.2), island discovery off, seed 0. */
  static async create(options: Partial<MujocoEnvOptions> = {}): Promise<DmcWalkerWalkEnv> {
    const sim = await Sim.fromXml(walkerXml(options.massModel ?? "legacy"), { disableIsland: options.disableIsland });
    return new DmcWalkerWalkEnv(sim, options.seed ?? 0);
  }

  protected initializeEpisode(rng: Rng): void {
    const qpos = this.sim.qpos();
    for (const joint of this.sim.names("joint")) {
      // Unlimited joints have a [0, 0] range; of those only the hinge rooty is randomised (slides stay put).
      const [lo, hi] = this.sim.jointRange(joint);
      const adr = this.sim.jointQposAdr(joint);
      if (lo < hi) qpos[adr] = rng.uniformRange(lo, hi);
      else if (joint === "rooty") qpos[adr] = rng.uniformRange(-Math.PI, Math.PI);
    }
    this.sim.setQpos(qpos);
  }

  rewardTerms(): DmcRewardTerms {
    return walkerWalkReward({
      height: this.sim.bodyXpos("torso")[2],
      uprightZz: this.sim.bodyXmat("torso")[8],
      speed: this.sim.sensor("torso_subtreelinvel")[0],
    });
  }

  protected observe(): Float64Array {
    const obs = new Float64Array(WALKER_OBS_DIM);
    for (let b = 1; b < this.sim.nbody; b++) {
      const xmat = this.sim.bodyXmat(b);
      obs[2 * (b - 1)] = xmat[0];
      obs[2 * (b - 1) + 1] = xmat[2];
    }
    obs[14] = this.sim.bodyXpos("torso")[2];
    obs.set(this.sim.qvel(), 15);
    return obs;
  }
}
