/**
 * The one training loop for every algorithm (docs/design/method.md §9): phase 1 ("model") trains whatever the
 * policy is trained against, phase 2 ("agent") trains the policy, evaluating every `eval.every` agent steps and once
 * at the end. The algorithm (src/algorithms/registry.ts) declares each phase's steps and batch kind — windows of T
 * entries, or single transitions; a phase of 0 steps is skipped. The run directory's layout is run-dir.ts's.
 *
 * Randomness: one stream per purpose split from the run seed — "init" (parameters), "data" (batch sampling, shared
 * by both phases), the algorithm's own streams, "eval" (evaluation seeds), "diagnostics" (the fixed dataset
 * windows). Resuming restores every stream, the optimiser moments and the step counters, so the losses after a
 * resume equal those of an uninterrupted run.
 */
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { initEngine, tf } from "../engine/tf.js";
import { blasStatus } from "../engine/blas.js";
import { Rng } from "../engine/rng.js";
import { fsError, isFsError, UserError } from "../errors.js";
import { writeJsonAtomic } from "../util/atomic.js";
import type { CommonConfig } from "../config/schema.js";
import type { EpisodeStore, ObsStats } from "../data/store.js";
import { WindowSampler } from "../data/windows.js";
import { TransitionSampler } from "../data/transitions.js";
import type { PolicySpec } from "../eval/policy.js";
import { evaluate, type EpisodeResult } from "../eval/evaluate.js";
import { writeRunReport } from "../report/run-report.js";
import { fmtNumber as fmt, fmtTerms, silentProgress, type Progress } from "../util/progress.js";
import { OWN_BATCH, type Batch, type ModelDims, type PhaseName, type PhaseSpec } from "../algorithms/plugin.js";
import { algorithm, loadCheckpoint } from "../algorithms/registry.js";
import { readJson, saveCheckpoint, type Phase } from "../algorithms/checkpoint.js";
import { bestEvaluation, cheapChecksum, checkNewRunDir, lastElapsed, lockRun, packageVersion, runPaths, truncateMetrics } from "./run-dir.js";

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
  /** Resolved config (resolveRunConfig). Ignored with `resume`: the run's own config.json is used. */
  config: CommonConfig;
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

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
}

function std(xs: number[]): number {
  const m = mean(xs);
  return Math.sqrt(mean(xs.map((x) => (x - m) ** 2)));
}

export async function train(opts: TrainOptions): Promise<TrainResult> {
  await initEngine();
  const paths = runPaths(opts.outDir);
  const runDir = paths.dir;
  const { store } = opts;
  let dims: ModelDims = { obsDim: store.obsSize, actDim: store.actDim };
  if (store.obsDtype !== "float32" || store.obsShape.length !== 1) {
    throw new UserError(`${opts.dataset.path}: observations of shape [${store.obsShape}] (${store.obsDtype}); this version trains on vector observations only`);
  }

  if (store.counts.transitions < opts.config.data.batch) {
    // A run on less than one batch trains on the same few rows over and over, and its report has nothing to compare.
    throw new UserError(`${opts.dataset.path}: ${store.counts.transitions} transition${store.counts.transitions === 1 ? "" : "s"}, fewer than one batch (data.batch ${opts.config.data.batch}); too little data to train on`);
  }
  let config = opts.config;
  let manifest: Record<string, unknown>;
  if (opts.resume && !existsSync(paths.manifest)) throw new UserError(`--resume: no run to resume in '${runDir}'`);
  if (!opts.resume) checkNewRunDir(runDir);
  mkdirSync(runDir, { recursive: true });
  // The lock comes before the run's files are read: of two commands started at once, the second is told that the
  // first trains the run, never to pass --resume into a run that is being written.
  const unlock = lockRun(runDir, (m) => (opts.progress ?? silentProgress()).log(m));
  try {
    if (!opts.resume && existsSync(paths.manifest)) {
      throw new UserError(`'${runDir}' already holds a run; pass --resume to continue it or choose another --out`);
    }
    const resumeFrom = opts.resume ? loadCheckpoint(runDir, "resume") : null;
    if (resumeFrom) {
      config = resumeFrom.config;
      if (resumeFrom.dims.obsDim !== dims.obsDim || resumeFrom.dims.actDim !== dims.actDim) {
        throw new UserError(`--resume: the run was trained on ${resumeFrom.dims.obsDim}/${resumeFrom.dims.actDim} obs/action dims, the dataset has ${dims.obsDim}/${dims.actDim}`);
      }
      manifest = readJson(paths.manifest) as Record<string, unknown>;
      manifest.resumes = [...((manifest.resumes as unknown[]) ?? []), { at: new Date().toISOString(), phase: resumeFrom.state.phase, modelStep: resumeFrom.state.modelStep, agentStep: resumeFrom.state.agentStep }];
      manifest.status = "running";
      truncateMetrics(paths.metrics, resumeFrom.state.modelStep, resumeFrom.state.agentStep);
    } else {
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
      writeJsonAtomic(paths.manifest, manifest);
      writeFileSync(paths.metrics, "");
    }
    return await trainLocked(opts, { paths, dims, config, manifest, resumeFrom });
  } finally {
    unlock();
  }
}

