/**
 * Dataset value references for the value-overestimation view (docs/design/method.md §13), drawn beside the agent's value
 * estimate:
 * - average return: mean over dataset states of the discounted return-to-go G_t = Σ_{j≥0} γ^j r_{t+1+j};
 * - average maximum: mean over episodes of max_t G_t;
 * - and, for the score chart, the dataset's mean undiscounted episode return.
 *
 * Readings (docs/design/method.md §13 marks the paper's computation as open):
 * - "dataset states" are the entries where an action was taken (the rows of a D4RL file); the final entry of an
 *   episode has nothing left to earn and is not counted;
 * - the sum stops at the episode end with no bootstrap, so a timeout-ended episode counts only its recorded
 *   rewards, and it also stops after a transition with continuation 0 (antmaze goals inside an episode), as the
 *   value targets do with continuation masking (docs/design/method.md §5.2);
 * - rewards are the loader's after the run's reward transform, the units the value model learns.
 *
 * The references are cached in the run directory (references.json), keyed by the dataset file's path, size and
 * modification time and by γ and the loader settings, so a re-rendered report does not reload the dataset.
 */
import { returnOf, returnsToGo, type Episode } from "../data/episode.js";
import { fileStamp, readCache, sameKey, writeCache, type FileStamp } from "./cache.js";

export interface ValueReferences {
  gamma: number;
  /** Mean over dataset states of the discounted return-to-go. */
  averageReturn: number;
  /** Mean over episodes of the maximum discounted return-to-go. */
  averageMaxReturn: number;
  states: number;
  episodes: number;
  /** Mean undiscounted episode return (what the dataset's own normalised score is computed from). */
  averageEpisodeReturn: number;
}

export function valueReferences(episodes: readonly Episode[], gamma: number): ValueReferences {
  let sum = 0;
  let states = 0;
  let maxSum = 0;
  let counted = 0;
  let returnSum = 0;
  for (const ep of episodes) {
    returnSum += returnOf(ep);
    const g = returnsToGo(ep, gamma);
    let max = -Infinity;
    for (let t = 0; t < ep.length; t++) {
      if (ep.actMask[t] === 0) continue;
      sum += g[t];
      states++;
      if (g[t] > max) max = g[t];
    }
    if (max > -Infinity) {
      maxSum += max;
      counted++;
    }
  }
  return {
    gamma,
    averageReturn: states ? sum / states : NaN,
    averageMaxReturn: counted ? maxSum / counted : NaN,
    states,
    episodes: counted,
    averageEpisodeReturn: episodes.length ? returnSum / episodes.length : NaN,
  };
}

/** What cached references were computed from; reused only when all of it matches. */
export interface ReferenceKey {
  dataset: FileStamp;
  gamma: number;
  splitAt: string;
  rewardTransform: string;
}

export const REFERENCES_FILE = "references.json";

export interface ReferenceResult {
  references: ValueReferences | null;
  /** Said in the report next to the chart: where the numbers come from, or why there are none. */
  note: string;
}

/**
 * The run's dataset references: from the cache when it matches, else computed from `episodes()` (which loads the
 * dataset) and cached. When the dataset file is gone, a cache computed for the same path and settings is still
 * used; without one the result says so.
 */
export async function runReferences(
  runDir: string,
  datasetPath: string,
  settings: { gamma: number; splitAt: string; rewardTransform: string },
  episodes: () => Promise<readonly Episode[]>,
): Promise<ReferenceResult> {
  const cache = readCache<ReferenceKey, ValueReferences>(runDir, REFERENCES_FILE);
  const stamp = fileStamp(datasetPath);
  if (!stamp) {
    const k = cache?.key;
    if (cache && k?.dataset?.path === datasetPath && sameKey({ ...k, dataset: null }, { dataset: null, ...settings })) {
      return { references: cache.value, note: `dataset ${datasetPath} is no longer there; references from the cache of ${cache.computedAt}` };
    }
    return { references: null, note: `dataset ${datasetPath} is no longer there and no references were cached, so the reference lines are missing` };
  }
  const key: ReferenceKey = { dataset: stamp, ...settings };
  if (cache && sameKey(cache.key, key)) return { references: cache.value, note: `computed from ${datasetPath} (cached ${cache.computedAt})` };
  const references = valueReferences(await episodes(), settings.gamma);
  const at = writeCache(runDir, REFERENCES_FILE, key, references);
  return { references, note: `computed from ${datasetPath} at ${at}` };
}
