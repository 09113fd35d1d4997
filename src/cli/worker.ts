/**
 * `clap-rl worker`: trains the runs of a queued sweep (`sweep --queue`, queue.ts) on this machine; user guide in
 * docs/distributed.md.
 *
 *   clap-rl worker --queue redis://host:port/db --runs DIR [--concurrency N]
 *
 * - Each job is `clap-rl train <its arguments> --out DIR/<job id>` in a child process, its output appended to
 *   DIR/logs/<run>.log. Train's re-run rule (same request → resume) makes a job handed out again — retried, stalled
 *   or returned — continue from the run's last checkpoint, and a finished run end at once.
 * - DIR is shared by all workers (a network filesystem); a worker refuses a DIR where it cannot take a run lock and
 *   rename a file, the two things a run directory relies on.
 * - Outcomes: done → the job completes with the final score; train's user-error or damaged-checkpoint exit code →
 *   the job fails at once with train's one-line reason (UnrecoverableError: a bad config stays bad, damaged files
 *   stay damaged); any other failure → an error BullMQ
 *   retries (queue.ts ATTEMPTS, with backoff); stopped after a checkpoint → the job goes back to waiting.
 * - Progress: the run's latest metrics row and evaluation are put on the job (job.updateProgress) every few seconds;
 *   the worker logs one line per event (start, phase change, evaluation, end).
 * - Ctrl-C (or SIGTERM) stops taking jobs and sends SIGINT to the runs (their own process groups, so the terminal's
 *   Ctrl-C does not reach them twice); each saves a checkpoint and its job goes back to the queue; exit code 130.
 *
 * Faults. A worker killed with SIGKILL or a machine lost stops renewing its jobs' BullMQ locks; after lockDuration
 * another worker's stalled-job check puts the jobs back and one of them takes each. Its train child (if the machine
 * still runs) sees its IPC channel close and stops after a checkpoint (train.ts withInterrupt). The run lock
 * (training/run-dir.ts) then decides who may write the run, checked here before train starts (`lockStep`):
 *   - an owner on this host that is alive (an orphaned run still saving its checkpoint): wait for it to exit;
 *   - an owner on this host that is dead: train takes the lock over itself;
 *   - an owner on another host whose pid and host are the ones this job's previous attempt reported (its progress):
 *     that attempt's worker is the one BullMQ declared stalled, so the lock is taken over (with a log line). A worker
 *     that merely lost Redis for longer than lockDuration gets 'lockRenewalFailed' and stops its runs the same way;
 *   - any other owner on another host (someone training that run by hand there): the attempt fails and is retried.
 * lockDuration and the stalled-check interval are BullMQ's 30 s unless CLAP_RL_QUEUE_LOCK_MS says otherwise (tests).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { UnrecoverableError, WaitingError, Worker, type Job } from "bullmq";
import type { Command } from "commander";
import { DAMAGED_CHECKPOINT_EXIT, USER_ERROR_EXIT, UserError } from "../errors.js";
import { existingRun, lockRun, runPaths } from "../training/run-dir.js";
import { checkReachable, QUEUE_NAME, redisConnection, shownAddress, type RunJobData, type RunJobResult, type RunProgress } from "./queue.js";
import { finalScore } from "./sweep.js";
import { INTERRUPTED_EXIT, positiveInt } from "./train.js";
import { processAlive } from "../util/atomic.js";

const MAIN = fileURLToPath(new URL("./main.js", import.meta.url));
/** How often a running job's progress is read from its metrics log and put on the job. */
const PROGRESS_EVERY_MS = 2_000;
/** How long a job waits for an orphaned run on this host to save its checkpoint and let go of the run lock. */
const LOCK_WAIT_MS = 120_000;
/** Times a job may be handed out again after its worker was lost before BullMQ fails it. */
const STALLS_ALLOWED = 3;

/** What a run's lock file names (run-dir.ts writes it). */
export interface LockOwner {
  pid: number;
  host: string;
}

function readLockOwner(path: string): LockOwner | null {
  try {
    const o = JSON.parse(readFileSync(path, "utf8")) as Partial<LockOwner>;
    return typeof o.pid === "number" && typeof o.host === "string" ? { pid: o.pid, host: o.host } : null;
  } catch {
    return null;
  }
}

export type LockStep = "free" | "wait" | "take-over" | "refuse";

/** What a job does about the run lock it finds (module comment, "Faults"); `previous` is the job's last progress. */
export function lockStep(owner: LockOwner | null, host: string, previous: unknown, isAlive: (pid: number) => boolean): LockStep {
  if (owner === null) return "free";
  if (owner.host === host) return isAlive(owner.pid) ? "wait" : "free";
  const p = previous as Partial<RunProgress> | null;
  return p !== null && typeof p === "object" && p.host === owner.host && p.pid === owner.pid ? "take-over" : "refuse";
}

