/**
 * EpisodeStore: the canonical episodes of one dataset plus what training needs from them
 * (shapes, counts, per-dimension observation statistics, return and length statistics).
 */
import { UserError } from "../errors.js";
import { product } from "./arrays.js";
import { returnOf, transitionsOf, type Episode } from "./episode.js";
import type { Issue } from "./issues.js";

/** Observation std is floored here so that near-constant dimensions do not blow up (docs/design/datasets.md §5.3). */
export const OBS_STD_FLOOR = 1e-3;

export interface ObsStats {
  mean: Float32Array;
  std: Float32Array;
}

/** The JSON form stored in model checkpoints. */
export interface ObsStatsJson {
  mean: number[];
  std: number[];
}

export function obsStatsToJson(s: ObsStats): ObsStatsJson {
  return { mean: Array.from(s.mean), std: Array.from(s.std) };
}

export function obsStatsFromJson(j: unknown, where = "observation statistics"): ObsStats {
  const o = j as Partial<ObsStatsJson> | null;
  const ok = (a: unknown): a is number[] => Array.isArray(a) && a.every((v) => typeof v === "number" && Number.isFinite(v));
  if (!o || !ok(o.mean) || !ok(o.std) || o.mean.length !== o.std.length || o.mean.length === 0) {
    throw new UserError(`${where}: expected {mean: number[], std: number[]} of equal non-zero length`);
  }
  if (o.std.some((s) => s <= 0)) throw new UserError(`${where}: std must be positive`);
  return { mean: Float32Array.from(o.mean), std: Float32Array.from(o.std) };
}

export interface SummaryStats {
  mean: number;
  std: number;
  min: number;
  max: number;
}

export function summarise(values: ArrayLike<number>): SummaryStats {
  const n = values.length;
  if (n === 0) return { mean: NaN, std: NaN, min: NaN, max: NaN };
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    sum += values[i];
    if (values[i] < min) min = values[i];
    if (values[i] > max) max = values[i];
  }
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (values[i] - mean) ** 2;
  return { mean, std: Math.sqrt(ss / n), min, max };
}

export type DatasetFormat = "d4rl" | "minari" | "vd4rl" | "memory";

export interface DatasetSource {
  format: DatasetFormat;
  path: string;
  /** D4RL only: which §5.2 mapping was used. */
  layout?: "locomotion" | "antmaze";
  /** Metadata found in the file (D4RL `metadata/*` and root attributes, Minari metadata.json, ...). */
  metadata: Record<string, unknown>;
}

/**
 * Per-row side columns (e.g. D4RL infos/qpos), split like the episodes: entry k of an episode has row k
 * for every entry where an action was taken (the final observation of a locomotion episode has none).
 */
export interface InfoColumn {
  cols: number;
  perEpisode: Float32Array[];
}

export interface StoreOptions {
  source?: DatasetSource;
  warnings?: Issue[];
  infos?: Record<string, InfoColumn>;
}

export interface StoreCounts {
  episodes: number;
  /** Entries (observations) over all episodes. */
  entries: number;
  /** Transitions (entries where an action was taken). */
  transitions: number;
  /** Episodes by how they end. */
  terminalEpisodes: number;
  timeoutEpisodes: number;
  fileEndEpisodes: number;
  /** Entries whose incoming transition terminated (cont = 0), mid-episode ones included (antmaze goals). */
  terminalTransitions: number;
}

export class EpisodeStore {
  readonly episodes: Episode[];
  readonly obsShape: number[];
  /** Values per observation (product of obsShape). */
  readonly obsSize: number;
  readonly obsDtype: "float32" | "uint8";
  readonly actDim: number;
  readonly source: DatasetSource;
  /** Problems found while loading that did not stop it (e.g. overlapping terminal and timeout flags). */
  readonly warnings: Issue[];
  readonly infos: Record<string, InfoColumn>;
  private stats: ObsStats | null | undefined;

