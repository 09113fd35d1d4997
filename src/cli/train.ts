/**
 * `clap-rl train` and `clap-rl eval`.
 *
 *   clap-rl train --dataset <name|path> [--env <id>] [--algo NAME] [--preset small] [--seed N] [--out DIR]
 *                 [--set k=v]... [--config FILE] [--model-from DIR] [--resume | --force] [--dataset-size N]
 *                 [--policy-dir DIR] [--quiet]
 *   clap-rl eval  --run DIR [--episodes N] [--seed N] [--workers N] [--stochastic] [--reference NAME | --prior] [--json]
 *
 * --dataset takes a file or folder (D4RL .hdf5, Minari, V-D4RL) or a registered name: `clap:hopper/medium`
 * (`-regen1` optional) or its short form `hopper-medium`. A registered dataset that is not made yet is made
 * first (into $CLAP_RL_HOME/datasets), and its name implies --env.
 *
 * Run directories and re-runs: `train` with an --out that already holds a run
 *   - with the same request (config, dataset, env, --model-from) continues it from its last checkpoint (or, when
 *     it was killed before its first checkpoint, starts it again), and only reports when it is already finished;
 *   - with a different request fails with one line naming the first difference: --force deletes that run's files
 *     and starts over, --resume continues the saved run with its saved config whatever the flags say.
 * Every finished run writes report.html. Progress goes to stderr: bars on a terminal, plain lines otherwise.
 * Ctrl-C during training saves a checkpoint and stops; re-running the same command continues it.
 */
import { InvalidArgumentError, type Command } from "commander";
import { existsSync, lstatSync, readFileSync } from "node:fs";
import { isDeepStrictEqual } from "node:util";
import { basename, join, resolve } from "node:path";
import { UserError } from "../errors.js";
import type { CommonConfig } from "../config/schema.js";
import { ALGORITHM_NAMES, DEFAULT_ALGORITHM, algorithm, buildRunConfig, loadCheckpoint, resolveRunConfig } from "../algorithms/registry.js";
import { detectFormat, loadDataset } from "../data/load.js";
import { formatIssue } from "../data/issues.js";
import { splitAtFor } from "../data/validate.js";
import type { EpisodeStore } from "../data/store.js";
import { envInfo } from "../envs/registry.js";
import { evaluate } from "../eval/evaluate.js";
import { registryEvaluator, reportRun, train, type TrainResult } from "../training/trainer.js";
import { checkNewRunDir, clearRun, existingRun } from "../training/run-dir.js";
import { readJson, resolveCheckpointDir } from "../algorithms/checkpoint.js";
import { initEngine } from "../engine/tf.js";
import { makeDataset, type DatasetCard } from "../regen/generate.js";
import { policiesNeeded, readPolicyCard } from "../regen/policies.js";
import { cardPathFor, datasetPath, defaultSize, knownDatasetIds, LOCOMOTION_ENVS, parseDatasetName, VARIANTS, type DatasetName } from "../data/registry.js";
import { REPORT_FILE } from "../report/run-report.js";
import { createProgress, type Progress, type ProgressTask } from "../util/progress.js";

export function nonNegativeInt(flag: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`${flag} must be a non-negative integer`);
    return n;
  };
}

export function positiveInt(flag: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`${flag} must be a positive integer`);
    return n;
  };
}

export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** The dataset's name for ε and discount derivation and run naming: the file or folder name without extensions. */
export function datasetNameOf(path: string): string {
  return basename(resolve(path)).replace(/\.(hdf5|h5|npz|zip)$/i, "");
}

/** A --dataset argument made concrete: the file to load, its name, and what a registered name implies. */
export interface ResolvedDataset {
  path: string;
  /** File name without extension (ε derivation, run names, the comparison tables). */
  name: string;
  /** The registered dataset, when the argument named one. */
  registered: DatasetName | null;
  /** The environment the name implies (registered datasets), else null. */
  envId: string | null;
  /** The dataset card (rows, episodes, the behaviour data's own average normalised score), for registered ones. */
  card: DatasetCard | null;
}

