/**
 * D4RL single-file HDF5 datasets (docs/design/datasets.md §2): reading into canonical episodes (§2.4, §5.2, §5.4)
 * and writing in the same keys, dtypes and layout so that h5py / d4rl can read what we write.
 *
 * One deviation, forced by h5wasm 0.10.3 (it cannot create HDF5 enum types): `terminals` and `timeouts`
 * are written as int8 0/1 instead of h5py's bool enum. h5py reads them as int8 arrays, and d4rl only uses
 * them as truth values (`bool(dataset['terminals'][i])`, `if final_timestep:`), so d4rl's loaders work.
 */
import { UserError } from "../errors.js";
import { isFlagType, isFloatType, product, shapeString, toFlags, toFloat32 } from "./arrays.js";
import type { Episode, EpisodeEnd } from "./episode.js";
import { H5Reader, writeH5, type ScalarValue, type WriteArray } from "./h5.js";
import { ACTION_TOLERANCE, checkFinite, checkFlags, checkRange, type IssueList } from "./issues.js";
import type { DatasetSource, InfoColumn } from "./store.js";

/** §5.2: locomotion files have next_observations (L + 1 entries per episode); antmaze files do not (L entries). */
export type D4rlLayout = "locomotion" | "antmaze";

/** Where episodes end: at terminals or timeouts ("done", D4RL's rule), or at timeouts only (antmaze, §5.4). */
export type SplitAt = "done" | "timeouts";

export interface D4rlReadOptions {
  /** Default: "locomotion" when the file has next_observations, else "antmaze". */
  layout?: D4rlLayout;
  /**
   * Default: "timeouts" for the antmaze layout with a timeouts key, else "done". Readers that know the environment
   * pass its rule (validate.ts splitAtFor): locomotion files without next_observations split at terminals too.
   */
  splitAt?: SplitAt;
  /** Used only when the file has no `timeouts` key (old v0 files): an episode times out after this many steps. */
  maxEpisodeSteps?: number;
  /** `infos/<name>` columns to load, e.g. ["qpos", "qvel"]. */
  infos?: string[];
  /** Allowed excess of actions over [−1, 1]; default ACTION_TOLERANCE. */
  actionTolerance?: number;
}

/** The arrays of a D4RL file after the structural and cheap value checks. */
export interface D4rlRaw {
  path: string;
  rows: number;
  obsShape: number[];
  actDim: number;
  layout: D4rlLayout;
  /** Where episodes end: the caller's rule, else the one the file's layout implies (D4rlReadOptions.splitAt). */
  splitAt: SplitAt;
  observations: Float32Array;
  nextObservations?: Float32Array;
  actions: Float32Array;
  rewards: Float32Array;
  terminals: Uint8Array;
  timeouts: Uint8Array;
  infos: Record<string, { data: Float32Array; cols: number }>;
  metadata: Record<string, unknown>;
}

const REQUIRED = ["observations", "actions", "rewards", "terminals"] as const;

