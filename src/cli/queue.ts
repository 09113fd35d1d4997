/**
 * A sweep on a Redis queue (issue 16; user guide: docs/distributed.md): `sweep --queue` adds one BullMQ job per grid
 * cell, `clap-rl worker` (worker.ts) trains them on any machine, `sweep status` and `sweep report` read the queue.
 * BullMQ does all the scheduling (hand-out, locks, stalled jobs, retries); this module only names the jobs and reads
 * them back.
 *
 * - A job's id is its run's name, so adding the grid twice adds nothing; a job already there with another request
 *   (other --set values under the same name) is reported, as train refuses a different run in an existing folder.
 * - Jobs are kept in Redis when done or failed: they are the grid's record for status, report and the next enqueue.
 */
import { Queue, type Job, type JobType } from "bullmq";
import { Redis } from "ioredis";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { UserError } from "../errors.js";
import { readRuns, writeComparison } from "../report/compare.js";
import { fmtNumber } from "../util/progress.js";
import type { GridRun } from "./sweep.js";

export const QUEUE_NAME = "clap-rl-sweep";

/** Tries of a run that fails for a reason other than the user's (a crash, a lost file server); user errors get one. */
export const ATTEMPTS = 3;
/** The first retry waits this long, each further one twice as long: time for a shared folder or a machine to come back. */
const RETRY_DELAY_MS = 30_000;

/** A job's data: `clap-rl train` arguments but --out, which the worker sets to <its --runs>/<job id>. */
export interface RunJobData {
  train: string[];
}

/** What a worker reports on a running job: where it runs and how far it is. */
export interface RunProgress {
  host: string;
  /** The worker's process id. */
  worker: number;
  /** The `clap-rl train` child's process id: the run lock's owner (worker.ts, takeover of a stalled job's lock). */
  pid?: number;
  phase?: string;
  step?: number;
  /** The latest evaluation (normalised score where the environment has reference scores, else the return). */
  score?: number;
  return?: number;
}

/** A job's return value: the finished run's final evaluation as text. */
export interface RunJobResult {
  result: string;
}

/** The Redis options of a --queue address: redis://[user:password@]host[:port][/db], rediss:// for TLS. */
export function redisConnection(url: string): { url: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UserError(`--queue '${url}': not an address like redis://host:6379/0`);
  }
  if (u.protocol !== "redis:" && u.protocol !== "rediss:") throw new UserError(`--queue '${url}': the address must start with redis:// or rediss://`);
  if (!/^\/?(\d+)?$/.test(u.pathname)) throw new UserError(`--queue '${url}': the path must be a database number (redis://host:port/0), not '${u.pathname}'`);
  return { url };
}

/** The address without its password, for messages. */
export function shownAddress(url: string): string {
  const u = new URL(url);
  u.password = "";
  u.username = "";
  return u.toString();
}

/**
 * Reaches Redis once with a client that does not retry: an unreachable address or a refused password is one line
 * here, where BullMQ's own connections would retry for ever (right for a running worker, not for a typo).
 */
export async function checkReachable(url: string): Promise<void> {
  const client = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: 10_000 });
  // connect() itself only says "Connection is closed."; the reason comes as an error event.
  let reason = "";
  client.on("error", (e: Error) => (reason = e.message));
  try {
    await client.connect();
    // ioredis selects the address's database without waiting for the answer: a number Redis does not have must fail here.
    await client.select(Number(new URL(url).pathname.slice(1) || 0));
  } catch (e) {
    throw new UserError(`--queue ${shownAddress(url)}: cannot reach Redis (${reason || (e as Error).message})`);
  } finally {
    client.disconnect();
  }
}

async function withQueue<T>(url: string, fn: (queue: Queue<RunJobData, RunJobResult>) => Promise<T>): Promise<T> {
  await checkReachable(url);
  const queue = new Queue<RunJobData, RunJobResult>(QUEUE_NAME, { connection: redisConnection(url) });
  // A connection lost later makes the command's own call fail.
  queue.on("error", () => {});
  try {
    return await fn(queue);
  } finally {
    await queue.close();
  }
}

/**
 * Adds the grid's runs that are not in the queue yet; refuses (after adding the others) runs queued with another
 * request. Redis is reached before the grid is built, which may make datasets for minutes.
 */
