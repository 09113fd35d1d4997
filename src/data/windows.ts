/**
 * Training windows (datasets spec §5.3): T consecutive entries of one episode, never crossing episodes.
 * Entry t of a window holds o_t, the action taken at o_t, and the reward/continuation of the transition
 * into o_t (the alignment method spec §0.2 assumes); prevAct is the GRU input into h_t.
 */
import { UserError } from "../errors.js";
import type { Rng } from "../engine/rng.js";
import type { Episode } from "./episode.js";
import type { EpisodeStore, ObsStats } from "./store.js";

export interface WindowBatch {
  B: number;
  T: number;
  obsShape: number[];
  actDim: number;
  /** [B,T,...obsShape]; vectors z-scored with the store's stats when normalise is on; images uint8/255 − 0.5. */
  obs: Float32Array;
  /** [B,T,actDim] action taken at entry t (zeros where actMask = 0). */
  act: Float32Array;
  /** [B,T,actDim] action taken at entry t−1 within the episode (zeros at the episode's start). */
  prevAct: Float32Array;
  /** [B,T] 1 where an action was taken at the entry. */
  actMask: Float32Array;
  /** [B,T] reward of the transition into entry t. */
  rew: Float32Array;
  /** [B,T] continuation of the transition into entry t. */
  cont: Float32Array;
  /** [B,T] 1 at an episode's first entry. */
  isFirst: Float32Array;
  /** [B,T] validity: 0 on the padding of episodes shorter than T. */
  mask: Float32Array;
}

/** uint8 → uint8/255 − 0.5, looked up: a 64×50 batch of 64×64×3 frames converts 39 M values. */
const PIXEL_VALUE = Float32Array.from({ length: 256 }, (_, v) => v / 255 - 0.5);

export interface WindowOptions {
  B: number;
  T: number;
  /** z-score vector observations with the store's statistics (or `stats`). Default false. Ignored for images. */
  normalise?: boolean;
  /** Statistics to normalise with instead of the store's own (e.g. those saved in a checkpoint). */
  stats?: ObsStats;
}

export class WindowSampler {
  private readonly B: number;
  private readonly T: number;
  /** cum[e] = number of windows in episodes before e; cum[E] = total. */
  private readonly cum: Float64Array;
  private readonly scale: { mean: Float32Array; invStd: Float32Array } | null;

  constructor(
    private readonly store: EpisodeStore,
    opts: WindowOptions,
    private readonly rng: Rng,
  ) {
    if (!Number.isInteger(opts.B) || opts.B < 1) throw new UserError(`window batch size B must be a positive integer, got ${opts.B}`);
    if (!Number.isInteger(opts.T) || opts.T < 1) throw new UserError(`window length T must be a positive integer, got ${opts.T}`);
    this.B = opts.B;
    this.T = opts.T;
    const eps = store.episodes;
    this.cum = new Float64Array(eps.length + 1);
    for (let e = 0; e < eps.length; e++) this.cum[e + 1] = this.cum[e] + Math.max(1, eps[e].length - opts.T + 1);
    const stats = opts.normalise && store.obsDtype === "float32" ? (opts.stats ?? store.obsStats) : null;
    if (stats && stats.mean.length !== store.obsSize) {
      throw new UserError(`observation statistics have ${stats.mean.length} dimensions, the dataset has ${store.obsSize}`);
    }
    this.scale = stats ? { mean: stats.mean, invStd: stats.std.map((s) => 1 / s) } : null;
  }

  /** Number of distinct (episode, start) windows. */
  get windowCount(): number {
    return this.cum[this.cum.length - 1];
  }

  /** B windows drawn uniformly over all valid (episode, start) pairs. */
  sample(): WindowBatch {
    const batch = this.allocate(this.B);
    const total = this.windowCount;
    for (let b = 0; b < this.B; b++) {
      const u = this.rng.int(total);
      let lo = 0;
      let hi = this.cum.length - 2;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (this.cum[mid] <= u) lo = mid;
        else hi = mid - 1;
      }
      this.fill(batch, b, this.store.episodes[lo], u - this.cum[lo]);
    }
    return batch;
  }

  /** The window of one episode starting at `start` (0 ≤ start ≤ max(0, length − T)), as a batch of 1. */
  windowAt(episodeIndex: number, start: number): WindowBatch {
    const ep = this.store.episodes[episodeIndex];
    if (!Number.isInteger(episodeIndex) || !ep) {
      throw new UserError(`episode index ${episodeIndex} out of range [0, ${this.store.episodes.length})`);
    }
    const maxStart = Math.max(0, ep.length - this.T);
    if (!Number.isInteger(start) || start < 0 || start > maxStart) {
      throw new UserError(`window start ${start} out of range [0, ${maxStart}] for episode ${episodeIndex} (${ep.length} entries, T = ${this.T})`);
    }
    const batch = this.allocate(1);
    this.fill(batch, 0, ep, start);
    return batch;
  }

  private allocate(B: number): WindowBatch {
    const T = this.T;
    const a = this.store.actDim;
    return {
      B,
      T,
      obsShape: [...this.store.obsShape],
      actDim: a,
      obs: new Float32Array(B * T * this.store.obsSize),
      act: new Float32Array(B * T * a),
      prevAct: new Float32Array(B * T * a),
      actMask: new Float32Array(B * T),
      rew: new Float32Array(B * T),
      cont: new Float32Array(B * T),
      isFirst: new Float32Array(B * T),
      mask: new Float32Array(B * T),
    };
  }

  /** Copies entries start … start+n−1 into row b; the rest of the row stays zero (padding, mask 0). */
  private fill(batch: WindowBatch, b: number, ep: Episode, start: number): void {
    const T = this.T;
    const d = this.store.obsSize;
    const a = ep.actDim;
    const n = Math.min(T, ep.length - start);
    const row = b * T;
    const src = ep.obs.subarray(start * d, (start + n) * d);
    const dst = batch.obs.subarray(row * d, (row + n) * d);
    if (ep.obs instanceof Uint8Array) {
      for (let i = 0; i < src.length; i++) dst[i] = PIXEL_VALUE[src[i]];
    } else if (this.scale) {
      const { mean, invStd } = this.scale;
      for (let i = 0, j = 0; i < src.length; i++, j = j + 1 === d ? 0 : j + 1) dst[i] = (src[i] - mean[j]) * invStd[j];
    } else {
      dst.set(src);
    }
    batch.act.set(ep.act.subarray(start * a, (start + n) * a), row * a);
    const prevFrom = Math.max(0, start - 1);
    const prevOffset = start === 0 ? 1 : 0;
    batch.prevAct.set(ep.act.subarray(prevFrom * a, (start + n - 1) * a), (row + prevOffset) * a);
    batch.actMask.set(ep.actMask.subarray(start, start + n), row);
    batch.rew.set(ep.rew.subarray(start, start + n), row);
    batch.cont.set(ep.cont.subarray(start, start + n), row);
    batch.isFirst.set(ep.isFirst.subarray(start, start + n), row);
    batch.mask.fill(1, row, row + n);
  }
}
