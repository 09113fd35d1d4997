/**
 * Full dataset validation (docs/design/datasets.md §7), behind `clap-rl dataset validate`. Runs the loaders' cheap
 * checks plus the deeper ones: next-observation continuity, timeout positions, halfcheetah's missing
 * terminals, all-zero antmaze rewards, and observation/action sizes against the named environment.
 * Every problem is an Issue (one line naming the file, key and first bad index); nothing here throws for
 * bad data.
 */
import { UserError } from "../errors.js";
import { envInfo } from "../envs/registry.js";
import { product } from "./arrays.js";
import { d4rlEpisodes, readD4rlRaw, splitRows, type D4rlRaw, type SplitAt } from "./d4rl.js";
import { transitionsOf, type Episode } from "./episode.js";
import { DatasetError, IssueList, type Issue } from "./issues.js";
import { detectFormat, readDataset, type FileFormat, type LoadOptions } from "./load.js";

/** What a dataset for a given environment must look like. */
export interface DatasetExpectations {
  /** Vector observation shape. */
  obsShape?: number[];
  /** Image observation shape, checked instead of obsShape when the dataset holds uint8 images. */
  pixelShape?: number[];
  actDim?: number;
  /** Episodes that end at a timeout have exactly this many transitions. */
  timeoutSteps?: number;
  /** The environment never terminates (halfcheetah, DMC tasks). */
  noTerminals?: boolean;
  /** Sparse-reward data whose rewards must not all be zero (antmaze; OfflineRL-Kit issue #14). */
  rewardsNotAllZero?: boolean;
  /** Where the environment's D4RL episodes end (splitAtFor). */
  splitAt?: SplitAt;
}

/** V-D4RL frames (docs/design/datasets.md §4, §6.4). */
const PIXEL_SHAPE = [64, 64, 3];

/** Environments whose data never contain terminals (docs/design/datasets.md §2.1 halfcheetah; DMC tasks, §4). */
const NEVER_TERMINATES = new Set(["halfcheetah", "dmc-cheetah-run", "dmc-walker-walk"]);

/**
 * Dataset facts for a registered environment: sizes from the registry; collection-length timeouts
 * (antmaze data episodes run 1000 steps even where evaluation stops at 700, docs/design/datasets.md §6.3) and the
 * flag and reward rules of docs/design/datasets.md §7.
 */
/**
 * Where a D4RL file's episodes end for an environment: antmaze terminals mark goals inside collection episodes, so only
 * timeouts end them (docs/design/datasets.md §5.4); every other environment's terminals end the episode, also in legacy
 * locomotion files without next_observations, whose layout alone would read them as antmaze's.
 */
export function splitAtFor(envId: string): SplitAt {
  return envInfo(envId).family === "antmaze" ? "timeouts" : "done";
}

export function expectationsFor(envId: string): DatasetExpectations {
  const info = envInfo(envId);
  return {
    splitAt: splitAtFor(envId),
    obsShape: info.obsShape,
    pixelShape: PIXEL_SHAPE,
    actDim: info.actionDim,
    timeoutSteps: info.family === "antmaze" ? 1000 : info.maxEpisodeSteps,
    ...(NEVER_TERMINATES.has(envId) ? { noTerminals: true } : {}),
    ...(info.family === "antmaze" ? { rewardsNotAllZero: true } : {}),
  };
}

export interface ValidationReport {
  path: string;
  format: FileFormat | null;
  issues: Issue[];
  errors: number;
  warnings: number;
  episodes: number;
  transitions: number;
}

export interface ValidateOptions extends LoadOptions {
  expect?: DatasetExpectations;
}

/** §7.2: within an episode next_observations[i] must equal observations[i+1] (float32 rounding allowed). */
function checkContinuity(raw: D4rlRaw, issues: IssueList): void {
  const next = raw.nextObservations;
  if (!next) return;
  const d = product(raw.obsShape);
  const obs = raw.observations;
  let first: number[] | null = null;
  let count = 0;
  for (let i = 0; i + 1 < raw.rows; i++) {
    if (raw.terminals[i] || raw.timeouts[i]) continue;
    for (let j = 0; j < d; j++) {
      const x = next[i * d + j];
      const y = obs[(i + 1) * d + j];
      if (Math.abs(x - y) > 1e-6 * (1 + Math.abs(y))) {
        first ??= [i, j];
        count++;
        break;
      }
    }
  }
  if (first) {
    issues.error(
      "next_observations",
      `differs from observations[${first[0] + 1}] inside an episode (${count} row${count > 1 ? "s" : ""}); the file's transitions are inconsistent`,
      first,
    );
  }
}