/** `clap:<env>/<variant>[-regenK]` or the short `<env>-<variant>`; null when `arg` is neither form. */
export function registeredName(arg: string): DatasetName | null {
  if (arg.startsWith("clap:")) return parseDatasetName(arg);
  const m = /^([a-z0-9]+)-([a-z-]+)$/.exec(arg);
  // Environment names hold no '-', so the split is unambiguous: hopper-medium-replay is (hopper, medium-replay).
  if (m && (LOCOMOTION_ENVS as readonly string[]).includes(m[1]) && (VARIANTS as readonly string[]).includes(m[2])) return parseDatasetName(`clap:${m[1]}/${m[2]}`);
  return null;
}

export interface DatasetMakeOptions {
  /** Rows of a dataset made on demand (default: the registry's default size for the variant). */
  size?: number;
  seed?: number;
  /** Folder of the behaviour policies (default: the package's assets/policies). */
  policyDir?: string;
  progress: Progress;
}

/**
 * Bridges generate.ts's plain progress lines ("dataset make: medium 2000/100000 rows (2%)") into a progress
 * task; generate.ts reports through a line callback only, so the numbers are read back from the line.
 */
export function datasetMakeLog(progress: Progress): { log: (line: string) => void; done: () => void } {
  let task: ProgressTask | null = null;
  let label = "";
  const done = () => {
    task?.finish();
    task = null;
  };
  return {
    log(line) {
      const m = /^dataset make: (\S+) (\d+)\/(\d+) rows/.exec(line);
      if (!m) {
        done();
        progress.log(line);
        return;
      }
      if (task === null || label !== m[1]) {
        done();
        label = m[1];
        task = progress.task(`dataset ${label}`, Number(m[3]), { unit: "rows" });
      }
      task.update(Number(m[2]), `${m[2]} rows`);
    },
    done,
  };
}

/** The behaviour policies a variant is collected with (docs/design/datasets.md §6.2). */
/** A registered dataset's file, made now (with progress) when it is not there yet. */
export async function ensureRegisteredDataset(name: DatasetName, o: DatasetMakeOptions): Promise<ResolvedDataset> {
  const size = o.size ?? defaultSize(name.variant) ?? undefined;
  const seed = o.seed ?? 0;
  const path = datasetPath(name, size ?? null, seed);
  if (!existsSync(path) || !existsSync(cardPathFor(path))) {
    // Named before anything is printed, so a missing policy is the one line the user sees.
    for (const v of policiesNeeded(name.variant)) readPolicyCard(name.env, v, o.policyDir);
    o.progress.log(`making ${name.id}${size !== undefined ? ` (${size} rows)` : ""} into ${path}`);
    await initEngine();
    const bridge = datasetMakeLog(o.progress);
    try {
      await makeDataset(name, { size, seed, policyDir: o.policyDir, log: bridge.log });
    } finally {
      bridge.done();
    }
  }
  const card = JSON.parse(readFileSync(cardPathFor(path), "utf8")) as DatasetCard;
  return { path, name: datasetNameOf(path), registered: name, envId: name.env, card };
}

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Resolves --dataset: an existing path first, then a registered name (made on demand); else one UserError line. */
export async function resolveDataset(arg: string, o: DatasetMakeOptions): Promise<ResolvedDataset> {
  if (existsSync(arg) || isSymlink(arg)) {
    // The file is checked (readable, a dataset format) before anything derived from its name, such as agent.epsilon.
    detectFormat(arg);
    return { path: arg, name: datasetNameOf(arg), registered: null, envId: null, card: null };
  }
  const looksLikePath = arg.includes("/") && !arg.startsWith("clap:") || arg.includes("\\") || /\.\w+$/.test(arg);
  if (looksLikePath) throw new UserError(`--dataset '${arg}': no such file or folder`);
  const name = registeredName(arg);
  if (name === null) {
    const known = knownDatasetIds().map((id) => id.replace(/-regen\d+$/, ""));
    throw new UserError(`--dataset '${arg}': not a file or folder nor a known dataset; known names: ${known.join(", ")} (or short forms such as hopper-medium)`);
  }
  return ensureRegisteredDataset(name, o);
}

