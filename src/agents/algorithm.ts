/**
 * What the training loop (trainer.ts) needs from an algorithm. Every algorithm has the same two phases — a model
 * trained on dataset windows, then an agent trained against the frozen model — and differs only in its losses, so
 * one loop drives all of them. Checkpoints store the two parameter groups with their optimiser states.
 */
import type { tf } from "../engine/tf.js";
import type { Adam } from "../engine/optim.js";
import type { RngState } from "../engine/rng.js";
import type { WindowBatch } from "../data/windows.js";
import type { ObsStats } from "../data/store.js";
import type { Policy, PolicySpec } from "../eval/policy.js";

export interface ParamGroup {
  params: Map<string, tf.Variable>;
  optimisers: Record<string, Adam>;
}

export interface Algorithm {
  readonly name: string;
  /** "model": phase 1 (saved after phase 1 and reusable with --model-from); "agent": phase 2. */
  groups(): { model: ParamGroup; agent: ParamGroup };
  /** One phase-1 gradient step; returns every loss term as a number. */
  modelStep(batch: WindowBatch): Record<string, number>;
  /** One phase-2 gradient step against the frozen model. */
  agentStep(batch: WindowBatch): Record<string, number>;
  /**
   * Scalars computed at the evaluation cadence on fixed dataset batches: random windows (`all`) and windows at
   * episode starts (`start`) — value estimate (spec §13), action errors, ….
   */
  diagnostics(batches: { all: WindowBatch; start: WindowBatch }): Record<string, number>;
  /** A policy acting with the current parameters on raw observations, normalised with `stats`. */
  actingPolicy(stats: ObsStats | null, opts: { stochastic: boolean; posterior: "mean" | "sample" }): Policy;
  /** A spec that builds this algorithm's policy from a checkpoint directory (evaluation in worker threads). */
  policySpec(checkpointDir: string): PolicySpec;
  /**
   * Fixed reference policies evaluated closed-loop once, at agent step 0, beside the policy (they do not change in
   * phase 2), keyed by the prefix their scores are logged under (C-LAP: "prior", ũ = μ).
   */
  referencePolicies(checkpointDir: string): Record<string, PolicySpec>;
  /** The algorithm's own random streams (initialisation excluded: it is used up at construction). */
  rngStates(): Record<string, RngState>;
  setRngStates(states: Record<string, RngState>): void;
  dispose(): void;
}
