/**
 * The Gym-style environment interface every clap-rl environment implements.
 *
 * Actions are always in [-1, 1]^actDim from the agent's point of view; out-of-range values are clipped,
 * and a wrong length or a non-finite value throws a UserError naming the environment and the index.
 * Termination (a true end of the MDP) and truncation (time limit) are distinct flags.
 */
export interface Space {
  /** Shape of one observation, e.g. [11] or [64, 64, 3]. */
  shape: number[];
  dtype: "float32" | "uint8";
}

export interface ActionSpace {
  dim: number;
  low: number;
  high: number;
}

export interface StepResult {
  obs: Float32Array | Uint8Array;
  reward: number;
  terminated: boolean;
  truncated: boolean;
  info: Record<string, unknown>;
}

export interface ResetOptions {
  /** Re-seeds the environment's RNG (reset noise, goal sampling). Without it the stream continues. */
  seed?: number;
}

export interface Env {
  /** Registered id, e.g. "hopper", "antmaze-umaze", "dmc-walker-walk". */
  readonly id: string;
  readonly observationSpace: Space;
  readonly actionSpace: ActionSpace;
  /** Maximum number of agent steps before truncation. */
  readonly maxEpisodeSteps: number;
  reset(options?: ResetOptions): Float32Array | Uint8Array;
  step(action: ArrayLike<number>): StepResult;
  /** Releases simulator memory; the environment is unusable afterwards. */
  close(): void;
}
