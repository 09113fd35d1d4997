/**
 * Training windows (docs/design/datasets.md §5.3): T consecutive entries of one episode, never crossing episodes.
 *
 * Coverage (docs/deviations.md, `data.coverage`): with `coverage: "full"` the windows are the L − T + 1 full windows of
 * each episode, so an episode's first entry (and its last, the only termination label) lies in one window while an
 * interior entry lies in T — episode starts are under-trained T-fold. `coverage: "equal"` (the default) also draws
 * the truncated windows that begin before the episode (starts −(T−1) … −1, holding entries 0 … T+s−1) or run past
 * its end (starts L−T+1 … L−1): every entry then lies in exactly T windows. A truncated window is placed at the
 * start of its row with the rest masked as padding, so every window still begins from h = 0, z = 0.
 * Entry t of a window holds o_t, the action taken at o_t, and the reward/continuation of the transition
 * into o_t (the alignment docs/design/method.md §0.2 assumes); prevAct is the GRU input into h_t.
 */
import { UserError } from "../errors.js";
import type { Rng } from "../engine/rng.js";
import { returnsToGo } from "./episode.js";
import type { EpisodeStore, ObsStats } from "./store.js";

export interface WindowBatch {
  kind: "windows";
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
  /** [B,T] validity: 0 on padding (after a truncated window or an episode shorter than T). */
  mask: Float32Array;
  /** [B,T] discounted return-to-go from entry t within its episode (only with WindowOptions.returnsToGo). */
  rtg?: Float32Array;
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
  /** "equal" (default): every entry in T windows; "full": only windows of T entries (see the header). */
  coverage?: WindowCoverage;
  /** Discount γ: batches also carry each entry's discounted return-to-go within its episode (`rtg`). */
  returnsToGo?: number;
}

export type WindowCoverage = "equal" | "full";

export class WindowSampler {
  private readonly B: number;
  private readonly T: number;
  /** cum[e] = number of windows in episodes before e; cum[E] = total. */
  private readonly cum: Float64Array;
  /** Offset of window index 0 from the episode start: −(T − 1) with equal coverage, 0 with full windows. */
  private readonly firstStart: number;
  private readonly scale: { mean: Float32Array; invStd: Float32Array } | null;
  private readonly rtg: Float32Array[] | null;

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
    const coverage = opts.coverage ?? "equal";
    if (coverage !== "equal" && coverage !== "full") throw new UserError(`window coverage must be "equal" or "full", got '${String(coverage)}'`);
    this.firstStart = coverage === "equal" ? -(opts.T - 1) : 0;
    const count = (L: number) => (coverage === "equal" ? L + opts.T - 1 : Math.max(1, L - opts.T + 1));
    for (let e = 0; e < eps.length; e++) this.cum[e + 1] = this.cum[e] + count(eps[e].length);
    const stats = opts.normalise && store.obsDtype === "float32" ? (opts.stats ?? store.obsStats) : null;
    if (stats && stats.mean.length !== store.obsSize) {
      throw new UserError(`observation statistics have ${stats.mean.length} dimensions, the dataset has ${store.obsSize}`);
    }
    this.scale = stats ? { mean: stats.mean, invStd: stats.std.map((s) => 1 / s) } : null;
    const gamma = opts.returnsToGo;
    this.rtg = gamma === undefined ? null : eps.map((e) => Float32Array.from(returnsToGo(e, gamma)));
  }

  /** Number of distinct (episode, start) windows, truncated ones included. */
  get windowCount(): number {
    return this.cum[this.cum.length - 1];
  }

  /**
   * Window `index` (0 ≤ index < windowCount) as its episode, first entry and number of entries; windows are numbered
   * episode by episode, in order of their start.
   */
  window(index: number): { episode: number; start: number; length: number } {
    let lo = 0;
    let hi = this.cum.length - 2;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.cum[mid] <= index) lo = mid;
      else hi = mid - 1;
    }
    const s = this.firstStart + (index - this.cum[lo]);
    const start = Math.max(0, s);
    // A start before the episode keeps entries 0 … T+s−1; a window is also cut at the episode's end.
    return { episode: lo, start, length: Math.min(this.T + Math.min(0, s), this.store.episodes[lo].length - start) };
  }

  /** B windows drawn uniformly over all window indices. */
  sample(): WindowBatch {
    const batch = this.allocate(this.B);
    const total = this.windowCount;
    for (let b = 0; b < this.B; b++) {
      const w = this.window(this.rng.int(total));
      this.fill(batch, b, w.episode, w.start, w.length);
    }
    return batch;
  }

  /** The windows starting at the first entry of `count` episodes drawn uniformly (with `rng`), for diagnostics. */
  episodeStarts(count: number, rng: Rng): WindowBatch {
    const batch = this.allocate(count);
    for (let b = 0; b < count; b++) this.fill(batch, b, rng.int(this.store.episodes.length), 0);
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
    this.fill(batch, 0, episodeIndex, start);
    return batch;
  }

  private allocate(B: number): WindowBatch {
    const T = this.T;
    const a = this.store.actDim;
    return {
      kind: "windows",
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
      ...(this.rtg ? { rtg: new Float32Array(B * T) } : {}),
    };
  }

  /** Copies up to `limit` entries of episode `e` from `start` into row b; the rest of the row stays zero (padding). */
  private fill(batch: WindowBatch, b: number, e: number, start: number, limit = this.T): void {
    const ep = this.store.episodes[e];
    const T = this.T;
    const d = this.store.obsSize;
    const a = ep.actDim;
    const n = Math.min(limit, ep.length - start);
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
    if (batch.rtg && this.rtg) batch.rtg.set(this.rtg[e].subarray(start, start + n), row);
  }
}
