/**
 * MOPO as a plug-in (docs/design/method.md §17.2): a probabilistic dynamics ensemble (phase 1), then SAC on real and
 * model transitions whose rewards are penalised by the ensemble's max-aleatoric uncertainty (phase 2). The core is
 * src/algorithms/model-based-sac.ts; MOPO's part is its config and its penalty.
 */
import type { AlgorithmPlugin } from "../plugin.js";
import { ModelSacAgent, modelSacPolicySpec, realBatchSize, type ModelSacConfig } from "../model-based-sac.js";
import { MOPO_ADDED, MOPO_PRESETS, MOPO_SCHEMA, resolveMopoConfig, type MopoConfig } from "./config.js";
import { mopoPenalty } from "./penalty.js";

export const mopo: AlgorithmPlugin<MopoConfig> = {
  name: "mopo",
  summary: "MOPO (Yu et al. 2020): SAC on model rollouts of a dynamics ensemble, rewards penalised by its max-aleatoric uncertainty",
  schema: MOPO_SCHEMA,
  presets: MOPO_PRESETS,
  added: MOPO_ADDED,
  resolve: resolveMopoConfig,
  phases: (c) => ({
    model: { steps: c.dynamics.steps, batch: "own" },
    agent: { steps: c.sac.steps, batch: "transitions", batchSize: realBatchSize(c as ModelSacConfig) },
  }),
  discount: (c) => c.sac.discount,
  create: (c, dims, rng, data) => new ModelSacAgent("mopo", c as ModelSacConfig, dims, rng, data, { rollout: mopoPenalty(c.penalty.coef ?? 0) }),
  policySpec: (dir, opts = {}) => modelSacPolicySpec(dir, opts),
  referencePolicies: () => ({}),
};
