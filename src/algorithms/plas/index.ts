/**
 * PLAS as a plug-in (docs/design/method.md §17.1): a conditional VAE of the dataset's actions (phase 1) and a
 * deterministic policy in its latent space with twin critics (phase 2), the state-independent ancestor of C-LAP's
 * constrained latent action policy.
 */
import type { AlgorithmPlugin } from "../plugin.js";
import { PlasAgent } from "./agent.js";
import { plasPolicySpec } from "./acting.js";
import { PLAS_ADDED, PLAS_PRESETS, PLAS_SCHEMA, resolvePlasConfig, type PlasConfig } from "./config.js";

export const plas: AlgorithmPlugin<PlasConfig> = {
  name: "plas",
  summary: "PLAS (Zhou et al. 2020): a deterministic policy in the latent space of an action VAE, with twin critics",
  schema: PLAS_SCHEMA,
  presets: PLAS_PRESETS,
  added: PLAS_ADDED,
  resolve: resolvePlasConfig,
  phases: (c) => ({ model: { steps: c.vae.steps, batch: "transitions" }, agent: { steps: c.agent.steps, batch: "transitions" } }),
  discount: (c) => c.agent.discount,
  create: (c, dims, rng) => new PlasAgent(c, dims, rng),
  policySpec: (dir, opts = {}) => plasPolicySpec(dir, opts),
  referencePolicies: () => ({}),
  bench: async () => (await import("./bench.js")).benchPlas(),
};
