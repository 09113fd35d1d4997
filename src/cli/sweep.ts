/**
 * `clap-rl sweep`: a grid of training runs (datasets × seeds) in a local pool of child processes.
 *
 *   clap-rl sweep --datasets a,b --seeds 0-3 [--algo clap] [--preset P] [--set k=v]... [--jobs N] [--out DIR]
 *                 [--env ID] [--dataset-size N] [--policy-dir DIR]
 *
 * - Datasets are resolved (registered ones made) here, one at a time, before any run starts, so two runs never
 *   make the same file at once.
 * - Each run is `clap-rl train` in a child process writing to <out>/<dataset>-<algo>-<preset>-s<seed>, its output
 *   appended to <out>/logs/<run>.log. A run whose manifest says "done" is skipped; any other existing run is
 *   continued by the child (train's re-run rule: same request → resume; different request → that run fails with
 *   its one-line reason and the others go on).
 * - One status line per run event on stdout; at the end <out>/comparison.html (mean ± std over seeds per dataset)
 *   covers every run of the grid that has a manifest. Exit code 1 when any run failed.
 * - Ctrl-C reaches the children (same process group): each saves a checkpoint and stops; re-running the same
 *   sweep continues them.
 *
 * With --queue redis://host:port/db the grid is not run here but added to a BullMQ queue for `clap-rl worker`s on any
 * machine (queue.ts, worker.ts, docs/distributed.md); `sweep status` and `sweep report` read that queue.
 */
import { spawn } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { InvalidArgumentError, type Command } from "commander";
import { UserError } from "../errors.js";
import { ALGORITHM_NAMES, DEFAULT_ALGORITHM, algorithm, buildRunConfig } from "../algorithms/registry.js";
import { envInfo } from "../envs/registry.js";
import { existingRun } from "../training/run-dir.js";
import { readRuns, writeComparison } from "../report/compare.js";
import { createProgress, formatDuration } from "../util/progress.js";
import { enqueueGrid, queueReport, queueStatus } from "./queue.js";
import { collect, INTERRUPTED_EXIT, positiveInt, resolveDataset, type ResolvedDataset } from "./train.js";

const MAIN = fileURLToPath(new URL("./main.js", import.meta.url));

/** "0-3" → [0,1,2,3]; "0,2,5" → [0,2,5]; ranges and lists combine ("0-2,7"). */
export function parseSeeds(spec: string): number[] {
  const seeds: number[] = [];
  for (const part of spec.split(",").map((p) => p.trim())) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new InvalidArgumentError(`--seeds: '${part}' is not a seed or a range like 0-3`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw new InvalidArgumentError(`--seeds: range '${part}' runs backwards`);
    for (let s = a; s <= b; s++) if (!seeds.includes(s)) seeds.push(s);
  }
  return seeds;
}

export interface SweepRun {
  name: string;
  dir: string;
  dataset: ResolvedDataset;
  envId: string;
  seed: number;
  /** `clap-rl train` arguments of this run. */
  args: string[];
}

export type SweepOutcome = "done" | "skipped" | "failed" | "stopped";

interface SweepFlags extends Omit<GridSpec, "datasets" | "seeds"> {
  datasets?: string;
  seeds?: number[];
  jobs: number;
  out: string;
  queue?: string;
}

/** Runs `args` as `clap-rl train` in a child process, its stdout and stderr appended to `logFile`. */
function runChild(args: string[], logFile: string): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolvePromise, reject) => {
    const log = createWriteStream(logFile, { flags: "a" });
    log.write(`\n# clap-rl ${args.join(" ")}  (${new Date().toISOString()})\n`);
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    child.on("error", (e) => {
      log.end();
      reject(e);
    });
    child.on("close", (code, signal) => log.end(() => resolvePromise({ code, signal })));
  });
}

const say = (line: string) => process.stdout.write(`${line}\n`);

function lastLine(file: string): string {
  const lines = readFileSync(file, "utf8").trim().split("\n");
  return lines[lines.length - 1] ?? "";
}

/** The finished run's final evaluation as a short text. */
export function finalScore(dir: string): string {
  const fe = (existingRun(dir)?.manifest.finalEval ?? {}) as Record<string, number>;
  if (fe.score_mean !== undefined) return `score ${fe.score_mean.toFixed(1)} ± ${(fe.score_std ?? 0).toFixed(1)}`;
  if (fe.return_mean !== undefined) return `return ${fe.return_mean.toFixed(1)} ± ${(fe.return_std ?? 0).toFixed(1)}`;
  return "no final evaluation";
}

