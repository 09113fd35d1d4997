/**
 * `walker2d`: Gymnasium Walker2d-v4 semantics (docs/design/environments.md §5.1) on our model (§5.2).
 * Observation (17): qpos[1:9], then clip(qvel, ±10) (9). Action (6): right thigh, leg, foot, then left.
 * Reward: x velocity + 1 − 0.001·Σa². Terminates unless 0.8 < z < 2 and |angle| < 1. 1000 steps.
 */
import { GymLocomotionEnv, type GymLocomotionConfig } from "./gym-locomotion.js";
import { walker2dXml } from "./mjcf/hopper-walker.js";
import type { MujocoEnvOptions } from "./mujoco-env.js";
import { TERMINATION_RULES } from "./termination.js";

export const WALKER2D: GymLocomotionConfig = {
  id: "walker2d",
  xml: walker2dXml,
  frameSkip: 4,
  obsDim: 17,
  maxEpisodeSteps: 1000,
  ctrlCostWeight: 1e-3,
  healthyReward: 1,
  qvelClip: 10,
  resetNoiseScale: 5e-3,
  resetQvelNoise: "uniform",
  termination: TERMINATION_RULES.walker2d.fn,
};

export function createWalker2d(options: MujocoEnvOptions): Promise<GymLocomotionEnv> {
  return GymLocomotionEnv.create(WALKER2D, options);
}
