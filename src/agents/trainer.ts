/**
 * The one training loop (method spec §9) for every algorithm: phase 1 trains the model on dataset windows, phase 2
 * trains the agent against the frozen model, evaluating every `eval.every` agent steps and once at the end.
 *
 * Run directory:
 *   config.json     the resolved config          manifest.json   versions, seed, dataset, command, times, model used
 *   metrics.jsonl   one JSON line per logged step ({phase, step, …scalars}) and per evaluation
 *   model/          the trained model after phase 1 (reusable with --model-from)
 *   checkpoint/     the latest full checkpoint (resume point; the final state when training is done)
 *   eval-policy/    parameters of the latest evaluated policy (what evaluation loads, in workers or in-process)
 *   report.html     the run report, written when the run finishes (a failure to write it is only a warning)
 *
 * Randomness: one stream per purpose split from the run seed — "init" (parameters), "data" (window sampling),
 * "model-noise" and "imagination" (inside the algorithm), "eval" (evaluation seeds), "diagnostics" (the fixed
 * dataset batch). Resuming restores every stream, the optimiser moments and the step counters, so the losses after
 * a resume equal those of an uninterrupted run.
 */
import { appendFileSync, createReadStream, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { initEngine, tf } from "../engine/tf.js";
import { blasStatus } from "../engine/blas.js";
import { Rng } from "../engine/rng.js";
import { UserError } from "../errors.js";
import { writeJsonAtomic } from "../util/atomic.js";
import type { ClapConfig } from "../config/schema.js";
import type { EpisodeStore, ObsStats } from "../data/store.js";
import { WindowSampler } from "../data/windows.js";
import { meanAbsReturnToGo } from "../data/episode.js";
import type { ModelDims } from "../models/latent-action-model.js";
import type { PolicySpec } from "../eval/policy.js";
import { evaluate, type EpisodeResult } from "../eval/evaluate.js";
import { ACTION_CHECK_CSV, ACTION_CHECK_FILE, REPORT_FILE, writeRunReport } from "../report/run-report.js";
import { REFERENCES_FILE } from "../report/references.js";
import { fmtNumber as fmt, fmtTerms, silentProgress, type Progress } from "../util/progress.js";
import type { Algorithm } from "./algorithm.js";
import { ClapAgent } from "./clap.js";
import { resolved } from "./clap-networks.js";
import { loadCheckpoint, readJson, saveCheckpoint, type Phase } from "./checkpoint.js";

const require = createRequire(import.meta.url);

export interface EvalSummary {
  returns: number[];
  lengths: number[];
  /** D4RL-style 0–100 scores when the environment has reference values. */
  scores?: number[] | null;
}

/**
 * Evaluates the policy that `spec` loads (the run's eval-policy/ folder) over `episodes` episodes with evaluate.ts's
 * per-episode seeds; `onEpisode` receives each finished episode (for progress).
 */
export type EvalFn = (spec: PolicySpec, opts: { episodes: number; seed: number; onEpisode?: (r: EpisodeResult) => void }) => Promise<EvalSummary>;

/**
 * Evaluation on a registered environment through `evaluate` (worker threads when `workers` > 0), episodes capped
 * at `maxSteps` (0: the environment's own limit). Normalised scores where the environment has references.
 */
export function registryEvaluator(envId: string, opts: { workers: number; maxSteps: number }): EvalFn {
  return async (spec, { episodes, seed, onEpisode }) => {
    const r = await evaluate(spec, envId, { episodes, seed, workers: opts.workers, maxSteps: opts.maxSteps, onEpisode });
    return { returns: r.returns, lengths: r.lengths, scores: r.normalizedScores };
  };
}

export interface TrainOptions {
  outDir: string;
  /** Resolved config (resolveConfig). Ignored with `resume`: the run's own config.json is used. */
  config: ClapConfig;
  store: EpisodeStore;
  dataset: { name: string; path: string };
  envId?: string;
  /** Evaluation of the current policy; null/undefined skips evaluation. */
  evaluate?: EvalFn | null;
  /** A run or checkpoint directory whose trained model replaces phase 1. */
  modelFrom?: string;
  resume?: boolean;
  /** Progress bars or lines (default: none). */
  progress?: Progress;
  /** Write report.html when the run finishes (default true). */
  report?: boolean;
  /**
   * What the caller asked for (flags, resolved config, dataset, env), kept in the manifest as `request` so that a
   * later `train` with the same --out can tell "continue this run" from "a different run".
   */
  request?: unknown;
  /** Asked after every step; true saves a checkpoint and returns (used for SIGINT and tests). */
  shouldStop?: (phase: Phase, step: number) => boolean;
  commandLine?: string[];
}

export interface TrainResult {
  runDir: string;
  status: "done" | "stopped";
  modelStep: number;
  agentStep: number;
  finalEval?: Record<string, number>;
}

/** Exit code 3: a loss became NaN/Inf (the run's data or settings, not a bug in the input flags). */
export class TrainingDiverged extends UserError {
  constructor(message: string) {
    super(message, 3);
  }
}

function createAlgorithm(config: ClapConfig, dims: ModelDims, rng: Rng): Algorithm {
  switch (config.algo) {
    case "clap":
      return new ClapAgent(config, dims, rng);
  }
}

function packageVersion(): string {
  try {
    return (require("../../../package.json") as { version: string }).version;
  } catch {
    return "unknown";
  }
}

/** SHA-256 of a dataset file when it is small enough to hash in a moment (≤ 512 MB); directories are skipped. */
async function cheapChecksum(path: string): Promise<string | null> {
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

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
}

function std(xs: number[]): number {
  const m = mean(xs);
  return Math.sqrt(mean(xs.map((x) => (x - m) ** 2)));
}

/** Keeps the metrics lines up to the checkpoint being resumed from, so a resumed run's log has no duplicates. */
function truncateMetrics(path: string, modelStep: number, agentStep: number): void {
  if (!existsSync(path)) return;
  const keep = readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => {
      if (!line.trim()) return false;
      try {
        const r = JSON.parse(line) as { phase?: string; step?: number };
        if (r.phase === "model") return (r.step ?? 0) <= modelStep;
        if (r.phase === "agent" || r.phase === "eval") return (r.step ?? 0) <= agentStep;
        return true;
      } catch {
        return false;
      }
    });
  writeFileSync(path, keep.length ? keep.join("\n") + "\n" : "");
}