/**
 * Runs a grid of `clap-rl train` children, `jobs` at a time: a run whose manifest says "done" is skipped, any other
 * is started (train continues an unfinished run with the same request). One status line per run event through
 * `say`; Ctrl-C reaches the children, which checkpoint and stop, and no new run starts. Returns each started or
 * skipped run's outcome (runs not started are absent).
 */
export async function runGrid(runs: SweepRun[], o: { jobs: number; logs: string; say: (line: string) => void }): Promise<Map<string, SweepOutcome>> {
  const { say, logs } = o;
  const total = runs.length;
  const outcomes = new Map<string, SweepOutcome>();
  let next = 0;
  let finished = 0;
  // Ctrl-C also reaches the children, which checkpoint and stop; the sweep waits for them and starts no new run.
  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
    say("sweep: interrupt: waiting for the running runs to save a checkpoint and stop");
  };
  process.on("SIGINT", onSigint);
  const worker = async (): Promise<void> => {
    while (next < runs.length && !interrupted) {
      const run = runs[next++];
      const prev = existingRun(run.dir);
      if (prev?.manifest.status === "done") {
        outcomes.set(run.name, "skipped");
        say(`[${++finished}/${total}] skip   ${run.name}: already finished (${finalScore(run.dir)})`);
        continue;
      }
      const logFile = join(logs, `${run.name}.log`);
      say(`[start ] ${run.name}${prev ? " (continuing)" : ""}; log ${logFile}`);
      const t0 = Date.now();
      const r = await runChild(run.args, logFile);
      const took = formatDuration((Date.now() - t0) / 1000);
      const status = existingRun(run.dir)?.manifest.status;
      if (r.code === 0 && status === "done") {
        outcomes.set(run.name, "done");
        say(`[${++finished}/${total}] done   ${run.name}: ${finalScore(run.dir)} (${took})`);
      } else if ((r.code === 0 || r.code === INTERRUPTED_EXIT) && status === "stopped") {
        outcomes.set(run.name, "stopped");
        say(`[${++finished}/${total}] stopped ${run.name} after ${took}; re-run the sweep to continue it`);
      } else {
        outcomes.set(run.name, "failed");
        const why = r.signal ? `killed by ${r.signal}` : `exit code ${r.code}`;
        say(`[${++finished}/${total}] FAILED ${run.name} (${why}, ${took}): ${lastLine(logFile)}`);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(o.jobs, runs.length) }, worker));
  } finally {
    process.removeListener("SIGINT", onSigint);
  }

  return outcomes;
}

/** What makes a grid: datasets × seeds of one algorithm with one preset and one set of overrides. */
export interface GridSpec {
  datasets: string;
  seeds: number[];
  algo: string;
  preset?: string;
  set: string[];
  env?: string;
  datasetSize?: number;
  policyDir?: string;
}

/** One cell of a grid: its run name and its `clap-rl train` arguments but --out (the local pool or a worker picks the folder). */
export interface GridRun {
  name: string;
  dataset: ResolvedDataset;
  envId: string;
  seed: number;
  train: string[];
}

/**
 * The runs of a grid, for the local pool and the queue alike. The algorithm, preset and overrides are checked once here
 * instead of failing in every run; datasets are resolved (registered ones made) one at a time, so two runs never make
 * the same file at once.
 */
export async function buildGrid(f: GridSpec): Promise<GridRun[]> {
  algorithm(f.algo);
  const names = f.datasets.split(",").map((d) => d.trim()).filter((d) => d !== "");
  if (names.length === 0) throw new UserError("--datasets: give at least one dataset name or path");
  if (f.seeds.length === 0) throw new UserError("--seeds: no seeds");
  const config = buildRunConfig(f.algo, { preset: f.preset, sets: f.set });
  if (f.env !== undefined) envInfo(f.env);
  const progress = createProgress();
  const runs: GridRun[] = [];
  for (const arg of names) {
    const dataset = await resolveDataset(arg, { size: f.datasetSize, policyDir: f.policyDir, progress });
    const envId = f.env ?? dataset.envId;
    if (!envId) throw new UserError(`--datasets '${arg}': pass --env <id> (the dataset does not imply an environment)`);
    for (const seed of f.seeds) {
      const train = ["train", "--dataset", resolve(dataset.path), "--env", envId, "--algo", f.algo, "--seed", String(seed)];
      if (f.preset !== undefined) train.push("--preset", f.preset);
      for (const s of f.set) train.push("--set", s);
      runs.push({ name: `${dataset.name}-${f.algo}-${config.preset}-s${seed}`, dataset, envId, seed, train });
    }
  }
  return runs;
}

