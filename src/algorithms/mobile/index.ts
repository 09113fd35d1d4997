/**
 * MOBILE as a plug-in (docs/design/method.md §17.3): the dynamics ensemble and model rollouts of MOPO, without a
 * reward penalty; instead the Bellman targets of model transitions are penalised by the spread of the target
 * critics' values across the ensemble's predicted next states, with a deterministic backup clamped at 0. The core is
 * src/algorithms/model-based-sac.ts; MOBILE's part is its config and its penalty.
 */
import type { AlgorithmPlugin } from "../plugin.js";
import { ModelSacAgent, modelSacPolicySpec, realBatchSize, type ModelSacConfig } from "../model-based-sac.js";
import { MOBILE_ADDED, MOBILE_PRESETS, MOBILE_SCHEMA, resolveMobileConfig, type MobileConfig } from "./config.js";
import { mobileTargetPenalty } from "./penalty.js";

export const mobile: AlgorithmPlugin<MobileConfig> = {
  name: "mobile",
  summary: "MOBILE (Sun et al. 2023): SAC on model rollouts of a dynamics ensemble, Bellman targets penalised by the ensemble's inconsistency",
  schema: MOBILE_SCHEMA,
  presets: MOBILE_PRESETS,
  added: MOBILE_ADDED,
  resolve: resolveMobileConfig,
  phases: (c) => ({
    model: { steps: c.dynamics.steps, batch: "own" },
    agent: { steps: c.sac.steps, batch: "transitions", batchSize: realBatchSize(c as ModelSacConfig) },
  }),
  discount: (c) => c.sac.discount,
  create: (c, dims, rng, data) => new ModelSacAgent("mobile", c as ModelSacConfig, dims, rng, data, { target: mobileTargetPenalty(c.penalty.coef ?? 0, c.penalty.samples) }),
  policySpec: (dir, opts = {}) => modelSacPolicySpec(dir, opts),
  referencePolicies: () => ({}),
};