/** §7.1: timeouts fall exactly on the collection length, counted the way the collector reset its counter. */
function checkTimeoutSteps(raw: D4rlRaw, steps: number, issues: IssueList): void {
  // Locomotion collectors reset after a terminal; antmaze collection episodes run through goal "terminals".
  const episodes = splitRows(raw, raw.splitAt);
  const bad = episodes.filter((e) => e.kind === "timeout" && e.end - e.start + 1 !== steps);
  if (bad.length > 0) {
    const e = bad[0];
    issues.error("timeouts", `set after ${e.end - e.start + 1} steps, expected ${steps} (${bad.length} episode${bad.length > 1 ? "s" : ""})`, [e.end]);
  }
}

/** Halfcheetah-like data: the first row with a terminal flag. */
function checkNoTerminals(raw: D4rlRaw, issues: IssueList): void {
  const first = raw.terminals.indexOf(1);
  if (first < 0) return;
  const count = raw.terminals.reduce((s, v) => s + v, 0);
  issues.error("terminals", `set on ${count} row${count > 1 ? "s" : ""}, but this environment never terminates`, [first]);
}

function checkEpisodes(episodes: Episode[], expect: DatasetExpectations, issues: IssueList): void {
  if (episodes.length === 0) return;
  const ep0 = episodes[0];
  const shape = ep0.obs instanceof Uint8Array ? (expect.pixelShape ?? expect.obsShape) : expect.obsShape;
  if (shape && ep0.obsShape.join(",") !== shape.join(",")) {
    issues.error("observations", `each observation has shape [${ep0.obsShape}], the environment expects [${shape}]`);
  }
  if (expect.actDim !== undefined && ep0.actDim !== expect.actDim) {
    issues.error("actions", `${ep0.actDim} values per action, the environment expects ${expect.actDim}`);
  }
  if (expect.rewardsNotAllZero && episodes.every((ep) => ep.rew.every((r) => r === 0))) {
    issues.error("rewards", "all zero; sparse-reward data must contain goal rewards (a known relabelling bug)");
  }
}

/**
 * Validates a dataset file or folder. File-level failures (missing, not HDF5, truncated, corrupt) are
 * reported as issues too, so the caller can print them and exit non-zero.
 */
export async function validateDataset(path: string, opts: ValidateOptions = {}): Promise<ValidationReport> {
  const issues = new IssueList(path);
  const expect = opts.expect ?? {};
  let format: FileFormat | null = null;
  let episodes: Episode[] = [];
  try {
    format = opts.format ?? detectFormat(path);
    if (format === "d4rl") {
      const raw = await readD4rlRaw(path, issues, { ...opts, splitAt: opts.splitAt ?? expect.splitAt });
      if (raw) {
        checkContinuity(raw, issues);
        if (expect.timeoutSteps !== undefined) checkTimeoutSteps(raw, expect.timeoutSteps, issues);
        if (expect.noTerminals) checkNoTerminals(raw, issues);
        episodes = d4rlEpisodes(raw, raw.splitAt).episodes;
      }
    } else {
      episodes = (await readDataset(path, issues, { ...opts, format }))?.episodes ?? [];
      if (expect.timeoutSteps !== undefined) {
        const e = episodes.findIndex((ep) => ep.end === "timeout" && ep.length - 1 !== expect.timeoutSteps);
        if (e >= 0) issues.error("timeouts", `episode ${e} times out after ${episodes[e].length - 1} steps, expected ${expect.timeoutSteps}`, [e]);
      }
      const t = expect.noTerminals ? episodes.findIndex((ep) => ep.cont.some((c) => c === 0)) : -1;
      if (t >= 0) issues.error("terminals", `set in episode ${t}, but this environment never terminates`, [t]);
    }
    checkEpisodes(episodes, expect, issues);
  } catch (e) {
    if (e instanceof DatasetError) issues.error(e.key, e.detail, undefined, e.file);
    else if (e instanceof UserError) issues.error("(file)", e.message.startsWith(`${path}: `) ? e.message.slice(path.length + 2) : e.message);
    else throw e;
  }
  const errors = issues.errorCount;
  return {
    path,
    format,
    issues: issues.items,
    errors,
    warnings: issues.items.length - errors,
    episodes: episodes.length,
    transitions: episodes.reduce((s, ep) => s + transitionsOf(ep), 0),
  };
}
