/**
 * `hopper`: Gymnasium Hopper-v4 semantics (docs/design/environments.md §4.1) on our model (§4.2).
 * Observation (11): rootz, rooty, thigh, leg, foot angles, then clip(qvel, ±10) (6). Action (3).
 * Reward: x velocity + 1 − 0.001·Σa². Terminates when unhealthy (termination.ts `hopper`). 1000 steps.
 */
import { GymLocomotionEnv, type GymLocomotionConfig } from "./gym-locomotion.js";
import { hopperXml } from "./mjcf/hopper-walker.js";
import type { MujocoEnvOptions } from "./mujoco-env.js";
import { TERMINATION_RULES } from "./termination.js";

export const HOPPER: GymLocomotionConfig = {
  id: "hopper",
  xml: hopperXml,
  frameSkip: 4,
  obsDim: 11,
  maxEpisodeSteps: 1000,
  ctrlCostWeight: 1e-3,
  healthyReward: 1,
  qvelClip: 10,
  resetNoiseScale: 5e-3,
  resetQvelNoise: "uniform",
  termination: TERMINATION_RULES.hopper.fn,
};

export function createHopper(options: MujocoEnvOptions): Promise<GymLocomotionEnv> {
  return GymLocomotionEnv.create(HOPPER, options);
}