export async function enqueueGrid(url: string, buildGrid: () => Promise<GridRun[]>, say: (line: string) => void): Promise<void> {
  await withQueue(url, async (queue) => {
    const grid = await buildGrid();
    let added = 0;
    const conflicts: string[] = [];
    for (const run of grid) {
      const queued = await queue.getJob(run.name);
      if (queued) {
        const there = queued.data.train.filter((a, i) => a !== run.train[i]);
        if (there.length > 0 || queued.data.train.length !== run.train.length) {
          const now = run.train.filter((a, i) => a !== queued.data.train[i]);
          conflicts.push(`${run.name} (queued with '${there.join(" ")}', now '${now.join(" ")}')`);
        } else {
          say(`[queued] ${run.name}: already in the queue (${STATE_WORDS[await queued.getState()] ?? "unknown"})`);
        }
        continue;
      }
      await queue.add(run.name, { train: run.train }, { jobId: run.name, attempts: ATTEMPTS, backoff: { type: "exponential", delay: RETRY_DELAY_MS } });
      added += 1;
      say(`[add   ] ${run.name}`);
    }
    say(`sweep: ${added} of ${grid.length} runs added to ${shownAddress(url)} (queue ${QUEUE_NAME}); start workers with: clap-rl worker --queue <url> --runs <shared folder>`);
    if (conflicts.length > 0) {
      throw new UserError(`${conflicts.length} run(s) are already queued with a different request, first ${conflicts[0]}; choose other --set values or another Redis database`);
    }
  });
}

/** BullMQ's states in the words of `sweep status`. */
const STATE_WORDS: Record<string, string> = {
  active: "running",
  waiting: "waiting",
  prioritized: "waiting",
  paused: "waiting",
  delayed: "retrying",
  completed: "done",
  failed: "failed",
};
const STATES: JobType[] = ["active", "waiting", "prioritized", "paused", "delayed", "completed", "failed"];

function where(p: unknown): string {
  if (p === null || typeof p !== "object" || !("host" in p)) return "not started yet";
  const r = p as RunProgress;
  const at = r.phase !== undefined ? `, ${r.phase} step ${r.step}` : "";
  const score = r.score !== undefined ? `, latest score ${fmtNumber(r.score)}` : r.return !== undefined ? `, latest return ${fmtNumber(r.return)}` : "";
  return `on ${r.host} (worker ${r.worker}${r.pid !== undefined ? `, run pid ${r.pid}` : ""})${at}${score}`;
}

function describe(state: JobType, job: Job<RunJobData, RunJobResult>): string {
  switch (state) {
    case "active":
      return where(job.progress);
    case "completed":
      return job.returnvalue?.result ?? "";
    case "failed":
      return `${job.failedReason} (after ${job.attemptsMade} attempt(s))`;
    case "delayed":
      return `attempt ${job.attemptsMade + 1} of ${job.opts.attempts ?? 1} after: ${job.failedReason}`;
    default:
      return job.stalledCounter > 0 ? `back in the queue after its worker was lost ${job.stalledCounter} time(s)` : "";
  }
}

/** One line per job of the queue (running first), then the counts. */
export async function queueStatus(url: string, say: (line: string) => void): Promise<void> {
  await withQueue(url, async (queue) => {
    const counts = new Map<string, number>();
    let total = 0;
    for (const state of STATES) {
      const jobs = (await queue.getJobs([state])).sort((a, b) => String(a.id).localeCompare(String(b.id)));
      for (const job of jobs) {
        const word = STATE_WORDS[state];
        counts.set(word, (counts.get(word) ?? 0) + 1);
        total += 1;
        const text = describe(state, job);
        say(`${word.padEnd(8)} ${job.id}${text ? `: ${text}` : ""}`);
      }
    }
    const summary = ["waiting", "retrying", "running", "done", "failed"].map((w) => `${counts.get(w) ?? 0} ${w}`).join(", ");
    say(`queue ${QUEUE_NAME} at ${shownAddress(url)}: ${total} runs: ${summary}`);
  });
}

/** <runs>/comparison.html over every queued run that has a run directory in `runsDir`. */
export async function queueReport(url: string, runsDir: string, say: (line: string) => void): Promise<void> {
  const dir = resolve(runsDir);
  const names = await withQueue(url, async (queue) => (await queue.getJobs(STATES)).map((j) => String(j.id)));
  if (names.length === 0) throw new UserError(`--queue ${shownAddress(url)}: no runs queued`);
  const dirs = names.map((n) => join(dir, n)).filter((d) => existsSync(join(d, "manifest.json")));
  if (dirs.length === 0) throw new UserError(`--runs '${dir}': none of the ${names.length} queued runs has a run directory here yet`);
  const { runs, problems } = readRuns(dirs);
  for (const p of problems) say(`sweep report: not in the comparison: ${p.dir}: ${p.message}`);
  if (runs.length === 0) throw new UserError(`--runs '${dir}': none of the ${dirs.length} run directories can be compared (reasons above)`);
  const file = join(dir, "comparison.html");
  writeComparison(runs, file);
  say(`comparison of ${runs.length} of ${names.length} queued runs: ${file}`);
}