/** The best evaluation in the metrics log (online selection, so optimistic; spec §14 reports it beside "last"). */
function bestEvaluation(metricsPath: string): Record<string, number> | null {
  let best: Record<string, number> | null = null;
  for (const line of readFileSync(metricsPath, "utf8").split("\n")) {
    if (!line.trim()) continue;
    const r = JSON.parse(line) as Record<string, number | string>;
    if (r.phase === "eval" && typeof r.return_mean === "number" && (!best || r.return_mean > best.return_mean)) best = r as Record<string, number>;
  }
  return best;
}

export async function train(opts: TrainOptions): Promise<TrainResult> {
  await initEngine();
  const runDir = resolve(opts.outDir);
  const ckptDir = join(runDir, "checkpoint");
  const modelDir = join(runDir, "model");
  const evalPolicyDir = join(runDir, "eval-policy");
  const metricsPath = join(runDir, "metrics.jsonl");
  const manifestPath = join(runDir, "manifest.json");
  const { store } = opts;
  const dims: ModelDims = { obsDim: store.obsSize, actDim: store.actDim };
  if (store.obsDtype !== "float32" || store.obsShape.length !== 1) {
    throw new UserError(`${opts.dataset.path}: observations of shape [${store.obsShape}] (${store.obsDtype}); this version trains on vector observations only`);
  }

  let config = opts.config;
  let manifest: Record<string, unknown>;
  const resumeFrom = opts.resume && existsSync(join(runDir, "manifest.json")) ? loadCheckpoint(runDir) : null;
  if (opts.resume && !resumeFrom) throw new UserError(`--resume: no run to resume in '${runDir}'`);
  if (resumeFrom) {
    config = resumeFrom.config;
    if (resumeFrom.dims.obsDim !== dims.obsDim || resumeFrom.dims.actDim !== dims.actDim) {
      throw new UserError(`--resume: the run was trained on ${resumeFrom.dims.obsDim}/${resumeFrom.dims.actDim} obs/action dims, the dataset has ${dims.obsDim}/${dims.actDim}`);
    }
    manifest = readJson(manifestPath) as Record<string, unknown>;
    manifest.resumes = [...((manifest.resumes as unknown[]) ?? []), { at: new Date().toISOString(), phase: resumeFrom.state.phase, modelStep: resumeFrom.state.modelStep, agentStep: resumeFrom.state.agentStep }];
    manifest.status = "running";
    truncateMetrics(metricsPath, resumeFrom.state.modelStep, resumeFrom.state.agentStep);
  } else {
    if (existsSync(join(runDir, "manifest.json"))) {
      throw new UserError(`'${runDir}' already holds a run; pass --resume to continue it or choose another --out`);
    }
    checkNewRunDir(runDir);
    manifest = {
      package: { name: "clap-rl", version: packageVersion() },
      engine: { tfjsCore: tf.version_core, backend: tf.getBackend(), blas: blasStatus() },
      node: process.version,
      algo: config.algo,
      preset: config.preset,
      seed: config.seed,
      dataset: {
        name: opts.dataset.name,
        path: resolve(opts.dataset.path),
        sha256: await cheapChecksum(opts.dataset.path),
        episodes: store.counts.episodes,
        transitions: store.counts.transitions,
      },
      env: opts.envId ?? null,
      command: opts.commandLine ?? null,
      request: opts.request ?? null,
      startedAt: new Date().toISOString(),
      endedAt: null,
      status: "running",
      modelCheckpoint: null,
    };
    // The manifest goes first: a folder with a run's files but no manifest is never left behind by a kill, so a
    // re-run can tell its own interrupted run from a folder of the user's.
    mkdirSync(runDir, { recursive: true });
    writeJsonAtomic(manifestPath, manifest);
    writeFileSync(metricsPath, "");
  }
  // A reused model brings its own architecture and observation normalisation; the run records them as used.
  const modelSource = !resumeFrom && opts.modelFrom ? loadCheckpoint(opts.modelFrom, "model") : null;
  if (modelSource) {
    if (modelSource.dims.obsDim !== dims.obsDim || modelSource.dims.actDim !== dims.actDim) {
      throw new UserError(
        `--model-from ${modelSource.dir}: model trained on ${modelSource.dims.obsDim}/${modelSource.dims.actDim} obs/action dims, the dataset has ${dims.obsDim}/${dims.actDim}`,
      );
    }
    config = { ...config, model: { ...modelSource.config.model, steps: modelSource.state.modelStep }, data: { ...config.data, obsNorm: modelSource.config.data.obsNorm } };
    manifest.modelCheckpoint = modelSource.dir;
  }
  writeJsonAtomic(join(runDir, "config.json"), config);
  writeJsonAtomic(manifestPath, manifest);

  const rng = new Rng(config.seed);
  let dataRng = rng.split("data");
  let evalRng = rng.split("eval");
  if (config.agent.valueScale === "returns") {
    // Computed from the data once; a resumed run keeps the scale it started with.
    dims.returnScale = resumeFrom?.dims.returnScale ?? Math.max(1, meanAbsReturnToGo(store.episodes, resolved(config.agent.discount, "agent.discount")));
  }
  const algo = createAlgorithm(config, dims, rng);
  let obsStats: ObsStats | null = config.data.obsNorm ? store.obsStats : null;
  let phase: Phase = "model";
  let modelStep = 0;
  let agentStep = 0;

  const groups = algo.groups();
  if (resumeFrom) {
    resumeFrom.restoreGroup("model", groups.model);
    resumeFrom.restoreGroup("agent", groups.agent);
    algo.setRngStates(resumeFrom.state.rng);
    dataRng = Rng.fromState(resumeFrom.state.rng.data);
    evalRng = Rng.fromState(resumeFrom.state.rng.eval);
    obsStats = resumeFrom.obsStats;
    ({ phase, modelStep, agentStep } = resumeFrom.state);
  } else if (modelSource) {
    modelSource.restoreGroup("model", groups.model);
    // The model was trained on observations normalised with its own statistics: acting and imagination keep them.
    obsStats = modelSource.obsStats;
    phase = "agent";
    modelStep = config.model.steps;
  }

  const windowOpts = { B: config.data.batch, T: config.data.window, normalise: config.data.obsNorm, stats: obsStats ?? undefined, coverage: config.data.coverage };
  // Only the value warm-up regresses on the data's returns-to-go.
  const returnsToGo = config.agent.valueWarmup > 0 ? resolved(config.agent.discount, "agent.discount") : undefined;
  const sampler = new WindowSampler(store, { ...windowOpts, returnsToGo }, dataRng);
  // Fixed diagnostic batches: random windows, and windows at episode starts (where a model that under-trains them
  // fails first, docs/deviations.md).
  const diagRng = rng.split("diagnostics");
  const diagSampler = new WindowSampler(store, windowOpts, diagRng);
  const diagBatches = { all: diagSampler.sample(), start: diagSampler.episodeStarts(config.data.batch, diagRng) };
  const log = (record: Record<string, unknown>) => appendFileSync(metricsPath, JSON.stringify(record) + "\n");
  const progress = opts.progress ?? silentProgress();
  const t0 = Date.now();

  const checkpointState = () => ({
    algo: algo.name,
    phase,
    modelStep,
    agentStep,
    dims,
    dataset: { name: opts.dataset.name, path: resolve(opts.dataset.path) },
    rng: { ...algo.rngStates(), data: dataRng.getState(), eval: evalRng.getState() },
  });
  const snapshot = () => saveCheckpoint(ckptDir, { state: checkpointState(), groups: algo.groups(), config, obsStats });

  const finish = (status: "done" | "stopped" | "diverged") => {
    manifest.status = status;
    manifest.endedAt = new Date().toISOString();
    writeJsonAtomic(manifestPath, manifest);
  };

  const evaluate = async (episodes: number): Promise<Record<string, number>> => {
    const record: Record<string, number> = { ...algo.diagnostics(diagBatches) };
    const summary = () => `eval @ agent step ${agentStep}: ${fmtTerms(record, Infinity)}`;
    if (opts.evaluate && episodes > 0) {
      const g = algo.groups();
      saveCheckpoint(evalPolicyDir, {
        state: { ...checkpointState(), phase: "done" },
        groups: { model: { params: g.model.params, optimisers: {} }, agent: { params: g.agent.params, optimisers: {} } },
        config,
        obsStats,
      });
      const refs = agentStep === 0 ? Object.entries(algo.referencePolicies(evalPolicyDir)) : [];
      const task = progress.task(`eval @ agent step ${agentStep}${refs.length ? ` (policy, ${refs.map(([n]) => n).join(", ")})` : ""}`, episodes * (1 + refs.length), { unit: "episodes" });
      let done = 0;
      const onEpisode = (e: EpisodeResult) => task.update(++done, `return ${fmt(e.return)}${e.normalizedScore !== null ? ` score ${fmt(e.normalizedScore)}` : ""}`);
      const seed = evalRng.tfSeed();
      const run = async (spec: PolicySpec, prefix: string) => {
        const r = await opts.evaluate!(spec, { episodes, seed, onEpisode });
        record[`${prefix}return_mean`] = mean(r.returns);
        record[`${prefix}return_std`] = std(r.returns);
        record[`${prefix}length_mean`] = mean(r.lengths);
        if (r.scores) Object.assign(record, { [`${prefix}score_mean`]: mean(r.scores), [`${prefix}score_std`]: std(r.scores) });
      };
      try {
        record.episodes = episodes;
        await run(algo.policySpec(evalPolicyDir), "");
        // The same episode seeds as the policy's, so the two scores are paired.
        for (const [name, spec] of refs) await run(spec, `${name}_`);
      } catch (e) {
        task.finish(`eval @ agent step ${agentStep}: failed`);
        throw e;
      }
      task.finish(summary());
    } else {
      progress.log(summary());
    }
    log({ phase: "eval", step: agentStep, elapsed_s: (Date.now() - t0) / 1000, ...record });
    return record;
  };

  /** Steps one phase to `total`; returns false when stopped early. */
  const runPhase = async (name: "model" | "agent", total: number, step: () => Record<string, number>, after: (s: number) => Promise<void>): Promise<boolean> => {
    const start = name === "model" ? modelStep : agentStep;
    const task = progress.task(name, total, { start });
    try {
      for (let s = start; s < total; ) {
        const terms = step();
        s += 1;
        if (name === "model") modelStep = s;
        else agentStep = s;
        for (const [k, v] of Object.entries(terms)) {
          if (!Number.isFinite(v)) {
            finish("diverged");
            throw new TrainingDiverged(`training stopped: ${name} loss term '${k}' became ${v} at ${name} step ${s} (run ${runDir}; last good checkpoint in ${ckptDir})`);
          }
        }
        if (s % config.train.logEvery === 0 || s === total) {
          log({ phase: name, step: s, elapsed_s: (Date.now() - t0) / 1000, ...terms });
          task.update(s, fmtTerms(terms));
        } else {
          task.update(s);
        }
        await after(s);
        if (config.train.checkpointEvery > 0 && s % config.train.checkpointEvery === 0 && s < total) snapshot();
        if (opts.shouldStop?.(name, s) && s < total) {
          snapshot();
          finish("stopped");
          return false;
        }
      }
      return true;
    } finally {
      task.finish();
    }
  };

  try {
    if (phase === "model") {
      progress.log(`model: ${config.model.steps} steps, B ${config.data.batch} × T ${config.data.window}`);
      const ok = await runPhase("model", config.model.steps, () => algo.modelStep(sampler.sample()), async () => {});
      if (!ok) return { runDir, status: "stopped", modelStep, agentStep };
      phase = "agent";
      saveCheckpoint(modelDir, {
        state: { algo: algo.name, phase: "agent", modelStep, agentStep: 0, dims, dataset: { name: opts.dataset.name, path: resolve(opts.dataset.path) }, rng: {} },
        groups: { model: algo.groups().model },
        config,
        obsStats,
      });
      manifest.modelCheckpoint = modelDir;
      writeJsonAtomic(manifestPath, manifest);
      snapshot();
    }
    if (phase === "agent") {
      progress.log(`agent: ${config.agent.steps} steps on the frozen model, horizon ${config.agent.horizon}`);
      if (agentStep === 0 && config.eval.every > 0) await evaluate(config.eval.episodes);
      const evalEvery = config.eval.every;
      const ok = await runPhase("agent", config.agent.steps, () => algo.agentStep(sampler.sample()), async (s) => {
        if (evalEvery > 0 && s % evalEvery === 0 && s < config.agent.steps) await evaluate(config.eval.episodes);
      });
      if (!ok) return { runDir, status: "stopped", modelStep, agentStep };
      const finalEval = await evaluate(config.eval.finalEpisodes ?? config.eval.episodes);
      phase = "done";
      snapshot();
      manifest.finalEval = finalEval;
      manifest.bestEval = bestEvaluation(metricsPath);
    }
    finish("done");
  } finally {
    algo.dispose();
  }
  if (opts.report !== false) await reportRun(runDir, progress);
  return { runDir, status: "done", modelStep, agentStep, finalEval: manifest.finalEval as Record<string, number> | undefined };
}

