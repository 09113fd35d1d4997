/**
 * Minari HDF5 datasets (docs/design/datasets.md §3): `<dataset>/data/main_data.hdf5` with one `episode_{i}` group per
 * episode, plus `<dataset>/data/metadata.json`. Read into canonical episodes (§5.2) and written back.
 * As with D4RL files, flags are written as int8 0/1 because h5wasm cannot create h5py's bool enum.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { UserError } from "../errors.js";
import { writeJsonAtomic } from "../util/atomic.js";
import { isFlagType, isFloatType, product, shapeString, toFlags, toFloat32 } from "./arrays.js";
import type { Episode, EpisodeEnd } from "./episode.js";
import { H5Reader, writeH5 } from "./h5.js";
import { ACTION_TOLERANCE, checkFinite, checkFlags, checkRange, type IssueList } from "./issues.js";
import type { DatasetSource } from "./store.js";

export const MINARI_DATA_FILE = "main_data.hdf5";

export interface MinariReadOptions {
  /** For Dict observation spaces: the sub-key to use as the observation (e.g. "observation"). */
  obsKey?: string;
  actionTolerance?: number;
}

/** The data file of a Minari dataset given the dataset directory, its data/ directory or the file itself. */
export function minariDataFile(path: string): string | null {
  if (existsSync(path) && statSync(path).isFile()) return path;
  for (const p of [join(path, "data", MINARI_DATA_FILE), join(path, MINARI_DATA_FILE)]) if (existsSync(p)) return p;
  return null;
}

/**
 * Python's json module writes NaN and ±Infinity as bare tokens (Gymnasium Box bounds are often ±inf),
 * which JSON.parse rejects; they are read as null here because only types and shapes are needed.
 */
export function parsePythonJson(text: string): unknown {
  return JSON.parse(text.replace(/(?<=[:,[]\s*)(-?Infinity|NaN)(?=\s*[,\]}])/g, "null"));
}