interface LockedRun {
  paths: ReturnType<typeof runPaths>;
  dims: ModelDims;
  config: CommonConfig;
  manifest: Record<string, unknown>;
  resumeFrom: ReturnType<typeof loadCheckpoint> | null;
}

async function trainLocked(opts: TrainOptions, run: LockedRun): Promise<TrainResult> {
  const { paths, manifest, resumeFrom } = run;
  let { config, dims } = run;
  const runDir = paths.dir;
  const { store } = opts;
  const plugin = algorithm(config.algo);
  // A reused model brings its own architecture and observation normalisation; the run records them as used.
  const modelSource = !resumeFrom && opts.modelFrom ? loadCheckpoint(opts.modelFrom, "model") : null;
  if (modelSource) {
    if (!plugin.withModelFrom) throw new UserError(`--model-from: ${plugin.name} has no phase-1 model to reuse`);
    if (modelSource.config.algo !== config.algo) throw new UserError(`--model-from ${modelSource.dir}: a ${modelSource.config.algo} model, this run is ${config.algo}`);
    if (modelSource.dims.obsDim !== dims.obsDim || modelSource.dims.actDim !== dims.actDim) {
      throw new UserError(
        `--model-from ${modelSource.dir}: model trained on ${modelSource.dims.obsDim}/${modelSource.dims.actDim} obs/action dims, the dataset has ${dims.obsDim}/${dims.actDim}`,
      );
    }
    config = plugin.withModelFrom(config, modelSource.config, modelSource.state.modelStep);
    manifest.modelCheckpoint = modelSource.dir;
  }
  writeJsonAtomic(paths.config, config);
  writeJsonAtomic(paths.manifest, manifest);

  const phases = plugin.phases(config);
  const rng = new Rng(config.seed);
  let dataRng = rng.split("data");
  let evalRng = rng.split("eval");
  // Dataset-derived sizes are computed once; a resumed run keeps those it started with.
  dims = resumeFrom ? { ...dims, ...resumeFrom.dims } : { ...dims, ...plugin.dims?.(config, store) };
  // A resumed run keeps its statistics; a reused model brings the ones it was trained with.
  let obsStats: ObsStats | null = resumeFrom ? resumeFrom.obsStats : modelSource ? modelSource.obsStats : config.data.obsNorm ? store.obsStats : null;
  const algo = plugin.create(config, dims, rng, { store, stats: obsStats, envId: opts.envId ?? null });
  let phase: Phase = "model";
  let modelStep = 0;
  let agentStep = 0;

  const groups = algo.groups();
  if (resumeFrom) {
    resumeFrom.restoreGroup("model", groups.model);
    resumeFrom.restoreGroup("agent", groups.agent);
    algo.setRngStates(resumeFrom.state.rng);
    algo.restoreExtraState?.((name) => resumeFrom.extraArrays(name));
    dataRng = Rng.fromState(resumeFrom.state.rng.data);
    evalRng = Rng.fromState(resumeFrom.state.rng.eval);
    ({ phase, modelStep, agentStep } = resumeFrom.state);
  } else if (modelSource) {
    // The model was trained on observations normalised with its own statistics: acting and imagination keep them
    // (obsStats above).
    modelSource.restoreGroup("model", groups.model);
    phase = "agent";
    modelStep = phases.model.steps;
  }

  const windowOpts = { B: config.data.batch, T: config.data.window, normalise: config.data.obsNorm, stats: obsStats ?? undefined, coverage: config.data.coverage };
  // Both phases draw from the one data stream, in order, so a resumed run draws what an uninterrupted one would.
  const batches = (spec: PhaseSpec): (() => Batch) => {
    if (spec.batch === "own") return () => OWN_BATCH;
    if (spec.batch === "windows") {
      const sampler = new WindowSampler(store, { ...windowOpts, returnsToGo: spec.returnsToGo }, dataRng);
      return () => sampler.sample();
    }
    const sampler = new TransitionSampler(store, { B: spec.batchSize ?? config.data.batch, normalise: config.data.obsNorm, stats: obsStats ?? undefined }, dataRng);
    return () => sampler.sample();
  };
  // Fixed diagnostic batches: random windows, and windows at episode starts (where a behaviour model that
  // under-trains them fails first, docs/deviations.md).
  const diagRng = rng.split("diagnostics");
  const diagSampler = new WindowSampler(store, windowOpts, diagRng);
  const diagBatches = { all: diagSampler.sample(), start: diagSampler.episodeStarts(config.data.batch, diagRng) };
  const log = (record: Record<string, unknown>) => {
    try {
      appendFileSync(paths.metrics, JSON.stringify(record) + "\n");
    } catch (e) {
      // A line cut short by a full disk is dropped on resume (truncateMetrics keeps whole records only).
      throw isFsError(e) ? fsError(paths.metrics, "append to", e) : e;
    }
  };
  const progress = opts.progress ?? silentProgress();
  // Elapsed time continues across resumes: the last logged elapsed_s is where this process starts counting.
  const t0 = Date.now() - 1000 * (resumeFrom ? lastElapsed(paths.metrics) : 0);

  const checkpointState = () => ({
    algo: algo.name,
    phase,
    modelStep,
    agentStep,
    dims,
    dataset: { name: opts.dataset.name, path: resolve(opts.dataset.path) },
    rng: { ...algo.rngStates(), data: dataRng.getState(), eval: evalRng.getState() },
  });
  const snapshot = () => saveCheckpoint(paths.checkpoint, { state: checkpointState(), groups: algo.groups(), config, obsStats, arrays: algo.extraState?.() });

  const finish = (status: "done" | "stopped" | "diverged") => {
    manifest.status = status;
    manifest.endedAt = new Date().toISOString();
    writeJsonAtomic(paths.manifest, manifest);
  };

  const evaluate = async (episodes: number): Promise<Record<string, number>> => {
    const record: Record<string, number> = { ...algo.diagnostics(diagBatches) };
    const summary = () => `eval @ agent step ${agentStep}: ${fmtTerms(record, Infinity)}`;
    if (opts.evaluate && episodes > 0) {
      const g = algo.groups();
      saveCheckpoint(paths.evalPolicy, {
        state: { ...checkpointState(), phase: "done" },
        groups: { model: { params: g.model.params, optimisers: {} }, agent: { params: g.agent.params, optimisers: {} } },
        config,
        obsStats,
      });
      const refs = agentStep === 0 ? Object.entries(plugin.referencePolicies(config, paths.evalPolicy)) : [];
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
        await run(plugin.policySpec(paths.evalPolicy), "");
        // The same episode seeds as the policy's, so the scores are paired.
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

  /** Steps one phase to `total` or until the algorithm ends it (phaseDone); returns false when stopped by the caller. */
  const runPhase = async (name: PhaseName, total: number, next: () => Batch, after: (s: number) => Promise<void>): Promise<boolean> => {
    const start = name === "model" ? modelStep : agentStep;
    const task = progress.task(name, total, { start });
    try {
      for (let s = start; s < total; ) {
        const terms = algo.step(name, next());
        s += 1;
        if (name === "model") modelStep = s;
        else agentStep = s;
        // Name the term that went bad, not the total it spoils (issue 12).
        const nonFinite = Object.entries(terms).filter(([, v]) => !Number.isFinite(v));
        const bad = nonFinite.find(([k]) => !/(^|_)loss$|grad_norm$/.test(k)) ?? nonFinite[0];
        if (bad) {
          finish("diverged");
          const ckpt = existsSync(join(paths.checkpoint, "state.json")) ? `the last good checkpoint is in ${paths.checkpoint}` : "no checkpoint was saved before it";
          throw new TrainingDiverged(`training stopped: ${name} loss term '${bad[0]}' became ${bad[1]} at ${name} step ${s} (run ${runDir}; ${ckpt})`);
        }
        const done = s < total && algo.phaseDone?.(name) === true;
        if (s % config.train.logEvery === 0 || s === total || done) {
          log({ phase: name, step: s, elapsed_s: (Date.now() - t0) / 1000, ...terms });
          task.update(s, fmtTerms(terms));
        } else {
          task.update(s);
        }
        await after(s);
        // A step is synchronous: without a turn of the event loop a Ctrl-C (a signal event) would wait for the end of
        // the phase. setImmediate costs microseconds against a step's milliseconds.
        await new Promise((r) => setImmediate(r));
        if (config.train.checkpointEvery > 0 && s % config.train.checkpointEvery === 0 && s < total) snapshot();
        if (done) {
          progress.log(`${name}: ended by the algorithm at step ${s} of ${total}`);
          break;
        }
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

  const describe = (spec: PhaseSpec) => {
    const batch = spec.batch === "windows" ? `B ${config.data.batch} × T ${config.data.window} windows` : spec.batch === "own" ? "the algorithm's own batches" : `batches of ${spec.batchSize ?? config.data.batch} transitions`;
    return `${spec.steps} steps, ${batch}`;
  };
  try {
    if (phase === "model") {
      if (phases.model.steps > 0) {
        progress.log(`model: ${describe(phases.model)}`);
        const ok = await runPhase("model", phases.model.steps, batches(phases.model), async () => {});
        if (!ok) return { runDir, status: "stopped", modelStep, agentStep };
      }
      algo.endPhase?.("model");
      phase = "agent";
      const model = algo.groups().model;
      if (model.params.size > 0) {
        saveCheckpoint(paths.model, {
          state: { algo: algo.name, phase: "agent", modelStep, agentStep: 0, dims, dataset: { name: opts.dataset.name, path: resolve(opts.dataset.path) }, rng: {} },
          groups: { model },
          config,
          obsStats,
        });
        manifest.modelCheckpoint = paths.model;
        writeJsonAtomic(paths.manifest, manifest);
      }
      snapshot();
    }
    if (phase === "agent") {
      progress.log(`agent: ${describe(phases.agent)}`);
      if (agentStep === 0 && config.eval.every > 0) await evaluate(config.eval.episodes);
      const evalEvery = config.eval.every;
      const total = phases.agent.steps;
      const ok = await runPhase("agent", total, batches(phases.agent), async (s) => {
        if (evalEvery > 0 && s % evalEvery === 0 && s < total) await evaluate(config.eval.episodes);
      });
      if (!ok) return { runDir, status: "stopped", modelStep, agentStep };
      const finalEval = await evaluate(config.eval.finalEpisodes ?? config.eval.episodes);
      phase = "done";
      snapshot();
      manifest.finalEval = finalEval;
      manifest.bestEval = bestEvaluation(paths.metrics);
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

