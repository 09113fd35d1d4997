/**
 * Single transitions (o_t, a_t, r_{t+1}, o_{t+1}, c_{t+1}) drawn uniformly from a dataset, for algorithms that train
 * on transitions rather than windows (behaviour cloning, PLAS, model-free critics). With the canonical episode
 * (episode.ts), entry t holds o_t and the action taken at it, and entry t + 1 the reward and continuation of that
 * transition and the next observation; an entry is a transition when it has an action and a next entry.
 */
import { UserError } from "../errors.js";
import type { Rng } from "../engine/rng.js";
import type { EpisodeStore, ObsStats } from "./store.js";

export interface TransitionBatch {
  kind: "transitions";
  B: number;
  obsDim: number;
  actDim: number;
  /** [B, obsDim], z-scored with the statistics when normalise is on. */
  obs: Float32Array;
  /** [B, actDim] the action taken at obs. */
  act: Float32Array;
  /** [B] reward of the transition. */
  rew: Float32Array;
  /** [B, obsDim] the next observation (normalised like obs). */
  nextObs: Float32Array;
  /** [B] 0 when the transition ended the episode in a terminal state, else 1 (timeouts continue). */
  cont: Float32Array;
  /** [B] 1 when obs is an episode's first entry. */
  isFirst: Float32Array;
}

export interface TransitionOptions {
  B: number;
  /** z-score observations with the store's statistics (or `stats`). */
  normalise?: boolean;
  stats?: ObsStats;
}

export class TransitionSampler {
  /** (episode, entry) of every transition, flattened. */
  private readonly episode: Uint32Array;
  private readonly entry: Uint32Array;
  private readonly scale: { mean: Float32Array; invStd: Float32Array } | null;

  constructor(
    private readonly store: EpisodeStore,
    private readonly opts: TransitionOptions,
    private readonly rng: Rng,
  ) {
    if (!Number.isInteger(opts.B) || opts.B < 1) throw new UserError(`transition batch size must be a positive integer, got ${opts.B}`);
    if (store.obsDtype !== "float32") throw new UserError("transition batches need vector observations; this dataset has images");
    const episode: number[] = [];
    const entry: number[] = [];
    store.episodes.forEach((ep, e) => {
      for (let t = 0; t + 1 < ep.length; t++) {
        if (ep.actMask[t] === 1) {
          episode.push(e);
          entry.push(t);
        }
      }
    });
    if (episode.length === 0) throw new UserError(`${store.source.path}: no transitions (every episode has a single entry)`);
    this.episode = Uint32Array.from(episode);
    this.entry = Uint32Array.from(entry);
    const stats = opts.normalise ? (opts.stats ?? store.obsStats) : null;
    if (stats && stats.mean.length !== store.obsSize) {
      throw new UserError(`observation statistics have ${stats.mean.length} dimensions, the dataset has ${store.obsSize}`);
    }
    this.scale = stats ? { mean: stats.mean, invStd: stats.std.map((s) => 1 / s) } : null;
  }

  get count(): number {
    return this.episode.length;
  }

  /** B transitions drawn uniformly with replacement. */
  sample(): TransitionBatch {
    const ids = new Uint32Array(this.opts.B);
    for (let b = 0; b < ids.length; b++) ids[b] = this.rng.int(this.count);
    return this.rows(ids);
  }

  /** The transitions with these indices in [0, count), in this order (holdout sets, rollout starts). */
  rows(ids: ArrayLike<number>): TransitionBatch {
    const B = ids.length;
    const d = this.store.obsSize;
    const a = this.store.actDim;
    const batch: TransitionBatch = {
      kind: "transitions",
      B,
      obsDim: d,
      actDim: a,
      obs: new Float32Array(B * d),
      act: new Float32Array(B * a),
      rew: new Float32Array(B),
      nextObs: new Float32Array(B * d),
      cont: new Float32Array(B),
      isFirst: new Float32Array(B),
    };
    for (let b = 0; b < B; b++) {
      const i = ids[b];
      if (!(i >= 0 && i < this.count)) throw new Error(`transition index ${i} out of [0, ${this.count})`);
      const ep = this.store.episodes[this.episode[i]];
      const t = this.entry[i];
      this.copyObs(ep.obs as Float32Array, t, batch.obs, b);
      this.copyObs(ep.obs as Float32Array, t + 1, batch.nextObs, b);
      batch.act.set(ep.act.subarray(t * a, (t + 1) * a), b * a);
      batch.rew[b] = ep.rew[t + 1];
      batch.cont[b] = ep.cont[t + 1];
      batch.isFirst[b] = ep.isFirst[t];
    }
    return batch;
  }

  private copyObs(src: Float32Array, t: number, dst: Float32Array, b: number): void {
    const d = this.store.obsSize;
    if (!this.scale) {
      dst.set(src.subarray(t * d, (t + 1) * d), b * d);
      return;
    }
    const { mean, invStd } = this.scale;
    for (let j = 0; j < d; j++) dst[b * d + j] = (src[t * d + j] - mean[j]) * invStd[j];
  }
}