  constructor(episodes: Episode[], opts: StoreOptions = {}) {
    if (episodes.length === 0) throw new UserError(`${opts.source?.path ?? "dataset"}: no episodes`);
    const first = episodes[0];
    this.obsShape = [...first.obsShape];
    this.obsSize = product(first.obsShape);
    this.obsDtype = first.obs instanceof Uint8Array ? "uint8" : "float32";
    this.actDim = first.actDim;
    episodes.forEach((ep, i) => {
      const where = `${opts.source?.path ?? "dataset"}: episode ${i}`;
      if (ep.obsShape.join(",") !== this.obsShape.join(",")) {
        throw new UserError(`${where}: observation shape [${ep.obsShape}] differs from [${this.obsShape}]`);
      }
      if (ep.actDim !== this.actDim) throw new UserError(`${where}: action dimension ${ep.actDim} differs from ${this.actDim}`);
      if ((ep.obs instanceof Uint8Array ? "uint8" : "float32") !== this.obsDtype) {
        throw new UserError(`${where}: observation dtype differs from the first episode's`);
      }
      const L = ep.length;
      if (L < 1 || ep.obs.length !== L * this.obsSize || ep.act.length !== L * this.actDim) {
        throw new UserError(`${where}: arrays do not match its length ${L}`);
      }
      for (const k of ["actMask", "rew", "cont", "isFirst"] as const) {
        if (ep[k].length !== L) throw new UserError(`${where}: ${k} has ${ep[k].length} entries, expected ${L}`);
      }
    });
    this.episodes = episodes;
    this.source = opts.source ?? { format: "memory", path: "(memory)", metadata: {} };
    this.warnings = opts.warnings ?? [];
    this.infos = opts.infos ?? {};
  }

  get counts(): StoreCounts {
    const c: StoreCounts = {
      episodes: this.episodes.length,
      entries: 0,
      transitions: 0,
      terminalEpisodes: 0,
      timeoutEpisodes: 0,
      fileEndEpisodes: 0,
      terminalTransitions: 0,
    };
    for (const ep of this.episodes) {
      c.entries += ep.length;
      c.transitions += transitionsOf(ep);
      if (ep.end === "terminal") c.terminalEpisodes++;
      else if (ep.end === "timeout") c.timeoutEpisodes++;
      else c.fileEndEpisodes++;
      for (let t = 1; t < ep.length; t++) if (ep.cont[t] === 0) c.terminalTransitions++;
    }
    return c;
  }

  /**
   * Per-dimension mean and population std over every observation entry, std floored at OBS_STD_FLOOR.
   * Computed once on first use. Null for image stores: images are scaled as uint8/255 − 0.5 instead.
   */
  get obsStats(): ObsStats | null {
    if (this.stats !== undefined) return this.stats;
    if (this.obsDtype === "uint8") {
      this.stats = null;
      return null;
    }
    const d = this.obsSize;
    const sum = new Float64Array(d);
    const sq = new Float64Array(d);
    let n = 0;
    for (const ep of this.episodes) {
      const o = ep.obs;
      for (let t = 0; t < ep.length; t++) {
        const base = t * d;
        for (let j = 0; j < d; j++) sum[j] += o[base + j];
      }
      n += ep.length;
    }
    const mean = new Float64Array(d);
    for (let j = 0; j < d; j++) mean[j] = sum[j] / n;
    // Two passes (mean first) keep the variance accurate for large offsets such as x positions.
    for (const ep of this.episodes) {
      const o = ep.obs;
      for (let t = 0; t < ep.length; t++) {
        const base = t * d;
        for (let j = 0; j < d; j++) {
          const z = o[base + j] - mean[j];
          sq[j] += z * z;
        }
      }
    }
    const std = new Float32Array(d);
    for (let j = 0; j < d; j++) std[j] = Math.max(OBS_STD_FLOOR, Math.sqrt(sq[j] / n));
    this.stats = { mean: Float32Array.from(mean), std };
    return this.stats;
  }

  /** Episode returns (sum of rewards of its transitions). */
  returns(): Float64Array {
    return Float64Array.from(this.episodes, returnOf);
  }

  /** Episode lengths in transitions. */
  lengths(): Float64Array {
    return Float64Array.from(this.episodes, transitionsOf);
  }

  returnStats(): SummaryStats {
    return summarise(this.returns());
  }

  lengthStats(): SummaryStats {
    return summarise(this.lengths());
  }
}
