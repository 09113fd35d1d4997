/**
 * V-D4RL 64px datasets (docs/design/datasets.md §4): one `.npz` per episode with `image` (L+1, 64, 64, 3) uint8,
 * `action`, `reward`, `discount`, `is_first`, `is_last`, `is_terminal`. Index t holds o_t together with
 * the action a_{t−1} that produced it, so the canonical action taken at o_t is `action[t+1]` (§5.2).
 */
import { randomUUID } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../errors.js";
import { writeFileAtomic, writeJsonAtomic } from "../util/atomic.js";
import { isFlagType, isFloatType, shapeString, toFlags, toFloat32 } from "./arrays.js";
import type { Episode, EpisodeEnd } from "./episode.js";
import { ACTION_TOLERANCE, DatasetError, checkFinite, checkFlags, checkRange, type IssueList } from "./issues.js";
import { encodeNpz, parseNpz, type NpyArray } from "./npy.js";
import type { DatasetSource } from "./store.js";

export interface Vd4rlReadOptions {
  actionTolerance?: number;
}

/** The episode files of a V-D4RL dataset: the file itself, or the folder's *.npz in name (= time) order. */
export function vd4rlFiles(path: string): string[] {
  if (statSync(path).isFile()) return [path];
  return readdirSync(path)
    .filter((f) => f.endsWith(".npz"))
    .sort()
    .map((f) => join(path, f));
}

function readEpisode(file: string, issues: IssueList, opts: Vd4rlReadOptions): Episode | null {
  const errorsBefore = issues.errorCount;
  let members: Map<string, NpyArray>;
  try {
    members = parseNpz(readFileSync(file), file);
  } catch (e) {
    if (!(e instanceof DatasetError)) throw e;
    issues.error(e.key, e.detail, undefined, e.file);
    return null;
  }
  for (const k of ["image", "action", "reward"]) if (!members.has(k)) issues.error(`${k}.npy`, "missing member", undefined, file);
  if (!members.has("is_terminal") && !members.has("discount")) {
    issues.error("is_terminal.npy", "missing member (and no discount.npy to fall back on)", undefined, file);
  }
  if (issues.errorCount > errorsBefore) return null;
  const image = members.get("image")!;
  const action = members.get("action")!;
  const reward = members.get("reward")!;
  const n = image.shape[0] ?? 0;
  if (image.dtype !== "uint8" || image.shape.length !== 4) {
    issues.error("image.npy", `dtype ${image.dtype} shape ${shapeString(image.shape)}, expected uint8 (L+1, H, W, C)`, undefined, file);
  }
  if (!isFloatType(action.dtype) || action.shape.length !== 2) {
    issues.error("action.npy", `dtype ${action.dtype} shape ${shapeString(action.shape)}, expected float32 (L+1, act_dim)`, undefined, file);
  }
  if (!isFloatType(reward.dtype) || reward.shape.length !== 1) {
    issues.error("reward.npy", `dtype ${reward.dtype} shape ${shapeString(reward.shape)}, expected float32 (L+1,)`, undefined, file);
  }
  for (const [k, m] of members) {
    if (m.shape[0] !== n) issues.error(`${k}.npy`, `has ${m.shape[0] ?? 0} rows but image.npy has ${n}`, [Math.min(m.shape[0] ?? 0, n)], file);
    if (["is_first", "is_last", "is_terminal"].includes(k) && (!isFlagType(m.dtype) || m.shape.length !== 1)) {
      issues.error(`${k}.npy`, `dtype ${m.dtype} shape ${shapeString(m.shape)}, expected bool (L+1,)`, undefined, file);
    }
  }
  if (n < 2) issues.error("image.npy", `episode has ${n} entries and no transitions`, undefined, file);
  if (issues.errorCount > errorsBefore) return null;

  const L = n - 1;
  const a = action.shape[1];
  const act0 = toFloat32(action.data);
  const rew0 = toFloat32(reward.data);
  checkFinite(issues, "action.npy", act0, a, file);
  checkFinite(issues, "reward.npy", rew0, 1, file);
  checkRange(issues, "action.npy", act0, a, -1, 1, opts.actionTolerance ?? ACTION_TOLERANCE, file);
  for (const k of ["is_first", "is_last", "is_terminal"]) {
    const m = members.get(k);
    if (m) checkFlags(issues, `${k}.npy`, m.data, file);
  }
  if (issues.errorCount > errorsBefore) return null;
  const isFirstRaw = members.get("is_first");
  if (isFirstRaw && !isFirstRaw.data[0]) issues.warn("is_first.npy", "index 0 is not marked first", [0], file);
  for (let j = 0; j < a; j++) {
    if (act0[j] !== 0) {
      issues.warn("action.npy", `the reset entry should carry a zero action, found ${act0[j]}`, [0, j], file);
      break;
    }
  }
  if (rew0[0] !== 0) issues.warn("reward.npy", `the reset entry should carry reward 0, found ${rew0[0]}; ignored`, [0], file);

  const term = members.has("is_terminal")
    ? toFlags(members.get("is_terminal")!.data)
    : Uint8Array.from(toFloat32(members.get("discount")!.data), (v) => (v === 0 ? 1 : 0));
  const lastRaw = members.get("is_last");
  const last = lastRaw ? toFlags(lastRaw.data) : null;
  const act = new Float32Array(n * a);
  act.set(act0.subarray(a));
  const actMask = new Float32Array(n).fill(1);
  actMask[L] = 0;
  const rew = new Float32Array(n);
  rew.set(rew0.subarray(1), 1);
  const cont = new Float32Array(n);
  cont[0] = 1;
  for (let t = 1; t < n; t++) cont[t] = 1 - term[t];
  const isFirst = new Float32Array(n);
  isFirst[0] = 1;
  const end: EpisodeEnd = term[L] ? "terminal" : !last || last[L] ? "timeout" : "file-end";
  return { length: n, obsShape: image.shape.slice(1), obs: image.data as Uint8Array, actDim: a, act, actMask, rew, cont, isFirst, end };
}