function openDataset(path: string, config: CommonConfig, envId: string): Promise<EpisodeStore> {
  const splitAt = config.data.splitAt === "auto" ? splitAtFor(envId) : config.data.splitAt;
  return loadDataset(path, { splitAt, rewardTransform: config.data.rewardTransform });
}

/** The first key path where two JSON-like values differ, for the "different run" message. */
function firstDifference(a: unknown, b: unknown, path = ""): string | null {
  if (isDeepStrictEqual(a, b)) return null;
  if (a && b && typeof a === "object" && typeof b === "object" && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    for (const k of keys) {
      const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k);
      if (d !== null) return d;
    }
  }
  const show = (v: unknown) => (v === undefined ? "(none)" : JSON.stringify(v));
  return `${path || "(whole request)"}: ${show(b)} there, ${show(a)} now`;
}

/** One training job of `train`, `quickstart` and `sweep`. */
export interface TrainJob {
  dataset: ResolvedDataset;
  envId: string;
  /** The config asked for (built from preset/file/--set/--seed, not yet resolved); ignored with mode "resume". */
  config: CommonConfig | null;
  outDir?: string;
  modelFrom?: string;
  /** auto: continue the same run, refuse a different one; resume: continue as saved; force: replace. */
  mode: "auto" | "resume" | "force";
  progress: Progress;
  commandLine: string[];
  /** Checked after every step; true saves a checkpoint and stops (Ctrl-C). */
  shouldStop?: () => boolean;
}

export interface TrainJobResult extends TrainResult {
  /** The run was finished before this call (nothing trained). */
  alreadyDone: boolean;
  resumed: boolean;
  reportPath: string | null;
  config: CommonConfig;
}

export async function runTrainJob(job: TrainJob): Promise<TrainJobResult> {
  const env = envInfo(job.envId);
  const { dataset, progress } = job;
  let config: CommonConfig;
  if (job.mode === "resume") {
    if (!job.outDir) throw new UserError("--resume needs --out <run directory>");
    const prev = existingRun(job.outDir);
    if (!prev) throw new UserError(`--resume: no run to resume in '${job.outDir}' (no manifest.json)`);
    config = loadCheckpoint(job.outDir, "resume").config;
  } else {
    if (!job.config) throw new UserError("train: no config given");
    config = resolveRunConfig(job.config, dataset.name);
  }
  const outDir = job.outDir ?? join("runs", `${dataset.name}-${config.algo}-${config.preset}-s${config.seed}`);
  const request = { algo: config.algo, config, dataset: resolve(dataset.path), env: env.id, modelFrom: job.modelFrom ? resolve(job.modelFrom) : null };

  let resume = job.mode === "resume";
  const prev = existingRun(outDir);
  if (prev && job.mode === "force") {
    progress.log(`--force: removing the run in ${prev.dir}`);
    clearRun(outDir);
  } else if (prev && job.mode === "auto") {
    const diff = prev.manifest.request === undefined || prev.manifest.request === null ? "it records no request (made by an older clap-rl)" : firstDifference(request, prev.manifest.request);
    if (diff !== null) {
      throw new UserError(`'${prev.dir}' holds a different run (${diff}); pass --resume to continue that run, --force to replace it, or choose another --out`);
    }
    if (prev.manifest.status !== "done" && !prev.hasCheckpoint) {
      progress.log(`${prev.dir}: the earlier run stopped before its first checkpoint; starting it again`);
      clearRun(outDir);
    } else {
      resume = true;
    }
  }
  // A new run (any earlier one was cleared above): checked here as well as in train(), so a bad --out fails before
  // the dataset is loaded.
  if (!resume) checkNewRunDir(outDir);
  const again = resume ? existingRun(outDir) : null;
  if (again?.manifest.status === "done") {
    progress.log(`${again.dir}: this run is already finished`);
    const reportPath = again.reported ? join(again.dir, REPORT_FILE) : await reportRun(again.dir, progress);
    const state = loadCheckpoint(outDir).state;
    return {
      runDir: again.dir,
      status: "done",
      modelStep: state.modelStep,
      agentStep: state.agentStep,
      finalEval: again.manifest.finalEval as Record<string, number> | undefined,
      alreadyDone: true,
      resumed: true,
      reportPath,
      config,
    };
  }

  const store = await openDataset(dataset.path, config, env.id);
  for (const w of store.warnings) progress.log(`warning: ${formatIssue(w)}`);
  const obsSize = env.obsShape.reduce((a, b) => a * b, 1);
  if (store.obsSize !== obsSize || store.actDim !== env.actionDim) {
    throw new UserError(
      `--dataset ${dataset.path} has observations of ${store.obsSize} values and ${store.actDim} actions; environment '${env.id}' has ${obsSize} and ${env.actionDim}`,
    );
  }
  progress.log(
    `clap-rl train: ${dataset.name} (${store.counts.episodes} episodes, ${store.counts.transitions} transitions) on ${env.id}, ${config.algo}, preset ${config.preset}, seed ${config.seed}, run ${outDir}${resume ? " (continuing)" : ""}`,
  );
  const result = await train({
    outDir,
    config,
    store,
    dataset: { name: dataset.name, path: dataset.path },
    envId: env.id,
    evaluate: registryEvaluator(env.id, { workers: config.eval.workers, maxSteps: config.eval.maxSteps }),
    modelFrom: job.modelFrom,
    resume,
    progress,
    shouldStop: job.shouldStop,
    commandLine: job.commandLine,
    request,
  });
  const reportPath = result.status === "done" && existsSync(join(result.runDir, REPORT_FILE)) ? join(result.runDir, REPORT_FILE) : null;
  return { ...result, alreadyDone: false, resumed: resume, reportPath, config };
}

