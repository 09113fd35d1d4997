/**
 * `halfcheetah`: Gymnasium HalfCheetah-v4 semantics (docs/design/environments.md §3.1) on our model (§3.2).
 * Observation (17): qpos[1:9], then raw qvel (9). Action (6): bthigh, bshin, bfoot, fthigh, fshin, ffoot.
 * Reward: x velocity − 0.1·Σa². Never terminates; truncated at 1000 steps.
 * Reset: qpos0 + U(±0.1), qvel = 0.1·N(0, 1).
 */
import { GymLocomotionEnv, type GymLocomotionConfig } from "./gym-locomotion.js";
import { halfCheetahXml } from "./mjcf/halfcheetah.js";
import type { MujocoEnvOptions } from "./mujoco-env.js";

export const HALFCHEETAH: GymLocomotionConfig = {
  id: "halfcheetah",
  xml: halfCheetahXml,
  frameSkip: 5,
  obsDim: 17,
  maxEpisodeSteps: 1000,
  ctrlCostWeight: 0.1,
  healthyReward: 0,
  qvelClip: null,
  resetNoiseScale: 0.1,
  resetQvelNoise: "normal",
  termination: null,
};

export function createHalfCheetah(options: MujocoEnvOptions): Promise<GymLocomotionEnv> {
  return GymLocomotionEnv.create(HALFCHEETAH, options);
}