export async function readVd4rl(
  path: string,
  issues: IssueList,
  opts: Vd4rlReadOptions = {},
): Promise<{ episodes: Episode[]; source: DatasetSource } | null> {
  const files = vd4rlFiles(path);
  if (files.length === 0) {
    issues.error("*.npz", "no episode files");
    return null;
  }
  const episodes: Episode[] = [];
  for (const f of files) {
    const ep = readEpisode(f, issues, opts);
    if (ep) episodes.push(ep);
  }
  if (issues.errorCount > 0) return null;
  const metaPath = join(path, "metadata.json");
  let metadata: Record<string, unknown> = {};
  if (statSync(path).isDirectory() && existsSync(metaPath)) {
    try {
      metadata = JSON.parse(readFileSync(metaPath, "utf8")) as Record<string, unknown>;
    } catch (e) {
      issues.warn("metadata.json", `not valid JSON (${(e as Error).message}); ignored`, undefined, metaPath);
    }
  }
  return { episodes, source: { format: "vd4rl", path, metadata } };
}

function timestamp(d: Date): string {
  const p = (v: number) => String(v).padStart(2, "0");
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}T${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

/** The npz members of one canonical image episode, with V-D4RL's alignment (index 0 = reset). */
export function vd4rlMembers(ep: Episode): Parameters<typeof encodeNpz>[0] {
  if (!(ep.obs instanceof Uint8Array) || ep.obsShape.length !== 3) {
    throw new UserError("V-D4RL episodes need uint8 image observations (H, W, C)");
  }
  const n = ep.length;
  const L = n - 1;
  if (ep.actMask[L] !== 0) throw new UserError("V-D4RL episodes end with an observation where no action was taken");
  const a = ep.actDim;
  const action = new Float32Array(n * a);
  action.set(ep.act.subarray(0, L * a), a);
  const reward = new Float32Array(n);
  reward.set(ep.rew.subarray(1), 1);
  const isFirst = new Uint8Array(n);
  isFirst[0] = 1;
  const isLast = new Uint8Array(n);
  if (ep.end !== "file-end") isLast[L] = 1;
  const isTerminal = Uint8Array.from(ep.cont, (c, t) => (t > 0 && c === 0 ? 1 : 0));
  return {
    image: { data: ep.obs, shape: [n, ...ep.obsShape] },
    action: { data: action, shape: [n, a] },
    reward: { data: reward, shape: [n] },
    discount: { data: Float32Array.from(isTerminal, (v) => 1 - v), shape: [n] },
    is_first: { data: isFirst, shape: [n], bool: true },
    is_last: { data: isLast, shape: [n], bool: true },
    is_terminal: { data: isTerminal, shape: [n], bool: true },
  };
}

export interface Vd4rlWriteOptions {
  /** metadata.json content for the folder (docs/design/datasets.md §6.5). */
  metadata?: Record<string, unknown>;
  /** Timestamp of the first episode's name; later episodes add one second each so names sort in order. */
  start?: Date;
}

/**
 * Writes one `{YYYYmmddTHHMMSS}-{uuid hex}-{entries}.npz` per episode into `dir` (deflate-compressed, like
 * numpy.savez_compressed) and returns the paths.
 */
export function writeVd4rl(dir: string, episodes: Episode[], opts: Vd4rlWriteOptions = {}): string[] {
  const t0 = (opts.start ?? new Date()).getTime();
  const paths = episodes.map((ep, i) => {
    const name = `${timestamp(new Date(t0 + i * 1000))}-${randomUUID().replace(/-/g, "")}-${ep.length}.npz`;
    const p = join(dir, name);
    writeFileAtomic(p, encodeNpz(vd4rlMembers(ep)));
    return p;
  });
  if (opts.metadata) writeJsonAtomic(join(dir, "metadata.json"), opts.metadata);
  return paths;
}