/** The exit code of a run stopped by Ctrl-C after saving its checkpoint: 128 + SIGINT, as shells expect. */
export const INTERRUPTED_EXIT = 130;

/**
 * Runs `fn` with Ctrl-C turned into "save a checkpoint after this step and stop". A run started by `clap-rl worker`
 * has an IPC channel to it; when that closes, the worker is gone (kill -9, lost machine) and BullMQ will hand the job
 * to another worker, so the run stops the same way instead of training on beside the one that resumes it.
 */
export async function withInterrupt<T>(progress: Progress, fn: (shouldStop: () => boolean) => Promise<T>): Promise<T> {
  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
    progress.log("interrupt: saving a checkpoint after this step…");
  };
  const onOrphaned = () => {
    interrupted = true;
    progress.log("the worker that started this run is gone: saving a checkpoint after this step…");
  };
  process.once("SIGINT", onSigint);
  if (process.channel) process.once("disconnect", onOrphaned);
  try {
    return await fn(() => interrupted);
  } finally {
    process.removeListener("SIGINT", onSigint);
    process.removeListener("disconnect", onOrphaned);
    progress.close();
  }
}

/** The command line as the user would type it, for the manifest. */
export function commandLineOf(cmd: Command): string[] {
  let root = cmd;
  while (root.parent) root = root.parent;
  // Commander keeps the parsed argv on the root command (not in its typings); with parse({from: "user"}) it holds
  // exactly the user's arguments.
  return ["clap-rl", ...(root as unknown as { rawArgs: string[] }).rawArgs];
}

interface TrainFlags {
  dataset?: string;
  env?: string;
  algo: string;
  preset?: string;
  seed?: number;
  out?: string;
  set: string[];
  config?: string;
  modelFrom?: string;
  resume?: boolean;
  force?: boolean;
  datasetSize?: number;
  policyDir?: string;
  quiet?: boolean;
}