/** Clears the way for this job's run: see `lockStep`. */
async function claimRunLock(dir: string, previous: unknown, say: (line: string) => void): Promise<void> {
  const path = runPaths(dir).lock;
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    const owner = readLockOwner(path);
    const step = lockStep(owner, hostname(), previous, processAlive);
    if (step === "free") return;
    if (step === "take-over") {
      say(`[lock  ] ${dir}: taking over the run lock of process ${owner!.pid} on ${owner!.host}, this job's attempt that BullMQ declared stalled`);
      rmSync(path, { force: true });
      return;
    }
    if (step === "refuse") {
      throw new Error(`'${dir}' is locked by process ${owner!.pid} on host ${owner!.host}, not by this job's previous attempt; if that run is gone, delete ${path}`);
    }
    if (Date.now() > deadline) throw new Error(`'${dir}' is still being trained by process ${owner!.pid} on this host after ${LOCK_WAIT_MS / 1000} s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** A worker refuses a runs folder where a run directory could not work: exclusive create (the lock) and rename (checkpoints). */
function checkRunsFolder(dir: string): void {
  const probe = join(dir, `.clap-rl-probe-${hostname()}-${process.pid}`);
  const refuse = (e: unknown) =>
    new UserError(`--runs '${dir}': cannot take a run lock and rename a file there (${(e as Error).message}); workers need a folder they all share with working exclusive create and rename`);
  try {
    mkdirSync(probe, { recursive: true });
  } catch (e) {
    throw refuse(e);
  }
  try {
    lockRun(probe)();
    writeFileSync(join(probe, "a"), "probe");
    renameSync(join(probe, "a"), join(probe, "b"));
    if (readFileSync(join(probe, "b"), "utf8") !== "probe") throw new Error("a renamed file lost its content");
  } catch (e) {
    throw refuse(e);
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}

/** The latest training row and evaluation in the tail of a metrics log. */
function latestMetrics(path: string): Pick<RunProgress, "phase" | "step" | "score" | "return"> {
  const out: Pick<RunProgress, "phase" | "step" | "score" | "return"> = {};
  let text: string;
  try {
    const size = statSync(path).size;
    const fd = openSync(path, "r");
    try {
      const buf = Buffer.alloc(Math.min(size, 64 * 1024));
      readSync(fd, buf, 0, buf.length, size - buf.length);
      text = buf.toString("utf8");
    } finally {
      closeSync(fd);
    }
  } catch {
    return out;
  }
  for (const line of text.split("\n").reverse()) {
    let r: Record<string, unknown>;
    try {
      r = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue; // the tail's cut-off first line, or one being written
    }
    if (r.phase === "eval" && out.score === undefined && out.return === undefined) {
      if (typeof r.score_mean === "number") out.score = r.score_mean;
      else if (typeof r.return_mean === "number") out.return = r.return_mean;
    } else if (r.phase !== "eval" && out.phase === undefined && typeof r.step === "number") {
      out.phase = String(r.phase);
      out.step = r.step;
    }
  }
  return out;
}

function lastLine(file: string): string {
  const lines = readFileSync(file, "utf8").trim().split("\n");
  return (lines[lines.length - 1] ?? "").replace(/^clap-rl: /, "");
}

interface WorkerFlags {
  queue: string;
  runs: string;
  concurrency: number;
}

async function workerCommand(f: WorkerFlags): Promise<void> {
  const runsDir = resolve(f.runs);
  checkRunsFolder(runsDir);
  const logs = join(runsDir, "logs");
  mkdirSync(logs, { recursive: true });
  const lockMs = Number(process.env.CLAP_RL_QUEUE_LOCK_MS ?? 30_000);
  if (!Number.isInteger(lockMs) || lockMs < 1000) throw new UserError(`CLAP_RL_QUEUE_LOCK_MS='${process.env.CLAP_RL_QUEUE_LOCK_MS}': give milliseconds, at least 1000`);
  const me = { host: hostname(), worker: process.pid };
  const say = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
  const children = new Map<string, ChildProcess>();
  let stopping = false;

  const processor = async (job: Job<RunJobData, RunJobResult>, token?: string): Promise<RunJobResult> => {
    const name = String(job.id);
    const dir = join(runsDir, name);
    const backToQueue = async (why: string): Promise<never> => {
      say(`[back  ] ${name}: ${why}; returned to the queue`);
      await job.moveToWait(token);
      throw new WaitingError();
    };
    if (stopping) return backToQueue("the worker is stopping");
    const again = job.stalledCounter > 0 ? `, handed out again after its worker was lost (${job.stalledCounter}×)` : "";
    say(`[start ] ${name} (attempt ${job.attemptsMade + 1} of ${job.opts.attempts ?? 1}${again}) into ${dir}`);
    await claimRunLock(dir, job.progress, say);

    const logFile = join(logs, `${name}.log`);
    const args = [...job.data.train, "--out", dir];
    const log = openSync(logFile, "a");
    writeSync(log, `\n# clap-rl ${args.join(" ")}  (${new Date().toISOString()}, ${me.host} worker ${me.worker})\n`);
    // Output straight to the log file, not through pipes: an orphaned run (this worker killed) must still be able to write.
    const child = spawn(process.execPath, [MAIN, ...args], { detached: true, stdio: ["ignore", log, log, "ipc"] });
    closeSync(log);
    children.set(name, child);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res, rej) => {
      child.on("error", rej);
      child.on("exit", (code, signal) => res({ code, signal }));
    });
    const t0 = Date.now();
    let reported: RunProgress = { ...me, pid: child.pid };
    await job.updateProgress(reported);
    const report = async () => {
      const now: RunProgress = { ...me, pid: child.pid, ...latestMetrics(runPaths(dir).metrics) };
      if (now.phase !== undefined && now.phase !== reported.phase) say(`[phase ] ${name}: ${now.phase} phase`);
      if (now.score !== reported.score || now.return !== reported.return) {
        say(`[eval  ] ${name}: ${now.score !== undefined ? `score ${now.score.toFixed(1)}` : `return ${now.return?.toFixed(1)}`} at ${now.phase} step ${now.step}`);
      }
      if (JSON.stringify(now) !== JSON.stringify(reported)) await job.updateProgress(now);
      reported = now;
    };
    // A failed update (Redis away for a moment) is retried on the next tick; the run goes on either way.
    const timer = setInterval(() => void report().catch(() => {}), PROGRESS_EVERY_MS);
    let r: { code: number | null; signal: NodeJS.Signals | null };
    try {
      r = await exited;
    } finally {
      clearInterval(timer);
      children.delete(name);
    }
    const took = `${Math.round((Date.now() - t0) / 1000)} s`;
    const status = existingRun(dir)?.manifest.status;
    if (r.code === 0 && status === "done") {
      const result = finalScore(dir);
      say(`[done  ] ${name}: ${result} (${took})`);
      return { result };
    }
    if (r.code === INTERRUPTED_EXIT && status === "stopped") return backToQueue(`stopped after a checkpoint (${took})`);
    const why = r.signal ? `killed by ${r.signal}` : lastLine(logFile);
    if (r.code === USER_ERROR_EXIT || r.code === DAMAGED_CHECKPOINT_EXIT) {
      const cause = r.code === USER_ERROR_EXIT ? "an error in the request" : "a damaged checkpoint";
      say(`[FAILED] ${name}: ${why} (not retried: ${cause}; log ${logFile})`);
      throw new UnrecoverableError(why);
    }
    say(`[FAILED] ${name}: ${why} (attempt ${job.attemptsMade + 1} of ${job.opts.attempts ?? 1}; log ${logFile})`);
    throw new Error(why);
  };

  await checkReachable(f.queue);
  const worker = new Worker<RunJobData, RunJobResult>(QUEUE_NAME, processor, {
    connection: { ...redisConnection(f.queue), maxRetriesPerRequest: null },
    concurrency: f.concurrency,
    lockDuration: lockMs,
    stalledInterval: lockMs,
    maxStalledCount: STALLS_ALLOWED,
    name: `${me.host} pid ${me.worker}`,
    autorun: false,
  });
  let lastError = "";
  worker.on("error", (e) => {
    // ioredis repeats a lost connection's error on every reconnect try: one line per new message.
    if (e.message !== lastError) say(`worker: ${e.message}`);
    lastError = e.message;
  });
  worker.on("stalled", (id) => say(`[stall ] ${id}: its worker stopped renewing the job's lock; back in the queue`));
  worker.on("lockRenewalFailed", (ids) => {
    for (const id of ids) {
      say(`[lock  ] ${id}: this worker lost the job's lock (Redis unreachable?); stopping the run, another worker may take it`);
      children.get(id)?.kill("SIGINT");
    }
  });
  const stop = (signal: string) => {
    stopping = true;
    say(`worker: ${signal}: no new runs; ${children.size} running run(s) save a checkpoint and go back to the queue`);
    for (const child of children.values()) child.kill("SIGINT");
    void worker.close();
  };
  // A second Ctrl-C gets Node's default (exit at once); the runs, orphaned, still checkpoint and stop by themselves.
  process.once("SIGINT", () => stop("interrupt"));
  process.once("SIGTERM", () => stop("SIGTERM"));
  say(`worker: ${me.host} pid ${me.worker}, ${f.concurrency} run(s) at a time, from ${shownAddress(f.queue)} (queue ${QUEUE_NAME}) into ${runsDir}`);
  await worker.run();
  await worker.close();
  if (stopping) process.exitCode = INTERRUPTED_EXIT;
}

export function registerWorkerCommand(program: Command): void {
  program
    .command("worker")
    .description("Train the runs of a queued sweep (sweep --queue) on this machine, into a run folder all workers share; Ctrl-C returns the running runs to the queue")
    .requiredOption("--queue <url>", "Redis address the sweep was queued at (redis://host:port/db)")
    .requiredOption("--runs <dir>", "run folder shared by all workers (network filesystem): one run directory per job, logs/")
    .option("--concurrency <n>", "runs at a time on this machine (each is one process)", positiveInt("--concurrency"), 1)
    .action(async (f: WorkerFlags) => workerCommand(f));
}
