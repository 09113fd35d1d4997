/**
 * The run directory, for every algorithm: its file names, the manifest, the metrics log, the lock, and which folders
 * are runs. The training loop (trainer.ts) only trains; what a run directory holds is decided here.
 *
 *   config.json     the resolved config          manifest.json   versions, seed, dataset, command, times, model used
 *   metrics.jsonl   one JSON line per logged step ({phase, step, …scalars}) and per evaluation
 *   model/          the trained phase-1 model (reusable with --model-from; absent for algorithms without one)
 *   checkpoint/     the latest full checkpoint (resume point; the final state when training is done)
 *   eval-policy/    parameters of the latest evaluated policy (what evaluation loads, in workers or in-process)
 *   report.html     the run report, written when the run finishes (a failure to write it is only a warning)
 *   .lock           held by the process training the run (pid and host), so a second one cannot write the same run
 */
import { closeSync, createReadStream, existsSync, openSync, readFileSync, rmSync, statSync, writeSync } from "node:fs";
import { createHash } from "node:crypto";
import { hostname } from "node:os";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { UserError } from "../errors.js";
import { processAlive, writeFileAtomic } from "../util/atomic.js";
import { readJson } from "../algorithms/checkpoint.js";
import { ACTION_CHECK_CSV, ACTION_CHECK_FILE, REPORT_FILE } from "../report/run-report.js";
import { REFERENCES_FILE } from "../report/references.js";

const require = createRequire(import.meta.url);

export const LOCK_FILE = ".lock";

/** The paths of a run directory's parts. */
export function runPaths(outDir: string) {
  const dir = resolve(outDir);
  return {
    dir,
    config: join(dir, "config.json"),
    manifest: join(dir, "manifest.json"),
    metrics: join(dir, "metrics.jsonl"),
    model: join(dir, "model"),
    checkpoint: join(dir, "checkpoint"),
    evalPolicy: join(dir, "eval-policy"),
    lock: join(dir, LOCK_FILE),
  };
}

export function packageVersion(): string {
  try {
    return (require("../../../package.json") as { version: string }).version;
  } catch {
    return "unknown";
  }
}

/** SHA-256 of a dataset file when it is small enough to hash in a moment (≤ 512 MB); directories are skipped. */
export async function cheapChecksum(path: string): Promise<string | null> {
  try {
    const st = statSync(path);
    if (!st.isFile() || st.size > 512 * 1024 * 1024) return null;
  } catch {
    return null;
  }
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/**
 * Keeps the metrics lines up to the checkpoint being resumed from, so a resumed run's log has no duplicates. The
 * evaluation at agent step k > 0 is logged before the checkpoint at k, but the one at agent step 0 after the
 * checkpoint that ends phase 1: resuming at step 0 repeats it, so its row goes.
 */
export function truncateMetrics(path: string, modelStep: number, agentStep: number): void {
  if (!existsSync(path)) return;
  const keep = readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => {
      if (!line.trim()) return false;
      try {
        const r = JSON.parse(line) as { phase?: string; step?: number };
        const step = r.step ?? 0;
        if (r.phase === "model") return step <= modelStep;
        if (r.phase === "agent") return step <= agentStep;
        if (r.phase === "eval") return step < agentStep || (step === agentStep && agentStep > 0);
        return true;
      } catch {
        return false;
      }
    });
  writeFileAtomic(path, keep.length ? keep.join("\n") + "\n" : "");
}

/** The elapsed_s of the metrics log's last record (0 when there is none): a resumed run's clock continues from it. */
export function lastElapsed(path: string): number {
  if (!existsSync(path)) return 0;
  const lines = readFileSync(path, "utf8").trim().split("\n");
  for (let i = lines.length - 1; i >= 0; i--) {
    try {
      const r = JSON.parse(lines[i]) as { elapsed_s?: unknown };
      if (typeof r.elapsed_s === "number") return r.elapsed_s;
    } catch {
      // a cut-off line: look further back
    }
  }
  return 0;
}

/** The best evaluation in the metrics log (online selection, so optimistic; docs/design/method.md §14 reports it beside "last"). */
export function bestEvaluation(metricsPath: string): Record<string, number> | null {
  let best: Record<string, number> | null = null;
  for (const line of readFileSync(metricsPath, "utf8").split("\n")) {
    if (!line.trim()) continue;
    const r = JSON.parse(line) as Record<string, number | string>;
    if (r.phase === "eval" && typeof r.return_mean === "number" && (!best || r.return_mean > best.return_mean)) best = r as Record<string, number>;
  }
  return best;
}

/** What an --out directory holds: nothing, or a run with its manifest, and whether a resumable checkpoint exists. */
export interface ExistingRun {
  dir: string;
  manifest: Record<string, unknown> & { status?: string; request?: unknown };
  hasCheckpoint: boolean;
  reported: boolean;
}