async function trainCommand(f: TrainFlags, cmd: Command): Promise<void> {
  algorithm(f.algo);
  if (f.resume && f.force) throw new UserError("--resume and --force exclude each other");
  if (f.resume) {
    if (!f.out) throw new UserError("--resume needs --out <run directory>");
    if (f.preset !== undefined || f.config !== undefined || f.set.length > 0 || f.seed !== undefined || f.modelFrom !== undefined) {
      throw new UserError("--resume continues a run with its saved config; --preset, --config, --set, --seed and --model-from cannot be combined with it");
    }
  }
  const manifestPath = f.out ? join(f.out, "manifest.json") : "";
  const manifest = f.resume && existsSync(manifestPath) ? (readJson(manifestPath) as { dataset?: { path?: string }; env?: string | null }) : null;
  if (f.resume && !manifest) throw new UserError(`--resume: no run to resume in '${f.out}' (no manifest.json)`);
  const datasetArg = f.dataset ?? manifest?.dataset?.path;
  if (!datasetArg) throw new UserError("missing --dataset <name|path>");
  // Config errors are reported before a dataset is made or loaded.
  const config = f.resume ? null : buildRunConfig(f.algo, { preset: f.preset, file: f.config, sets: f.set, seed: f.seed });
  if (f.env !== undefined) envInfo(f.env);
  const progress = createProgress({ quiet: f.quiet });
  const dataset = await resolveDataset(datasetArg, { size: f.datasetSize, policyDir: f.policyDir, progress });
  const envId = f.env ?? manifest?.env ?? dataset.envId;
  if (!envId) throw new UserError(`missing --env <id> (the dataset '${datasetArg}' does not imply one)`);
  const say = (line: string) => progress.log(line);
  const r = await withInterrupt(progress, (shouldStop) =>
    runTrainJob({
      dataset,
      envId,
      config,
      outDir: f.out,
      modelFrom: f.modelFrom,
      mode: f.resume ? "resume" : f.force ? "force" : "auto",
      progress,
      commandLine: commandLineOf(cmd),
      shouldStop,
    }),
  );
  if (r.status === "stopped") {
    say(`stopped at model step ${r.modelStep}, agent step ${r.agentStep}; continue with the same command (or: clap-rl train --out ${r.runDir} --resume)`);
    process.exitCode = INTERRUPTED_EXIT;
    return;
  }
  const fe = r.finalEval;
  const score = fe?.score_mean !== undefined ? `, normalised score ${fe.score_mean.toFixed(1)}` : "";
  say(`done: ${r.runDir}${fe?.return_mean !== undefined ? ` (final return ${fe.return_mean.toFixed(1)}${score})` : ""}${r.reportPath ? `; report ${r.reportPath}` : ""}`);
}

interface EvalFlags {
  run: string;
  episodes?: number;
  seed: number;
  workers?: number;
  stochastic?: boolean;
  reference?: string;
  prior?: boolean;
  json?: boolean;
}

async function evalCommand(f: EvalFlags): Promise<void> {
  const dir = resolveCheckpointDir(f.run);
  const ckpt = loadCheckpoint(dir);
  const manifestPath = join(f.run, "manifest.json");
  const manifest = existsSync(manifestPath) ? (readJson(manifestPath) as { env?: string | null }) : null;
  const envId = manifest?.env;
  if (!envId) throw new UserError(`--run ${f.run}: no environment recorded in manifest.json`);
  if (ckpt.state.phase !== "done" && !f.json) process.stderr.write(`note: ${dir} is an unfinished run (phase ${ckpt.state.phase}, agent step ${ckpt.state.agentStep})\n`);
  const episodes = f.episodes ?? ckpt.config.eval.finalEpisodes ?? 10;
  if (episodes < 1) throw new UserError("--episodes must be at least 1");
  const plugin = algorithm(ckpt.config.algo);
  const reference = f.reference ?? (f.prior ? "prior" : undefined);
  let spec = plugin.policySpec(resolve(dir), { stochastic: f.stochastic });
  if (reference !== undefined) {
    const refs = plugin.referencePolicies(ckpt.config, resolve(dir));
    if (!Object.hasOwn(refs, reference)) {
      const names = Object.keys(refs);
      throw new UserError(`--reference ${reference}: ${dir} (${plugin.name}) has ${names.length ? `the reference policies ${names.join(", ")}` : "no reference policies"}`);
    }
    spec = refs[reference];
  }
  const r = await evaluate(spec, envId, { episodes, seed: f.seed, workers: f.workers ?? ckpt.config.eval.workers });
  const out = {
    run: resolve(f.run),
    checkpoint: resolve(dir),
    env: envId,
    agentStep: ckpt.state.agentStep,
    seed: f.seed,
    episodes,
    stochastic: f.stochastic ?? ckpt.config.eval.stochastic,
    policy: reference ?? "trained",
    returns: r.returns,
    lengths: r.lengths,
    returnMean: r.returnMean,
    returnStd: r.returnStd,
    normalizedScores: r.normalizedScores,
    normalizedMean: r.normalizedMean,
    normalizedStd: r.normalizedStd,
    successRate: r.successRate,
  };
  if (f.json) {
    process.stdout.write(JSON.stringify(out, null, 2) + "\n");
    return;
  }
  const lines = [
    `run ${out.run} (${reference !== undefined ? `reference policy '${reference}'` : `agent step ${out.agentStep}`}) on ${envId}: ${episodes} episodes, seed ${f.seed}`,
    `return ${r.returnMean.toFixed(2)} ± ${r.returnStd.toFixed(2)}, length ${r.lengthMean.toFixed(1)}`,
  ];
  if (r.normalizedMean !== null) lines.push(`normalised score ${r.normalizedMean.toFixed(1)} ± ${(r.normalizedStd ?? 0).toFixed(1)}`);
  if (r.successRate !== null) lines.push(`success rate ${(100 * r.successRate).toFixed(1)}%`);
  process.stdout.write(lines.join("\n") + "\n");
}

