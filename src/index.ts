/**
 * clap-rl's public API: `import { ... } from "clap-rl"`.
 *
 * Grouped as the folders are, following the data: engine → envs → data → models → agents → eval → report.
 * Everything a user needs to train, evaluate and inspect C-LAP from code is here; deeper modules stay importable
 * by path for advanced use but carry no stability promise.
 */

// Engine: tensors on tfjs-wasm, seeded RNG, nn blocks, distributions, optimiser, tensor files.
export { initEngine, tf, stopGradient, liveTensors } from "./engine/tf.js";
export { blasStatus, blasActive, type BlasStatus } from "./engine/blas.js";
export { Rng, type RngState } from "./engine/rng.js";
export { Module, Linear, MLP, GRUCell, gruCell, type Activation } from "./engine/nn.js";
export { Normal, TanhNormal, Bernoulli, klNormal } from "./engine/distributions.js";
export { Adam, clipByGlobalNorm, type AdamOptions, type AdamState } from "./engine/optim.js";
export { saveArrays, loadArrays, type NamedArray } from "./engine/serialize.js";

// Environments: Gym-style MuJoCo tasks, pixels, termination functions for model rollouts.
export type { Env, StepResult, Space, ActionSpace, ResetOptions } from "./envs/env.js";
export { makeEnv, listEnvs, envInfo, type EnvOptions, type EnvInfo } from "./envs/registry.js";
export { withPixels, type PixelOptions } from "./envs/pixels.js";
export { terminationRule, terminationMask, type TerminationFn } from "./envs/termination.js";

// Data: canonical episodes, loaders/writers for D4RL, Minari and V-D4RL, validation, the window sampler.
export type { Episode, EpisodeEnd } from "./data/episode.js";
export { loadDataset, detectFormat, type LoadOptions } from "./data/load.js";
export { EpisodeStore, type ObsStats } from "./data/store.js";
export { WindowSampler, type WindowBatch, type WindowOptions } from "./data/windows.js";
export { readD4rl, writeD4rl } from "./data/d4rl.js";
export { readMinari, writeMinari } from "./data/minari.js";
export { readVd4rl, writeVd4rl } from "./data/vd4rl.js";
export { validateDataset, type ValidationReport } from "./data/validate.js";
export { inspectStore, type DatasetSummary } from "./data/inspect.js";

// Configuration (typed schemas, presets, overrides) and the algorithm plug-ins.
export type { CommonConfig, DataConfig, EvalConfig, TrainConfig, Schema, Infer } from "./config/schema.js";
export { buildConfig, presetConfig, type ConfigSources } from "./config/presets.js";
export { ALGORITHM_NAMES, DEFAULT_ALGORITHM, algorithm, buildRunConfig, resolveRunConfig, loadCheckpoint } from "./algorithms/registry.js";
export type { Algorithm, AlgorithmPlugin, PhaseSpec } from "./algorithms/plugin.js";
export { saveCheckpoint } from "./algorithms/checkpoint.js";
export { TransitionSampler, type TransitionBatch } from "./data/transitions.js";

// C-LAP: the latent action model, the constrained policy, returns, its config and presets.
export { LatentActionModel, type LatentState, type ModelConfig } from "./models/latent-action-model.js";
export { DynamicsEnsemble, EnsembleSelection, type EnsembleOptions, type EnsembleStats } from "./models/dynamics-ensemble.js";
export { type ClapConfig, type PolicyConfig, type AgentConfig, CLAP_PRESETS, resolveClapConfig, epsilonForDataset } from "./algorithms/clap/config.js";
export { ConstrainedPolicy, constrainedMap } from "./algorithms/clap/constrained-policy.js";
export { nStepReturns, lambdaReturns, stepWeights } from "./algorithms/clap/returns.js";
export { ClapAgent } from "./algorithms/clap/agent.js";
export { createClapPolicy, clapPolicySpec } from "./algorithms/clap/acting.js";

// Behaviour cloning.
export { type BcConfig, BC_PRESETS } from "./algorithms/bc/config.js";
export { BcAgent } from "./algorithms/bc/agent.js";
export { createBcPolicy, bcPolicySpec } from "./algorithms/bc/acting.js";

// The training loop.
export { train, TrainingDiverged, type TrainOptions, type TrainResult } from "./training/trainer.js";

// Evaluation and scores.
export type { Policy, PolicySpec, PolicyContext, PolicyFactory } from "./eval/policy.js";
export { evaluate, runEpisode, episodeSeeds, type EvaluateOptions, type EvaluationResult } from "./eval/evaluate.js";
export { normalizedScore100, scoreReference, SCORE_REFERENCES } from "./eval/scores.js";

// Reports.
export { writeRunReport } from "./report/run-report.js";
export { writeComparison, readRuns, compareRuns } from "./report/compare.js";

// Progress display (bars on a terminal, plain lines otherwise).
export { createProgress, silentProgress, type Progress, type ProgressTask } from "./util/progress.js";

export { UserError } from "./errors.js";
