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
 */
import { spawn } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { InvalidArgumentError, type Command } from "commander";
import { UserError } from "../errors.js";
import { algorithm, buildRunConfig } from "../algorithms/registry.js";
import { envInfo } from "../envs/registry.js";
import { existingRun } from "../training/run-dir.js";
import { readRuns, writeComparison } from "../report/compare.js";
import { createProgress, formatDuration } from "../util/progress.js";
import { collect, INTERRUPTED_EXIT, nonNegativeInt, resolveDataset, type ResolvedDataset } from "./train.js";

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

function positiveInt(flag: string) {
  const parse = nonNegativeInt(flag);
  return (v: string): number => {
    const n = parse(v);
    if (n < 1) throw new InvalidArgumentError(`${flag} must be at least 1`);
    return n;
  };
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

interface SweepFlags {
  datasets: string;
  seeds: number[];
  algo: string;
  preset?: string;
  set: string[];
  jobs: number;
  out: string;
  env?: string;
  datasetSize?: number;
  policyDir?: string;
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

function lastLine(file: string): string {
  const lines = readFileSync(file, "utf8").trim().split("\n");
  return lines[lines.length - 1] ?? "";
}

function finalScore(dir: string): string {
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

async function sweepCommand(f: SweepFlags): Promise<void> {
  algorithm(f.algo);
  const names = f.datasets.split(",").map((d) => d.trim()).filter((d) => d !== "");
  if (names.length === 0) throw new UserError("--datasets: give at least one dataset name or path");
  if (f.seeds.length === 0) throw new UserError("--seeds: no seeds");
  // A bad --set or --preset fails here once instead of in every child.
  const config = buildRunConfig(f.algo, { preset: f.preset, sets: f.set });
  if (f.env !== undefined) envInfo(f.env);
  const out = resolve(f.out);
  const logs = join(out, "logs");
  mkdirSync(logs, { recursive: true });
  const progress = createProgress();
  const runs: SweepRun[] = [];
  for (const arg of names) {
    const dataset = await resolveDataset(arg, { size: f.datasetSize, policyDir: f.policyDir, progress });
    const envId = f.env ?? dataset.envId;
    if (!envId) throw new UserError(`--datasets '${arg}': pass --env <id> (the dataset does not imply an environment)`);
    for (const seed of f.seeds) {
      const name = `${dataset.name}-${f.algo}-${config.preset}-s${seed}`;
      const dir = join(out, name);
      const args = ["train", "--dataset", resolve(dataset.path), "--env", envId, "--algo", f.algo, "--seed", String(seed), "--out", dir];
      if (f.preset !== undefined) args.push("--preset", f.preset);
      for (const s of f.set) args.push("--set", s);
      runs.push({ name, dir, dataset, envId, seed, args });
    }
  }
  const total = runs.length;
  const say = (line: string) => process.stdout.write(`${line}\n`);
  say(`sweep: ${total} runs (${names.length} dataset(s) × ${f.seeds.length} seed(s)), ${f.jobs} at a time, in ${out}`);

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
  program
    .command("sweep")
    .description("Train a grid of runs (datasets × seeds) in a local process pool; skips finished runs, continues unfinished ones, writes comparison.html")
    .requiredOption("--datasets <list>", "comma-separated dataset names or paths (as train --dataset)")
    .requiredOption("--seeds <list>", "seeds: a range 0-3, a list 0,2,5, or both", parseSeeds)
    .option("--algo <name>", "algorithm", "clap")
    .option("--preset <name>", "config preset: tiny, small (default), full")
    .option("--set <key=value>", "config override for every run (repeatable)", collect, [])
    .option("--jobs <n>", "runs at a time (each is one process)", positiveInt("--jobs"), 1)
    .option("--out <dir>", "sweep directory: one run directory per grid cell, logs/, comparison.html", "runs/sweep")
    .option("--env <id>", "environment for datasets given as paths (registered names imply theirs)")
    .option("--dataset-size <n>", "rows of registered datasets made on demand", positiveInt("--dataset-size"))
    .option("--policy-dir <dir>", "behaviour policies for making registered datasets")
    .action(async (f: SweepFlags) => sweepCommand(f));
}