export function existingRun(outDir: string): ExistingRun | null {
  const dir = resolve(outDir);
  const manifestPath = join(dir, "manifest.json");
  if (!existsSync(manifestPath)) return null;
  const manifest = readJson(manifestPath) as ExistingRun["manifest"];
  if (manifest === null || typeof manifest !== "object") throw new UserError(`${manifestPath}: not a run manifest`);
  // A checkpoint folder is only ever renamed into place complete, so one without its state.json was damaged after the
  // fact: it counts as a checkpoint, and resuming names the missing file instead of starting the run over.
  return { dir, manifest, hasCheckpoint: existsSync(join(dir, "checkpoint")) || existsSync(join(dir, "checkpoint.old")), reported: existsSync(join(dir, REPORT_FILE)) };
}

/** What the trainer and the report write into a run directory; `clearRun` removes exactly these and nothing else. */
const RUN_ENTRIES = [LOCK_FILE, "config.json", "manifest.json", "metrics.jsonl", "model", "model.old", "checkpoint", "checkpoint.old", "eval-policy", "eval-policy.old", REPORT_FILE, ACTION_CHECK_FILE, ACTION_CHECK_CSV, REFERENCES_FILE];

/**
 * A new run may go into a folder that does not exist yet or holds none of the files a run writes: never over a file,
 * and never over a `config.json`, `model/`, … that the user keeps there (issue 12). One line names what is in the way.
 */
export function checkNewRunDir(outDir: string): void {
  const dir = resolve(outDir);
  if (!existsSync(dir)) return;
  if (!statSync(dir).isDirectory()) throw new UserError(`--out '${dir}' is a file, not a run directory; choose a folder`);
  // Another command may have started this run a moment ago (two started at once): say so, not "not a run".
  const owner = readLock(join(dir, LOCK_FILE));
  if (owner) refuseHeldLock(dir, owner);
  if (existsSync(join(dir, "manifest.json"))) throw new UserError(`'${dir}' already holds a run; pass --resume to continue it or choose another --out`);
  const inTheWay = RUN_ENTRIES.filter((e) => existsSync(join(dir, e)) && !(e === LOCK_FILE && owner));
  if (inTheWay.length > 0) {
    throw new UserError(`--out '${dir}' is not a clap-rl run but holds ${inTheWay.join(", ")}; refusing to write a run over them (choose an empty or new folder)`);
  }
}

/** Removes a run's files from `outDir` (for --force, or a killed run that never reached a checkpoint). */
export function clearRun(outDir: string): void {
  lockRun(outDir)();
  for (const e of RUN_ENTRIES) rmSync(join(resolve(outDir), e), { recursive: true, force: true });
}

/** What a run's lock file holds: who trains the run. */
interface LockOwner {
  pid: number;
  host: string;
  since: string;
}

function readLock(path: string): LockOwner | null {
  try {
    const o = JSON.parse(readFileSync(path, "utf8")) as Partial<LockOwner>;
    return typeof o.pid === "number" && typeof o.host === "string" ? { pid: o.pid, host: o.host, since: String(o.since ?? "") } : null;
  } catch {
    // Half-written by a process killed between create and write: nobody can be holding it.
    return null;
  }
}

/** Throws the one line for a lock that a live process (or one on another host, which cannot be checked) holds. */
function refuseHeldLock(dir: string, owner: LockOwner): void {
  if (owner.host !== hostname()) {
    throw new UserError(`'${dir}' is locked by process ${owner.pid} on host ${owner.host} (since ${owner.since}); if that run is gone, delete ${join(dir, LOCK_FILE)}`);
  }
  if (processAlive(owner.pid)) {
    throw new UserError(`'${dir}' is being trained by process ${owner.pid} (since ${owner.since}); wait for it to finish or stop it before running this run again`);
  }
}

/**
 * Takes the run's lock (issue 12): a second process training the same run directory — a repeated command, or
 * `--resume` while the first still runs — stops with one line instead of interleaving metrics and checkpoints. The
 * lock names its owner's pid and host; a lock whose owner process no longer exists on this host (killed) is taken
 * over, and `onTakeOver` says so. A lock held from another host is never taken over: the pid cannot be checked.
 * Returns the release function.
 */
export function lockRun(outDir: string, onTakeOver: (message: string) => void = () => {}): () => void {
  const { lock, dir } = runPaths(outDir);
  const me: LockOwner = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lock, "wx");
      writeSync(fd, JSON.stringify(me));
      closeSync(fd);
      return () => {
        if (readLock(lock)?.pid === me.pid) rmSync(lock, { force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const owner = readLock(lock);
      if (owner && owner.pid !== me.pid) refuseHeldLock(dir, owner);
      if (owner) onTakeOver(`${dir}: taking over the lock of process ${owner.pid}, which is no longer running`);
      rmSync(lock, { force: true });
    }
  }
  throw new UserError(`'${dir}': could not take the run lock ${lock}`);
}
