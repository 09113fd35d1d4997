/**
 * The canonical episode (docs/design/datasets.md §5.1): an episode with L transitions is stored as L + 1 entries.
 * Entry t holds o_t, the action taken at o_t, and the reward and continuation of the transition *into* o_t.
 * Every loader (D4RL, Minari, V-D4RL, regenerated data) returns this form.
 */
export type EpisodeEnd = "terminal" | "timeout" | "file-end";

export interface Episode {
  /** Number of entries (L + 1 for full episodes; antmaze episodes have L entries, see docs/design/datasets.md §5.2). */
  length: number;
  /** Observation shape per entry, e.g. [11] for hopper or [64, 64, 3] for pixels. */
  obsShape: number[];
  /** Observations, row-major [length, ...obsShape]: Float32Array for vectors, Uint8Array for images. */
  obs: Float32Array | Uint8Array;
  /** Action dimension. */
  actDim: number;
  /** Actions taken at each entry, [length, actDim]; the final entry is zero-padded where no action was taken. */
  act: Float32Array;
  /** 1 where an action was taken at the entry, else 0. */
  actMask: Float32Array;
  /** Reward of the transition into the entry; rew[0] = 0. */
  rew: Float32Array;
  /** Continuation (1 − terminal) of the transition into the entry; cont[0] = 1. */
  cont: Float32Array;
  /** 1 at the first entry. */
  isFirst: Float32Array;
  end: EpisodeEnd;
}

/** Number of transitions (entries with an action) in an episode. */
export function transitionsOf(ep: Episode): number {
  let n = 0;
  for (let i = 0; i < ep.length; i++) n += ep.actMask[i];
  return n;
}

/** Sum of rewards over the episode's transitions (the episode return). */
export function returnOf(ep: Episode): number {
  let r = 0;
  for (let i = 1; i < ep.length; i++) r += ep.rew[i];
  return r;
}

/**
 * Discounted return-to-go G_t = Σ_{j≥0} γ^j r_{t+1+j} at every entry of an episode (0 at the final entry), stopping
 * after a transition with continuation 0 and at the episode's end (no bootstrap at timeouts).
 */
export function returnsToGo(ep: Episode, gamma: number): Float64Array {
  const g = new Float64Array(ep.length);
  for (let t = ep.length - 2; t >= 0; t--) g[t] = ep.rew[t + 1] + gamma * ep.cont[t + 1] * g[t + 1];
  return g;
}

/** Mean |G_t| over the entries where an action was taken (the scale of the values an agent learns on this data). */
export function meanAbsReturnToGo(episodes: readonly Episode[], gamma: number): number {
  let sum = 0;
  let n = 0;
  for (const ep of episodes) {
    const g = returnsToGo(ep, gamma);
    for (let t = 0; t < ep.length; t++) {
      if (!ep.actMask[t]) continue;
      sum += Math.abs(g[t]);
      n++;
    }
  }
  return n === 0 ? 0 : sum / n;
}