export function registerTrainCommands(program: Command): void {
  program
    .command("train")
    .description(`Train an offline RL algorithm (${ALGORITHM_NAMES.map((n) => `${n}: ${algorithm(n).summary}`).join("; ")})`)
    .option("--dataset <name|path>", "registered dataset (clap:hopper/medium, hopper-medium; made on demand) or a file/folder (D4RL .hdf5, Minari, V-D4RL)")
    .option("--env <id>", "environment for evaluation (see `clap-rl env list`; default: the one a registered dataset implies)")
    .option("--algo <name>", `algorithm: ${ALGORITHM_NAMES.join(", ")}`, DEFAULT_ALGORITHM)
    .option("--preset <name>", "config preset of the algorithm: tiny, small (default), full")
    .option("--seed <n>", "run seed", nonNegativeInt("--seed"))
    .option("--out <dir>", "run directory (default runs/<dataset>-<algo>-<preset>-s<seed>)")
    .option("--set <key=value>", "override one config value, e.g. --set agent.epsilon=2 (repeatable)", collect, [])
    .option("--config <file>", "JSON config file (partial configs are merged into the preset)")
    .option("--model-from <dir>", "reuse the trained model of another run (or model checkpoint) and skip phase 1")
    .option("--resume", "continue the run in --out from its latest checkpoint with its saved config")
    .option("--force", "replace a different run that --out already holds (its files are deleted)")
    .option("--dataset-size <n>", "rows of a registered dataset made on demand (default: the registry's size)", positiveInt("--dataset-size"))
    .option("--policy-dir <dir>", "behaviour policies for making a registered dataset (default: the package's assets/policies)")
    .option("--quiet", "no progress output")
    .action(async (f: TrainFlags, cmd: Command) => trainCommand(f, cmd));

  program
    .command("eval")
    .description("Evaluate a trained run's policy (deterministic unless --stochastic)")
    .requiredOption("--run <dir>", "run directory or checkpoint directory")
    .option("--episodes <n>", "episodes (default: the run's eval.finalEpisodes)", nonNegativeInt("--episodes"))
    .option("--seed <n>", "evaluation seed", nonNegativeInt("--seed"), 0)
    .option("--workers <n>", "worker threads (0 = in this thread; default: the run's eval.workers)", nonNegativeInt("--workers"))
    .option("--stochastic", "sample the policy instead of taking its mode")
    .option("--reference <name>", "play one of the algorithm's reference policies instead of the trained one (C-LAP: prior)")
    .option("--prior", "short for --reference prior (the latent action prior's mean, decoded: the jump-start's reference)")
    .option("--json", "print the result as JSON")
    .action(async (f: EvalFlags) => evalCommand(f));
}