/** Writes the run's report.html; a failure is a warning on the progress output, never a failed run. */
export async function reportRun(runDir: string, progress: Progress = silentProgress()): Promise<string | null> {
  try {
    const r = await writeRunReport(runDir);
    for (const n of r.notes) progress.log(`report: ${n}`);
    return r.path;
  } catch (e) {
    progress.log(`warning: report not written (${(e as Error).message.split("\n")[0]}); retry with: clap-rl report ${runDir}`);
    return null;
  }
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
  return { dir, manifest, hasCheckpoint: existsSync(join(dir, "checkpoint", "state.json")) || existsSync(join(dir, "checkpoint.old", "state.json")), reported: existsSync(join(dir, REPORT_FILE)) };
}

/** What the trainer and the report write into a run directory; `clearRun` removes exactly these and nothing else. */
const RUN_ENTRIES = ["config.json", "manifest.json", "metrics.jsonl", "model", "model.old", "checkpoint", "checkpoint.old", "eval-policy", "eval-policy.old", REPORT_FILE, ACTION_CHECK_FILE, ACTION_CHECK_CSV, REFERENCES_FILE];

/**
 * A new run may go into a folder that does not exist yet or holds none of the files a run writes: never over a file,
 * and never over a `config.json`, `model/`, … that the user keeps there (issue 12). One line names what is in the way.
 */
export function checkNewRunDir(outDir: string): void {
  const dir = resolve(outDir);
  if (!existsSync(dir)) return;
  if (!statSync(dir).isDirectory()) throw new UserError(`--out '${dir}' is a file, not a run directory; choose a folder`);
  const inTheWay = RUN_ENTRIES.filter((e) => existsSync(join(dir, e)));
  if (inTheWay.length > 0) {
    throw new UserError(`--out '${dir}' is not a clap-rl run but holds ${inTheWay.join(", ")}; refusing to write a run over them (choose an empty or new folder)`);
  }
}

/** Removes a run's files from `outDir` (for --force, or a killed run that never reached a checkpoint). */
export function clearRun(outDir: string): void {
  for (const e of RUN_ENTRIES) rmSync(join(resolve(outDir), e), { recursive: true, force: true });
}
