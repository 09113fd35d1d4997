/**
 * `dmc-cheetah-run`: dm_control suite cheetah, task `run`, as V-D4RL uses it (docs/design/environments.md §8, §9).
 *
 * - Control step = 1 physics step of 0.01 s; agent step = 2 control steps (V-D4RL action repeat); 500 agent steps.
 * - Reward per control step: tolerance(v, bounds [10, ∞), margin 10, linear, value at margin 0) = clip(v/10, 0, 1),
 *   with v the x component of sensor `torso_subtreelinvel` (centre-of-mass velocity of the whole cheetah).
 * - Observation (17, dm_control's dict flattened in key order): `position` = qpos[1:9] (rootz, rooty, bthigh,
 *   bshin, bfoot, fthigh, fshin, ffoot; rootx is left out for translation invariance), then `velocity` = qvel[0:9]
 *   (rootx, rootz, rooty, then the six leg hinges).
 * - Reset: every limited joint (the six leg hinges) ~ U(range), then 200 zero-control physics steps to let the body
 *   settle, then the clock is set back to 0.
 * - `info`: `speed` (v of the final control step), `controlRewards`, `discount`.
 */
import { DmcEnv, tolerance, type DmcRewardTerms } from "./dmc.js";
import { Sim } from "./sim.js";
import type { MujocoEnvOptions } from "./mujoco-env.js";
import type { Rng } from "../engine/rng.js";
import { cheetahXml } from "./mjcf/dmc-cheetah.js";

/** Target running speed in m/s. */
export const CHEETAH_RUN_SPEED = 10;
/** Zero-control physics steps run at reset, after the joint angles are drawn. */
export const CHEETAH_SETTLE_STEPS = 200;
export const CHEETAH_OBS_DIM = 17;

/** The cheetah-run control-step reward for a centre-of-mass forward speed `speed`. */
export function cheetahRunReward(speed: number): number {
  return tolerance(speed, { bounds: [CHEETAH_RUN_SPEED, Infinity], margin: CHEETAH_RUN_SPEED, sigmoid: "linear", valueAtMargin: 0 });
}

export class DmcCheetahRunEnv extends DmcEnv {
  private constructor(sim: Sim, seed: number) {
    super(sim, { id: "dmc-cheetah-run", physicsStepsPerControlStep: 1, obsDim: CHEETAH_OBS_DIM }, seed);
  }

  /** Defaults: legacy masses (V-D4RL ran MuJoCo 2.1.0, docs/design/environments.md §0.2), island discovery off, seed 0. */
  static async create(options: Partial<MujocoEnvOptions> = {}): Promise<DmcCheetahRunEnv> {
    const sim = await Sim.fromXml(cheetahXml(options.massModel ?? "legacy"), { disableIsland: options.disableIsland });
    return new DmcCheetahRunEnv(sim, options.seed ?? 0);
  }

  protected initializeEpisode(rng: Rng): void {
    const qpos = this.sim.qpos();
    for (const joint of this.sim.names("joint")) {
      // Unlimited joints have a [0, 0] range (limitedness flags cannot be read through the binding).
      const [lo, hi] = this.sim.jointRange(joint);
      if (lo < hi) qpos[this.sim.jointQposAdr(joint)] = rng.uniformRange(lo, hi);
    }
    this.sim.setQpos(qpos);
    this.legacyStep(CHEETAH_SETTLE_STEPS);
    this.sim.setTime(0);
  }

  rewardTerms(): DmcRewardTerms {
    const speed = this.sim.sensor("torso_subtreelinvel")[0];
    return { reward: cheetahRunReward(speed), terms: { speed } };
  }

  protected observe(): Float64Array {
    const obs = new Float64Array(CHEETAH_OBS_DIM);
    obs.set(this.sim.qpos().subarray(1), 0);
    obs.set(this.sim.qvel(), this.sim.nq - 1);
    return obs;
  }
}