/** Reads metadata/* scalars and root attributes (arrays such as policy weights are listed by shape). */
function readMetadata(r: H5Reader): Record<string, unknown> {
  const out: Record<string, unknown> = { ...r.attrs("/") };
  const walk = (group: string): void => {
    for (const k of r.keys(group)) {
      const p = `${group}/${k}`;
      if (r.isGroup(p)) {
        walk(p);
        continue;
      }
      const info = r.info(p);
      const key = p.replace(/^metadata\//, "");
      out[key] = product(info.shape) <= 1 ? r.jsonValue(p) : `array ${shapeString(info.shape)} ${info.dtype}`;
    }
  };
  if (r.isGroup("metadata")) walk("metadata");
  return out;
}

/**
 * Opens a D4RL file and checks keys, dtypes, shapes, row counts, non-finite values, flag values and action
 * bounds, reporting into `issues`. Returns null when a structural problem prevents reading the arrays.
 * Throws a UserError when the file cannot be opened at all (missing, not HDF5, truncated).
 */
export async function readD4rlRaw(path: string, issues: IssueList, opts: D4rlReadOptions = {}): Promise<D4rlRaw | null> {
  const r = await H5Reader.open(path);
  try {
    const keys = r.keys();
    if (keys.includes("observation") && keys.includes("step_type")) {
      issues.error("observation", "this is a V-D4RL 84px (DrQ+BC) shard, which is not supported; use the 64px npz episodes");
      return null;
    }
    for (const k of REQUIRED) if (!keys.includes(k)) issues.error(k, "missing key");
    const hasNext = keys.includes("next_observations");
    const layout: D4rlLayout = opts.layout ?? (hasNext ? "locomotion" : "antmaze");
    if (layout === "locomotion" && !hasNext) issues.error("next_observations", "missing key (required by the locomotion layout)");
    if (!keys.includes("timeouts")) {
      issues.warn(
        "timeouts",
        `missing key; episodes are cut every ${opts.maxEpisodeSteps ?? 1000} steps since the last terminal (old D4RL v0 rule)`,
      );
    }
    for (const name of opts.infos ?? []) if (!r.has(`infos/${name}`)) issues.error(`infos/${name}`, "missing key");
    if (issues.errorCount > 0) return null;

    const obsInfo = r.info("observations");
    const n = obsInfo.shape[0] ?? 0;
    const expectRows = (key: string, shape: number[]): boolean => {
      if (shape[0] !== n) {
        issues.error(key, `has ${shape[0] ?? 0} rows but observations has ${n}`, [Math.min(shape[0] ?? 0, n)]);
        return false;
      }
      return true;
    };
    if (!isFloatType(obsInfo.dtype)) issues.error("observations", `dtype ${obsInfo.dtype}, expected float32`);
    if (obsInfo.shape.length < 2) issues.error("observations", `shape ${shapeString(obsInfo.shape)}, expected (N, obs_dim)`);
    if (n === 0) issues.error("observations", "no rows");
    const actInfo = r.info("actions");
    if (!isFloatType(actInfo.dtype)) issues.error("actions", `dtype ${actInfo.dtype}, expected float32`);
    if (actInfo.shape.length !== 2) issues.error("actions", `shape ${shapeString(actInfo.shape)}, expected (N, act_dim)`);
    expectRows("actions", actInfo.shape);
    const vector = (key: string, flag: boolean): void => {
      const info = r.info(key);
      const okType = flag ? isFlagType(info.dtype) : isFloatType(info.dtype);
      if (!okType) issues.error(key, `dtype ${info.dtype}, expected ${flag ? "bool" : "float32"}`);
      const column = info.shape.length === 2 && info.shape[1] === 1;
      if (info.shape.length !== 1 && !column) issues.error(key, `shape ${shapeString(info.shape)}, expected (N,)`);
      // D4RL's get_dataset squeezes (N, 1) rewards and terminals to (N,); so do we, and say so once per key.
      if (column) issues.warn(key, `shape ${shapeString(info.shape)} read as a column of ${info.shape[0]} values (N,), as D4RL's get_dataset does`);
      expectRows(key, info.shape);
    };
    vector("rewards", false);
    vector("terminals", true);
    if (keys.includes("timeouts")) vector("timeouts", true);
    if (layout === "locomotion") {
      const nx = r.info("next_observations");
      if (!isFloatType(nx.dtype)) issues.error("next_observations", `dtype ${nx.dtype}, expected float32`);
      if (nx.shape.slice(1).join(",") !== obsInfo.shape.slice(1).join(",")) {
        issues.error("next_observations", `shape ${shapeString(nx.shape)} differs from observations ${shapeString(obsInfo.shape)}`);
      }
      expectRows("next_observations", nx.shape);
    }
    for (const name of opts.infos ?? []) {
      const info = r.info(`infos/${name}`);
      if (!isFloatType(info.dtype)) issues.error(`infos/${name}`, `dtype ${info.dtype}, expected float`);
      expectRows(`infos/${name}`, info.shape);
    }
    if (issues.errorCount > 0) return null;

    const obsShape = obsInfo.shape.slice(1);
    const d = product(obsShape);
    const actDim = actInfo.shape[1];
    const observations = toFloat32(r.readArray("observations").data);
    const actions = toFloat32(r.readArray("actions").data);
    const rewards = toFloat32(r.readArray("rewards").data);
    const terminalsRaw = r.readArray("terminals").data;
    const timeoutsRaw = keys.includes("timeouts") ? r.readArray("timeouts").data : null;
    const nextObservations = layout === "locomotion" ? toFloat32(r.readArray("next_observations").data) : undefined;
    const infos: D4rlRaw["infos"] = {};
    for (const name of opts.infos ?? []) {
      const a = r.readArray(`infos/${name}`);
      infos[name] = { data: toFloat32(a.data), cols: product(a.shape.slice(1)) };
    }

    checkFinite(issues, "observations", observations, d);
    if (nextObservations) checkFinite(issues, "next_observations", nextObservations, d);
    if (checkFinite(issues, "actions", actions, actDim)) {
      checkRange(issues, "actions", actions, actDim, -1, 1, opts.actionTolerance ?? ACTION_TOLERANCE);
    }
    checkFinite(issues, "rewards", rewards, 1);
    checkFlags(issues, "terminals", terminalsRaw);
    if (timeoutsRaw) checkFlags(issues, "timeouts", timeoutsRaw);
    const terminals = toFlags(terminalsRaw);
    const timeouts = timeoutsRaw ? toFlags(timeoutsRaw) : synthesiseTimeouts(terminals, opts.maxEpisodeSteps ?? 1000);
    let both = 0;
    let firstBoth = -1;
    for (let i = 0; i < n; i++) {
      if (terminals[i] && timeouts[i]) {
        if (firstBoth < 0) firstBoth = i;
        both++;
      }
    }
    if (both > 0) {
      issues.warn("timeouts", `terminal and timeout both set on ${both} row${both > 1 ? "s" : ""}; treated as terminal`, [firstBoth]);
    }
    return {
      path,
      rows: n,
      obsShape,
      actDim,
      layout,
      // Without a timeouts key, timeouts are counted from the last terminal (D4RL v0), so terminals end episodes.
      splitAt: opts.splitAt ?? (layout === "antmaze" && timeoutsRaw ? "timeouts" : "done"),
      observations,
      nextObservations,
      actions,
      rewards,
      terminals,
      timeouts,
      infos,
      metadata: readMetadata(r),
    };
  } finally {
    r.close();
  }
}

/** §2.4: without a timeouts key, an episode times out at step maxEpisodeSteps − 1 counted since the last end. */
function synthesiseTimeouts(terminals: Uint8Array, maxEpisodeSteps: number): Uint8Array {
  const out = new Uint8Array(terminals.length);
  let step = 0;
  for (let i = 0; i < terminals.length; i++) {
    if (terminals[i]) {
      step = 0;
      continue;
    }
    if (step === maxEpisodeSteps - 1) {
      out[i] = 1;
      step = 0;
    } else {
      step++;
    }
  }
  return out;
}

/** Row ranges [start, end] of the episodes, with how each ends. */
export function splitRows(raw: Pick<D4rlRaw, "terminals" | "timeouts">, splitAt: SplitAt): { start: number; end: number; kind: EpisodeEnd }[] {
  const out: { start: number; end: number; kind: EpisodeEnd }[] = [];
  const { terminals, timeouts } = raw;
  const n = terminals.length;
  let start = 0;
  for (let i = 0; i < n; i++) {
    const done = splitAt === "done" ? terminals[i] || timeouts[i] : timeouts[i];
    if (done) {
      out.push({ start, end: i, kind: terminals[i] ? "terminal" : "timeout" });
      start = i + 1;
    }
  }
  if (start < n) out.push({ start, end: n - 1, kind: "file-end" });
  return out;
}

/** Builds canonical episodes from checked D4RL arrays with the §5.2 mapping of the file's layout. */
export function d4rlEpisodes(raw: D4rlRaw, splitAt: SplitAt): { episodes: Episode[]; infos: Record<string, InfoColumn> } {
  const d = product(raw.obsShape);
  const a = raw.actDim;
  const episodes: Episode[] = [];
  const infos: Record<string, InfoColumn> = {};
  for (const [name, col] of Object.entries(raw.infos)) infos[name] = { cols: col.cols, perEpisode: [] };
  for (const { start, end, kind } of splitRows(raw, splitAt)) {
    const rows = end - start + 1;
    const length = raw.layout === "locomotion" ? rows + 1 : rows;
    const obs = new Float32Array(length * d);
    obs.set(raw.observations.subarray(start * d, (end + 1) * d));
    if (raw.layout === "locomotion") obs.set(raw.nextObservations!.subarray(end * d, (end + 1) * d), rows * d);
    const act = new Float32Array(length * a);
    act.set(raw.actions.subarray(start * a, (end + 1) * a));
    const actMask = new Float32Array(length);
    actMask.fill(1, 0, rows);
    const rew = new Float32Array(length);
    const cont = new Float32Array(length);
    cont[0] = 1;
    for (let k = 1; k < length; k++) {
      rew[k] = raw.rewards[start + k - 1];
      cont[k] = 1 - raw.terminals[start + k - 1];
    }
    const isFirst = new Float32Array(length);
    isFirst[0] = 1;
    episodes.push({ length, obsShape: [...raw.obsShape], obs, actDim: a, act, actMask, rew, cont, isFirst, end: kind });
    for (const [name, col] of Object.entries(raw.infos)) {
      infos[name].perEpisode.push(col.data.slice(start * col.cols, (end + 1) * col.cols));
    }
  }
  return { episodes, infos };
}

/** Reads a D4RL file into canonical episodes; problems go to `issues` (null when there are errors). */
export async function readD4rl(
  path: string,
  issues: IssueList,
  opts: D4rlReadOptions = {},
): Promise<{ episodes: Episode[]; infos: Record<string, InfoColumn>; source: DatasetSource } | null> {
  const raw = await readD4rlRaw(path, issues, opts);
  if (!raw || issues.errorCount > 0) return null;
  const { episodes, infos } = d4rlEpisodes(raw, raw.splitAt);
  return { episodes, infos, source: { format: "d4rl", path, layout: raw.layout, metadata: raw.metadata } };
}

/** Everything a D4RL file holds, row-aligned (N rows). */
export interface D4rlArrays {
  observations: WriteArray;
  actions: WriteArray;
  rewards: Float32Array;
  terminals: Uint8Array;
  timeouts: Uint8Array;
  /** Present in locomotion files, absent in antmaze files. */
  nextObservations?: WriteArray;
  /** Written as infos/<name>, e.g. qpos, qvel, action_log_probs, goal. */
  infos?: Record<string, WriteArray>;
  /** Written under metadata/: scalars become scalar datasets, arrays (policy weights) datasets. */
  metadata?: Record<string, ScalarValue | WriteArray>;
  /** Attributes on the root group (the regenerated-data metadata of docs/design/datasets.md §6.5). */
  attrs?: Record<string, ScalarValue>;
}

function isWriteArray(v: unknown): v is WriteArray {
  return typeof v === "object" && v !== null && "data" in v && "shape" in v && ArrayBuffer.isView((v as WriteArray).data);
}

/** Writes a D4RL-layout HDF5 file (float32 arrays, int8 flags, gzip), atomically. */
export async function writeD4rl(path: string, a: D4rlArrays): Promise<void> {
  const n = a.observations.shape[0];
  const rowsOk = (arr: WriteArray) => arr.shape[0] === n && product(arr.shape) === arr.data.length;
  const checks: [string, boolean][] = [
    ["observations", rowsOk(a.observations)],
    ["actions", rowsOk(a.actions) && a.actions.shape.length === 2],
    ["rewards", a.rewards.length === n],
    ["terminals", a.terminals.length === n],
    ["timeouts", a.timeouts.length === n],
    ["next_observations", !a.nextObservations || rowsOk(a.nextObservations)],
    ...Object.entries(a.infos ?? {}).map(([k, v]): [string, boolean] => [`infos/${k}`, rowsOk(v)]),
  ];
  for (const [key, ok] of checks) if (!ok) throw new UserError(`writeD4rl ${path}: ${key} does not match ${n} rows`);
  const asInt8 = (f: Uint8Array) => new Int8Array(f.buffer, f.byteOffset, f.length);
  await writeH5(path, (w) => {
    w.array("observations", { data: toFloat32(a.observations.data), shape: a.observations.shape });
    w.array("actions", { data: toFloat32(a.actions.data), shape: a.actions.shape });
    w.array("rewards", { data: a.rewards, shape: [n] });
    w.array("terminals", { data: asInt8(a.terminals), shape: [n] });
    w.array("timeouts", { data: asInt8(a.timeouts), shape: [n] });
    if (a.nextObservations) {
      w.array("next_observations", { data: toFloat32(a.nextObservations.data), shape: a.nextObservations.shape });
    }
    for (const [k, v] of Object.entries(a.infos ?? {})) w.array(`infos/${k}`, v);
    for (const [k, v] of Object.entries(a.metadata ?? {})) {
      if (isWriteArray(v)) w.array(`metadata/${k}`, v, false);
      else w.scalar(`metadata/${k}`, v);
    }
    for (const [k, v] of Object.entries(a.attrs ?? {})) w.attr("", k, v);
  });
}

/**
 * The inverse of the §5.2 mapping: D4RL rows from canonical episodes. Episodes whose final entry has no
 * action give the locomotion layout (with next_observations); episodes with an action at every entry give
 * the antmaze layout, whose last row per episode carries reward 0 and terminal 0 (its successor is unknown).
 */
export function d4rlArraysFromEpisodes(episodes: Episode[]): D4rlArrays {
  if (episodes.length === 0) throw new UserError("d4rlArraysFromEpisodes: no episodes");
  const locomotion = episodes[0].actMask[episodes[0].length - 1] === 0;
  const obsShape = episodes[0].obsShape;
  const d = product(obsShape);
  const a = episodes[0].actDim;
  let n = 0;
  episodes.forEach((ep, i) => {
    if ((ep.actMask[ep.length - 1] === 0) !== locomotion) {
      throw new UserError(`episode ${i}: mixes locomotion-style and antmaze-style episodes`);
    }
    if (ep.end === "file-end" && i !== episodes.length - 1) {
      throw new UserError(`episode ${i}: a "file-end" episode can only be the last one`);
    }
    if (!locomotion && ep.end === "terminal") {
      throw new UserError(`episode ${i}: antmaze-layout episodes cannot end at a terminal (they split at timeouts)`);
    }
    n += locomotion ? ep.length - 1 : ep.length;
  });
  const observations = new Float32Array(n * d);
  const nextObservations = locomotion ? new Float32Array(n * d) : undefined;
  const actions = new Float32Array(n * a);
  const rewards = new Float32Array(n);
  const terminals = new Uint8Array(n);
  const timeouts = new Uint8Array(n);
  let row = 0;
  for (const ep of episodes) {
    const rows = locomotion ? ep.length - 1 : ep.length;
    if (!(ep.obs instanceof Float32Array)) throw new UserError("d4rlArraysFromEpisodes: image observations belong in V-D4RL npz files");
    observations.set(ep.obs.subarray(0, rows * d), row * d);
    nextObservations?.set(ep.obs.subarray(d, (rows + 1) * d), row * d);
    actions.set(ep.act.subarray(0, rows * a), row * a);
    for (let k = 0; k < rows; k++) {
      if (k + 1 < ep.length) {
        rewards[row + k] = ep.rew[k + 1];
        terminals[row + k] = ep.cont[k + 1] === 0 ? 1 : 0;
      }
    }
    if (ep.end === "timeout") timeouts[row + rows - 1] = 1;
    if (locomotion && ep.end === "terminal" && terminals[row + rows - 1] !== 1) {
      throw new UserError(`episode ends "terminal" but its last continuation is not 0`);
    }
    row += rows;
  }
  return {
    observations: { data: observations, shape: [n, ...obsShape] },
    actions: { data: actions, shape: [n, a] },
    rewards,
    terminals,
    timeouts,
    ...(nextObservations ? { nextObservations: { data: nextObservations, shape: [n, ...obsShape] } } : {}),
  };
}
