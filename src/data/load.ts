/**
 * `loadDataset`: format detection and dispatch to the D4RL, Minari and V-D4RL readers, returning the
 * canonical episodes (docs/design/datasets.md §5.1) in an EpisodeStore. Loaders open files read-only and never
 * modify them.
 */
import { accessSync, closeSync, constants, openSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { fsError, isFsError, UserError } from "../errors.js";
import type { Episode } from "./episode.js";
import { readD4rl, type D4rlReadOptions } from "./d4rl.js";
import { hasHdf5Signature } from "./h5.js";
import { IssueList, type Issue } from "./issues.js";
import { minariDataFile, readMinari } from "./minari.js";
import { EpisodeStore, type DatasetFormat, type DatasetSource, type InfoColumn } from "./store.js";
import { readVd4rl, vd4rlFiles } from "./vd4rl.js";

export type FileFormat = Exclude<DatasetFormat, "memory">;

/** Reward transforms of docs/design/datasets.md §5.4 (antmaze): raw, r − 1, or CQL's 4(r − 0.5). */
export type RewardTransform = "none" | "minus-one" | "cql";

export interface LoadOptions extends D4rlReadOptions {
  /** Skip detection. */
  format?: FileFormat;
  /** Minari Dict observation spaces: which sub-key is the observation. */
  obsKey?: string;
  /** Applied to every real transition's reward (entries t ≥ 1). Default "none". */
  rewardTransform?: RewardTransform;
  /** Receives each warning (the store keeps them too). */
  onWarning?: (issue: Issue) => void;
}

export interface DatasetParts {
  episodes: Episode[];
  infos?: Record<string, InfoColumn>;
  source: DatasetSource;
}

function startsWith(path: string, magic: number[]): boolean {
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.alloc(magic.length);
    const n = readSync(fd, buf, 0, magic.length, 0);
    return n === magic.length && magic.every((b, i) => buf[i] === b);
  } finally {
    closeSync(fd);
  }
}

const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];

/**
 * Detects the format from the directory layout (Minari data/main_data.hdf5, V-D4RL *.npz) or a file's
 * magic bytes (HDF5 signature, zip). An HDF5 file named main_data.hdf5 is read as Minari.
 */
export function detectFormat(path: string): FileFormat {
  try {
    accessSync(path, constants.R_OK);
  } catch (e) {
    if (!isFsError(e)) throw e;
    // A dangling symbolic link is missing too; a loop of links or a file without read permission says so.
    if (e.code === "ENOENT") throw new UserError(`${path}: no such file or directory`);
    throw fsError(path, "read the dataset", e);
  }
  const st = statSync(path);
  if (st.isDirectory()) {
    if (minariDataFile(path)) return "minari";
    if (vd4rlFiles(path).length > 0) return "vd4rl";
    throw new UserError(
      `${path}: no dataset in this directory (expected a Minari ${join("data", "main_data.hdf5")} or V-D4RL *.npz episode files)`,
    );
  }
  if (st.size === 0) throw new UserError(`${path}: file is empty`);
  if (hasHdf5Signature(path)) return path.endsWith("main_data.hdf5") ? "minari" : "d4rl";
  if (startsWith(path, ZIP_MAGIC)) return "vd4rl";
  const hint = /\.(hdf5|h5)$/i.test(path) ? " (truncated or corrupt HDF5?)" : /\.npz$/i.test(path) ? " (truncated or corrupt npz?)" : "";
  throw new UserError(`${path}: not an HDF5 file or npz archive${hint}`);
}

/** Reads a dataset, collecting problems into `issues`; null when there are errors. */
export async function readDataset(path: string, issues: IssueList, opts: LoadOptions = {}): Promise<DatasetParts | null> {
  const format = opts.format ?? detectFormat(path);
  switch (format) {
    case "d4rl":
      return readD4rl(path, issues, opts);
    case "minari":
      return readMinari(path, issues, opts);
    case "vd4rl":
      return readVd4rl(path, issues, opts);
  }
}

function transformRewards(episodes: Episode[], t: RewardTransform): void {
  if (t === "none") return;
  const f = t === "minus-one" ? (r: number) => r - 1 : (r: number) => 4 * (r - 0.5);
  for (const ep of episodes) for (let i = 1; i < ep.length; i++) ep.rew[i] = f(ep.rew[i]);
}

/**
 * Loads a dataset file or folder into an EpisodeStore, running the cheap checks (keys, dtypes, shapes,
 * lengths, non-finite values, action bounds, empty episodes). The first error becomes a one-line UserError.
 */
export async function loadDataset(path: string, opts: LoadOptions = {}): Promise<EpisodeStore> {
  const issues = new IssueList(path);
  const parts = await readDataset(path, issues, opts);
  issues.throwIfErrors(path);
  if (!parts) throw new UserError(`${path}: could not be read`);
  transformRewards(parts.episodes, opts.rewardTransform ?? "none");
  const warnings = issues.items.filter((i) => i.severity === "warning");
  for (const w of warnings) opts.onWarning?.(w);
  return new EpisodeStore(parts.episodes, { source: parts.source, infos: parts.infos, warnings });
}
