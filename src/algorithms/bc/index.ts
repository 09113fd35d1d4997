/**
 * Behaviour cloning as a plug-in: the yardstick every offline method must beat, and the quickest check that data,
 * evaluation and normalisation agree (on medium and expert data it reaches about the data's own score).
 */
import type { AlgorithmPlugin } from "../plugin.js";
import { BcAgent } from "./agent.js";
import { bcPolicySpec } from "./acting.js";
import { BC_ADDED, BC_PRESETS, BC_SCHEMA, resolveBcConfig, type BcConfig } from "./config.js";

export const bc: AlgorithmPlugin<BcConfig> = {
  name: "bc",
  summary: "behaviour cloning: an MLP policy regressed on the dataset's actions (the yardstick)",
  schema: BC_SCHEMA,
  presets: BC_PRESETS,
  added: BC_ADDED,
  resolve: resolveBcConfig,
  phases: (c) => ({ model: { steps: 0, batch: "transitions" }, agent: { steps: c.bc.steps, batch: "transitions" } }),
  create: (c, dims, rng) => new BcAgent(c, dims, rng),
  policySpec: (dir, opts = {}) => bcPolicySpec(dir, opts),
  referencePolicies: () => ({}),
  bench: async () => (await import("./bench.js")).benchBc(),
};