function episodeIds(r: H5Reader): number[] {
  return r
    .keys()
    .map((k) => /^episode_(\d+)$/.exec(k))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

export async function readMinari(
  path: string,
  issues: IssueList,
  opts: MinariReadOptions = {},
): Promise<{ episodes: Episode[]; source: DatasetSource } | null> {
  const dataFile = minariDataFile(path);
  if (!dataFile) throw new UserError(`${path}: no Minari data file (expected data/${MINARI_DATA_FILE})`);
  const metaPath = join(dirname(dataFile), "metadata.json");
  let metadata: Record<string, unknown> = {};
  if (existsSync(metaPath)) {
    try {
      metadata = parsePythonJson(readFileSync(metaPath, "utf8")) as Record<string, unknown>;
    } catch (e) {
      issues.error("metadata.json", `not valid JSON (${(e as Error).message})`, undefined, metaPath);
    }
  }
  const r = await H5Reader.open(dataFile);
  const file = dataFile;
  try {
    const ids = episodeIds(r);
    if (ids.length === 0) {
      issues.error("episode_*", "no episode groups", undefined, file);
      return null;
    }
    if (typeof metadata.total_episodes === "number" && metadata.total_episodes !== ids.length) {
      issues.warn("total_episodes", `metadata.json says ${metadata.total_episodes}, the file has ${ids.length} episodes`, undefined, metaPath);
    }
    const episodes: Episode[] = [];
    let obsShape: number[] | null = null;
    let actDim = -1;
    for (const id of ids) {
      const g = `episode_${id}`;
      let obsPath = `${g}/observations`;
      if (r.isGroup(obsPath)) {
        const sub = r.keys(obsPath);
        if (!opts.obsKey || !sub.includes(opts.obsKey)) {
          issues.error(obsPath, `a Dict observation space with keys [${sub.join(", ")}]; choose one with the obsKey option`, undefined, file);
          return null;
        }
        obsPath = `${obsPath}/${opts.obsKey}`;
      }
      const missing = [obsPath, `${g}/actions`, `${g}/rewards`, `${g}/terminations`, `${g}/truncations`].filter((k) => !r.isDataset(k));
      for (const k of missing) issues.error(k, "missing key", undefined, file);
      if (missing.length > 0) continue;
      const oi = r.info(obsPath);
      const ai = r.info(`${g}/actions`);
      const T = oi.shape[0] - 1;
      if (oi.dtype !== "uint8" && !isFloatType(oi.dtype)) issues.error(obsPath, `dtype ${oi.dtype}, expected float or uint8`, undefined, file);
      if (!isFloatType(ai.dtype)) issues.error(`${g}/actions`, `dtype ${ai.dtype}, expected float32`, undefined, file);
      if (oi.shape.length < 2) issues.error(obsPath, `shape ${shapeString(oi.shape)}, expected (T+1, ...)`, undefined, file);
      if (ai.shape.length !== 2) issues.error(`${g}/actions`, `shape ${shapeString(ai.shape)}, expected (T, act_dim)`, undefined, file);
      if (T < 1) {
        issues.error(obsPath, `empty episode (${Math.max(0, T)} steps)`, undefined, file);
        continue;
      }
      const rowsOk = (key: string, rows: number) => {
        if (rows !== T) issues.error(key, `has ${rows} rows, expected ${T} (observations has ${T + 1})`, [Math.min(rows, T)], file);
      };
      rowsOk(`${g}/actions`, ai.shape[0]);
      for (const k of ["rewards", "terminations", "truncations"]) {
        const info = r.info(`${g}/${k}`);
        rowsOk(`${g}/${k}`, info.shape[0] ?? 0);
        if (info.shape.length !== 1) issues.error(`${g}/${k}`, `shape ${shapeString(info.shape)}, expected (T,)`, undefined, file);
        const okType = k === "rewards" ? isFloatType(info.dtype) : isFlagType(info.dtype);
        if (!okType) issues.error(`${g}/${k}`, `dtype ${info.dtype}, expected ${k === "rewards" ? "float" : "bool"}`, undefined, file);
      }
      const shapeHere = oi.shape.slice(1);
      if (obsShape === null) {
        obsShape = shapeHere;
        actDim = ai.shape[1];
      } else if (shapeHere.join(",") !== obsShape.join(",") || ai.shape[1] !== actDim) {
        issues.error(g, `observation ${shapeString(shapeHere)} / action ${ai.shape[1]} sizes differ from episode_${ids[0]}`, undefined, file);
      }
      if (issues.errorCount > 0) continue;

      const d = product(shapeHere);
      const a = ai.shape[1];
      const obsRaw = r.readArray(obsPath).data;
      const obs = oi.dtype === "uint8" ? (obsRaw as Uint8Array) : toFloat32(obsRaw);
      const actions = toFloat32(r.readArray(`${g}/actions`).data);
      const rewards = toFloat32(r.readArray(`${g}/rewards`).data);
      const termRaw = r.readArray(`${g}/terminations`).data;
      const truncRaw = r.readArray(`${g}/truncations`).data;
      if (obs instanceof Float32Array) checkFinite(issues, obsPath, obs, d, file);
      if (checkFinite(issues, `${g}/actions`, actions, a, file)) {
        checkRange(issues, `${g}/actions`, actions, a, -1, 1, opts.actionTolerance ?? ACTION_TOLERANCE, file);
      }
      checkFinite(issues, `${g}/rewards`, rewards, 1, file);
      checkFlags(issues, `${g}/terminations`, termRaw, file);
      checkFlags(issues, `${g}/truncations`, truncRaw, file);
      const term = toFlags(termRaw);
      const trunc = toFlags(truncRaw);
      const length = T + 1;
      const act = new Float32Array(length * a);
      act.set(actions);
      const actMask = new Float32Array(length).fill(1);
      actMask[T] = 0;
      const rew = new Float32Array(length);
      rew.set(rewards, 1);
      const cont = new Float32Array(length).fill(1);
      for (let t = 0; t < T; t++) cont[t + 1] = 1 - term[t];
      const isFirst = new Float32Array(length);
      isFirst[0] = 1;
      const end: EpisodeEnd = term[T - 1] ? "terminal" : trunc[T - 1] ? "timeout" : "file-end";
      episodes.push({ length, obsShape: shapeHere, obs, actDim: a, act, actMask, rew, cont, isFirst, end });
    }
    if (issues.errorCount > 0) return null;
    return { episodes, source: { format: "minari", path, metadata } };
  } finally {
    r.close();
  }
}

/** A Gymnasium Box serialised the way Minari does; ±inf bounds are written as Python's bare tokens. */
function boxJson(shape: number[], dtype: string, low: number, high: number): string {
  const n = product(shape);
  const num = (v: number) => (v === Infinity ? "Infinity" : v === -Infinity ? "-Infinity" : String(v));
  const fill = (v: number) => `[${new Array(n).fill(num(v)).join(", ")}]`;
  return `{"type": "Box", "dtype": "${dtype}", "shape": [${shape.join(", ")}], "low": ${fill(low)}, "high": ${fill(high)}}`;
}

export interface MinariWriteOptions {
  /** e.g. "clap/hopper/medium-v0". */
  datasetId?: string;
  /** Extra metadata.json fields (algorithm_name, author, ref_min_score, ...). */
  metadata?: Record<string, unknown>;
}

/**
 * Writes `<dir>/data/main_data.hdf5` and `<dir>/data/metadata.json`. Every episode must end with an
 * observation where no action was taken (Minari stores T + 1 observations for T actions).
 */
export async function writeMinari(dir: string, episodes: Episode[], opts: MinariWriteOptions = {}): Promise<void> {
  if (episodes.length === 0) throw new UserError(`writeMinari ${dir}: no episodes`);
  episodes.forEach((ep, i) => {
    if (ep.actMask[ep.length - 1] !== 0) {
      throw new UserError(`writeMinari ${dir}: episode ${i} has an action at its final entry (antmaze layout); Minari cannot store it`);
    }
  });
  const first = episodes[0];
  const image = first.obs instanceof Uint8Array;
  let totalSteps = 0;
  await writeH5(join(dir, "data", MINARI_DATA_FILE), (w) => {
    episodes.forEach((ep, i) => {
      const T = ep.length - 1;
      const g = `episode_${i}`;
      w.group(g);
      w.attr(g, "id", i);
      w.attr(g, "total_steps", T);
      w.array(`${g}/observations`, { data: ep.obs, shape: [ep.length, ...ep.obsShape] });
      w.array(`${g}/actions`, { data: ep.act.slice(0, T * ep.actDim), shape: [T, ep.actDim] });
      w.array(`${g}/rewards`, { data: ep.rew.slice(1), shape: [T] });
      const term = new Int8Array(T);
      const trunc = new Int8Array(T);
      for (let t = 0; t < T; t++) term[t] = ep.cont[t + 1] === 0 ? 1 : 0;
      if (ep.end === "timeout") trunc[T - 1] = 1;
      w.array(`${g}/terminations`, { data: term, shape: [T] });
      w.array(`${g}/truncations`, { data: trunc, shape: [T] });
      totalSteps += T;
    });
  });
  writeJsonAtomic(join(dir, "data", "metadata.json"), {
    dataset_id: opts.datasetId ?? basename(dir),
    total_episodes: episodes.length,
    total_steps: totalSteps,
    data_format: "hdf5",
    observation_space: boxJson(first.obsShape, image ? "uint8" : "float32", image ? 0 : -Infinity, image ? 255 : Infinity),
    action_space: boxJson([first.actDim], "float32", -1, 1),
    ...opts.metadata,
  });
}