async function sweepCommand(f: SweepFlags, cmd: Command): Promise<void> {
  // Not required options: `sweep status` and `sweep report` go without them.
  if (f.datasets === undefined) throw new UserError("sweep: missing --datasets <list> (comma-separated dataset names or paths)");
  if (f.seeds === undefined) throw new UserError("sweep: missing --seeds <list> (a range 0-3, a list 0,2,5, or both)");
  const spec = { ...f, datasets: f.datasets, seeds: f.seeds };
  if (f.queue !== undefined) {
    const local = (["jobs", "out"] as const).filter((o) => cmd.getOptionValueSource(o) === "cli");
    if (local.length > 0) throw new UserError(`sweep --queue: ${local.map((o) => `--${o}`).join(" and ")} belong to the local pool; with a queue each worker's --concurrency and --runs decide`);
    await enqueueGrid(f.queue, () => buildGrid(spec), say);
    return;
  }
  const grid = await buildGrid(spec);
  const out = resolve(f.out);
  const logs = join(out, "logs");
  mkdirSync(logs, { recursive: true });
  const runs: SweepRun[] = grid.map(({ train, ...g }) => ({ ...g, dir: join(out, g.name), args: [...train, "--out", join(out, g.name)] }));
  const total = runs.length;
  say(`sweep: ${total} runs (${total / f.seeds.length} dataset(s) × ${f.seeds.length} seed(s)), ${f.jobs} at a time, in ${out}`);

  const outcomes = await runGrid(runs, { jobs: f.jobs, logs, say });

  const withRuns = runs.filter((r) => existsSync(join(r.dir, "manifest.json"))).map((r) => r.dir);
  const { runs: data, problems } = readRuns(withRuns);
  for (const p of problems) say(`sweep: not in the comparison: ${p.dir}: ${p.message}`);
  if (data.length > 0) {
    const file = join(out, "comparison.html");
    writeComparison(data, file);
    say(`comparison: ${file}`);
  }
  const failed = [...outcomes.values()].filter((o) => o === "failed").length;
  const counts = (["done", "skipped", "stopped", "failed"] as const).map((o) => `${[...outcomes.values()].filter((x) => x === o).length} ${o}`).join(", ");
  const notStarted = total - outcomes.size;
  say(`sweep: ${counts}${notStarted > 0 ? `, ${notStarted} not started (re-run the sweep to continue)` : ""}`);
  if (failed > 0) throw new UserError(`${failed} of ${total} runs failed; their logs are in ${logs}`, 1);
}

export function registerSweepCommand(program: Command): void {
  const sweep = program
    .command("sweep")
    .description(
      "Train a grid of runs (datasets × seeds) in a local process pool, or add it to a queue for `clap-rl worker`s on other machines (--queue); skips finished runs, continues unfinished ones, writes comparison.html",
    )
    .option("--datasets <list>", "comma-separated dataset names or paths (as train --dataset); required")
    .option("--seeds <list>", "seeds: a range 0-3, a list 0,2,5, or both; required", parseSeeds)
    .option("--algo <name>", `algorithm: ${ALGORITHM_NAMES.join(", ")}`, DEFAULT_ALGORITHM)
    .option("--preset <name>", "config preset: tiny, small (default), full")
    .option("--set <key=value>", "config override for every run (repeatable)", collect, [])
    .option("--jobs <n>", "runs at a time (each is one process)", positiveInt("--jobs"), 1)
    .option("--out <dir>", "sweep directory: one run directory per grid cell, logs/, comparison.html", "runs/sweep")
    .option("--env <id>", "environment for datasets given as paths (registered names imply theirs)")
    .option("--dataset-size <n>", "rows of registered datasets made on demand", positiveInt("--dataset-size"))
    .option("--policy-dir <dir>", "behaviour policies for making registered datasets")
    .option("--queue <url>", "Redis queue (redis://host:port/db): add the grid there for workers instead of running it (docs/distributed.md); also for sweep status and sweep report")
    .action(async (f: SweepFlags, cmd: Command) => sweepCommand(f, cmd));
  // --queue is the sweep command's option (Commander gives it to the parent even after the subcommand's name).
  const queueOf = (cmd: Command): string => {
    const url = (cmd.parent?.opts() as { queue?: string }).queue;
    if (url === undefined) throw new UserError(`sweep ${cmd.name()}: missing --queue <url> (the Redis address the grid was queued at)`);
    return url;
  };
  sweep
    .command("status")
    .description("The queued grid (with --queue): waiting, running (where, which step), done, failed with its reason")
    .action(async (_f: object, cmd: Command) => queueStatus(queueOf(cmd), say));
  sweep
    .command("report")
    .description("Write <runs>/comparison.html over the queued grid's runs (with --queue)")
    .requiredOption("--runs <dir>", "the run folder the workers share (their --runs)")
    .action(async (f: { runs: string }, cmd: Command) => queueReport(queueOf(cmd), f.runs, say));
}
