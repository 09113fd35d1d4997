/**
 * What an algorithm is to the rest of clap-rl. An algorithm is a plug-in (one folder under src/algorithms/, listed in
 * registry.ts) that declares its config schema and presets once, its two phases and their batch kinds, how its
 * policy is built from a checkpoint, and optional report pieces. The one training loop (src/training/trainer.ts),
 * the one checkpoint format (checkpoint.ts), evaluation, reports, sweeps and `clap-rl reproduce` work for every
 * registered algorithm without naming one.
 *
 * Phases: "model" (phase 1: whatever the policy is trained against or with — a world model, a VAE of actions; 0
 * steps for model-free algorithms) then "agent" (phase 2: the policy, evaluated every `eval.every` steps). Each phase
 * trains on window batches (T consecutive entries of one episode), on single transitions, or on data the algorithm
 * draws itself from the dataset it is handed at creation ("own": e.g. a dynamics ensemble with a holdout split and a
 * batch per member). A phase may end before its step budget when the algorithm says so (`phaseDone`: early stopping).
 */
import type { tf } from "../engine/tf.js";
import type { Adam } from "../engine/optim.js";
import type { Rng, RngState } from "../engine/rng.js";
import type { AddedFields, CommonConfig, Schema } from "../config/schema.js";
import type { WindowBatch } from "../data/windows.js";
import type { TransitionBatch } from "../data/transitions.js";
import type { EpisodeStore, ObsStats } from "../data/store.js";
import type { NamedArray } from "../engine/serialize.js";
import type { ModelDims } from "../models/latent-action-model.js";
import type { LatentActionModel } from "../models/latent-action-model.js";
import type { Policy, PolicySpec } from "../eval/policy.js";
import type { LoadedCheckpoint } from "./checkpoint.js";

export type { ModelDims };

export interface ParamGroup {
  params: Map<string, tf.Variable>;
  optimisers: Record<string, Adam>;
}

export type PhaseName = "model" | "agent";
export type BatchKind = "windows" | "transitions" | "own";
/** What an "own" phase's step receives: nothing; the algorithm draws its data itself. */
export interface OwnBatch {
  kind: "own";
}
export type Batch = WindowBatch | TransitionBatch | OwnBatch;

/** The dataset an algorithm may draw from itself, with the observation statistics the run normalises with. */
export interface TrainingData {
  store: EpisodeStore;
  /** null when the run does not normalise observations. */
  stats: ObsStats | null;
  /** The registered environment the data comes from, when known (e.g. for its termination rule). */
  envId: string | null;
}

export interface PhaseSpec {
  /** The step budget (the most steps the phase takes). */
  steps: number;
  batch: BatchKind;
  /** Transitions per batch when not `data.batch` (e.g. the real part of a batch mixed with model data). */
  batchSize?: number;
  /** Window batches also carry each entry's discounted return-to-go with this γ (WindowOptions.returnsToGo). */
  returnsToGo?: number;
}

/** A training instance: parameters, optimisers, random streams and the step of each phase. */
export interface Algorithm {
  readonly name: string;
  /** "model": phase 1 (saved after phase 1 and reusable with --model-from; may be empty); "agent": phase 2. */
  groups(): { model: ParamGroup; agent: ParamGroup };
  /** One gradient step of a phase on a batch of the kind the phase declares; returns every loss term as a number. */
  step(phase: PhaseName, batch: Batch): Record<string, number>;
  /**
   * Scalars computed at the evaluation cadence on fixed dataset windows: random windows (`all`) and windows at
   * episode starts (`start`) — action errors, value estimates, … (docs/method.md, diagnostics).
   */
  diagnostics(batches: { all: WindowBatch; start: WindowBatch }): Record<string, number>;
  /** True once a phase should end before its step budget (early stopping); asked after every step. */
  phaseDone?(phase: PhaseName): boolean;
  /** Called once when a phase has ended (budget spent or phaseDone), before the phase's model is saved. */
  endPhase?(phase: PhaseName): void;
  /**
   * State beyond parameters, optimisers and RNG streams that an exact resume needs (e.g. a buffer of model rollouts),
   * as tensor files of the checkpoint, and its restore.
   */
  extraState?(): Record<string, Map<string, NamedArray>>;
  restoreExtraState?(read: (name: string) => Map<string, NamedArray>): void;
  /** A policy acting with the current parameters on raw observations, normalised with `stats`. */
  actingPolicy(stats: ObsStats | null, opts: { stochastic: boolean; posterior: "mean" | "sample" }): Policy;
  /** The algorithm's own random streams (initialisation excluded: it is used up at construction). */
  rngStates(): Record<string, RngState>;
  setRngStates(states: Record<string, RngState>): void;
  dispose(): void;
}

export interface AlgorithmPlugin<C extends CommonConfig = CommonConfig> {
  readonly name: string;
  /** One line for `--help` and listings. */
  readonly summary: string;
  /** The whole run schema (runSchema(name, sections)). */
  readonly schema: Schema;
  /** Presets by name; each returns a fresh complete config. */
  readonly presets: Readonly<Record<string, () => C>>;
  /** Fields added after configs of this algorithm were first saved (upgradeConfig). */
  readonly added: AddedFields;
  /** Fills the fields left null ("derive from the dataset name") and checks cross-field constraints; a new object. */
  resolve(config: C, datasetName: string): C;
  phases(config: C): { model: PhaseSpec; agent: PhaseSpec };
  /** The discount its values are estimated with, for the data's reference values in reports; absent: no values. */
  discount?(config: C): number | null;
  /** Dataset-derived sizes the networks need beyond obs/action dims (e.g. a value scale); kept across resumes. */
  dims?(config: C, store: EpisodeStore): Partial<ModelDims>;
  create(config: C, dims: ModelDims, rng: Rng, data: TrainingData): Algorithm;
  /** Builds the trained policy from a checkpoint directory (evaluation in worker threads). */
  policySpec(checkpointDir: string, opts?: { stochastic?: boolean }): PolicySpec;
  /**
   * Fixed reference policies evaluated once, at phase-2 step 0, beside the policy, keyed by the prefix their scores
   * are logged under (C-LAP: "prior", the decoded latent action prior's mean).
   */
  referencePolicies(config: C, checkpointDir: string): Record<string, PolicySpec>;
  /** The config of a run that reuses another run's trained phase-1 model (`--model-from`); absent: not supported. */
  withModelFrom?(config: C, source: C, modelSteps: number): C;
  /** Its section of `clap-rl bench method`: step times at stated sizes (loaded on demand: it may run for minutes). */
  bench?(): Promise<Record<string, unknown>>;
  /** The behaviour model behind the report's action-distribution check, when the algorithm has one. */
  actionModel?(ckpt: LoadedCheckpoint<C>): { model: LatentActionModel; note?: never } | { model?: never; note: string };
}

/** The batch the trainer hands an "own" phase. */
export const OWN_BATCH: OwnBatch = Object.freeze({ kind: "own" });

/** A batch of the kind a phase declared, or a programming error. */
export function asWindows(batch: Batch): WindowBatch {
  if (batch.kind !== "windows") throw new Error(`expected a window batch, got ${batch.kind}`);
  return batch;
}

export function asTransitions(batch: Batch): TransitionBatch {
  if (batch.kind !== "transitions") throw new Error(`expected a transition batch, got ${batch.kind}`);
  return batch;
}
