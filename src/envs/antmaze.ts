/**
 * D4RL antmaze v2 evaluation environments (docs/design/environments.md §7): the D4RL ant (timestep 0.02, motors ±30 reached
 * through the ctrlrange map, §2) in a maze built from `maze.ts`.
 *
 * - frame skip 5 (dt 0.1 s); 700 steps for umaze and umaze-diverse, 1000 for medium and large;
 * - observation (29) = qpos[0:15] ++ qvel[0:14]; the goal is not observed;
 * - reward 1 when ‖qpos[0:2] − goal‖ ≤ 0.5 after the step, else 0; the same test terminates the episode
 *   (D4RL's eval wrapper); the ant's own height-based "done" is ignored;
 * - reset: the goal is resampled first (v2), then the ant's reset noise is drawn (same stream, that order);
 *   the ant starts at the origin, the start cell's centre;
 * - `info`: `goal` [x, y], `xy` [x, y] (post-step qpos), `success` (boolean), `distance` to the goal.
 *
 * "diverse" and "play" differ only in how D4RL collected the data, so their evaluation envs are identical.
 */
import { MujocoEnv, type MujocoEnvOptions, type Transition } from "./mujoco-env.js";
import { Sim } from "./sim.js";
import type { Rng } from "../engine/rng.js";
import { antXml } from "./mjcf/ant.js";
import { ANT_FRAME_SKIP, ANT_NQ, ANT_NV, resetAntState } from "./ant.js";
import { ANTMAZE_TASKS, GOAL_RADIUS, MAZES, sampleGoal, wallBoxes } from "./maze.js";
import type { AntMazeId, MazeLayout } from "./maze.js";

export const ANTMAZE_OBS_DIM = ANT_NQ + ANT_NV;

/** The success test shared by reward and termination: within GOAL_RADIUS of the goal, boundary included. */
export function antmazeGoalReached(xy: ArrayLike<number>, goal: ArrayLike<number>): boolean {
  return Math.hypot(xy[0] - goal[0], xy[1] - goal[1]) <= GOAL_RADIUS;
}

export class AntMazeEnv extends MujocoEnv {
  readonly layout: MazeLayout;
  private goalXY: [number, number];

  private constructor(sim: Sim, id: AntMazeId, seed: number) {
    const task = ANTMAZE_TASKS[id];
    super(sim, {
      id,
      frameSkip: ANT_FRAME_SKIP,
      maxEpisodeSteps: task.maxEpisodeSteps,
      obsDim: ANTMAZE_OBS_DIM,
      camera: { name: "topdown", trackBody: "torso" },
    }, seed);
    this.layout = MAZES[task.maze];
    this.goalXY = [NaN, NaN];
  }

  static async create(id: AntMazeId, options: MujocoEnvOptions): Promise<AntMazeEnv> {
    const walls = wallBoxes(MAZES[ANTMAZE_TASKS[id].maze]);
    const sim = await Sim.fromXml(antXml({ variant: "d4rl", massModel: options.massModel, walls }), { disableIsland: options.disableIsland });
    return new AntMazeEnv(sim, id, options.seed);
  }

  /** The current episode's goal (NaN before the first reset). */
  get goal(): [number, number] {
    return [this.goalXY[0], this.goalXY[1]];
  }

  protected resetModel(rng: Rng): void {
    this.goalXY = sampleGoal(this.layout, rng);
    resetAntState(this.sim, rng);
  }

  protected simulate(action: Float64Array): Transition {
    this.doSimulation(action);
    const qpos = this.sim.qpos();
    const xy: [number, number] = [qpos[0], qpos[1]];
    const success = antmazeGoalReached(xy, this.goalXY);
    return {
      reward: success ? 1 : 0,
      terminated: success,
      info: {
        goal: this.goal,
        xy,
        success,
        distance: Math.hypot(xy[0] - this.goalXY[0], xy[1] - this.goalXY[1]),
      },
    };
  }

  protected observe(): Float64Array {
    const obs = new Float64Array(ANTMAZE_OBS_DIM);
    obs.set(this.sim.qpos().subarray(0, ANT_NQ), 0);
    obs.set(this.sim.qvel().subarray(0, ANT_NV), ANT_NQ);
    return obs;
  }
}
