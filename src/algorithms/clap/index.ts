/**
 * C-LAP as a plug-in (docs/design/method.md): phase 1 trains the latent action model on windows, phase 2 the
 * constrained policy and value on imagined rollouts from windows' posterior states. Its reference policy is the
 * prior policy (ũ = μ decoded), the jump-start's yardstick.
 */
import { meanAbsReturnToGo } from "../../data/episode.js";
import { LatentActionModel } from "../../models/latent-action-model.js";
import { Rng } from "../../engine/rng.js";
import type { PolicySpec } from "../../eval/policy.js";
import type { AlgorithmPlugin } from "../plugin.js";
import { ClapAgent } from "./agent.js";
import { clapPolicySpec } from "./acting.js";
import { CLAP_ADDED, CLAP_PRESETS, CLAP_SCHEMA, resolveClapConfig, type ClapConfig } from "./config.js";
import { resolved } from "./networks.js";

export const clap: AlgorithmPlugin<ClapConfig> = {
  name: "clap",
  summary: "C-LAP: latent action model, then a constrained latent policy trained on imagined rollouts",
  schema: CLAP_SCHEMA,
  presets: CLAP_PRESETS,
  added: CLAP_ADDED,
  resolve: resolveClapConfig,
  phases: (c) => ({
    model: { steps: c.model.steps, batch: "windows" },
    // Only the value warm-up regresses on the data's returns-to-go.
    agent: { steps: c.agent.steps, batch: "windows", returnsToGo: c.agent.valueWarmup > 0 ? resolved(c.agent.discount, "agent.discount") : undefined },
  }),
  discount: (c) => c.agent.discount,
  dims: (c, store) => (c.agent.valueScale === "returns" ? { returnScale: Math.max(1, meanAbsReturnToGo(store.episodes, resolved(c.agent.discount, "agent.discount"))) } : {}),
  create: (c, dims, rng) => new ClapAgent(c, dims, rng),
  policySpec: (dir, opts = {}) => clapPolicySpec(dir, opts),
  referencePolicies: (c, dir): Record<string, PolicySpec> => (c.model.latentAction ? { prior: clapPolicySpec(dir, { prior: true }) } : {}),
  // A reused model brings its own architecture and observation normalisation; the run records them as used.
  withModelFrom: (c, source, modelSteps) => ({ ...c, model: { ...source.model, steps: modelSteps }, data: { ...c.data, obsNorm: source.data.obsNorm } }),
  bench: async () => (await import("./bench.js")).benchMethod(),
  actionModel: (ckpt) => {
    if (!ckpt.config.model.latentAction) return { note: "Skipped: this run's model has no latent actions (the no-latent-action ablation), so there is no latent action prior to decode." };
    const model = new LatentActionModel(ckpt.config.model, ckpt.dims, new Rng(0));
    ckpt.restoreParams("model", model.namedParams());
    return { model };
  },
};
