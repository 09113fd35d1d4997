/**
 * Behaviour cloning's config (docs/design/baselines.md, BC): the common sections plus `bc` — an MLP from the
 * (normalised) observation to the action, deterministic (tanh output, squared error) or Gaussian (tanh mean, learned
 * σ, negative log-likelihood), the usual offline-RL recipe (2 × 256 ReLU, Adam 1e-3, batches of 256 transitions).
 */
import { field, runSchema, upgradeConfig, validateConfig, type AddedFields, type Infer } from "../../config/schema.js";
import { resolveCommon } from "../../config/presets.js";
import { UserError } from "../../errors.js";

const { int, num, oneOf } = field;

export const BC_SECTION = {
  /** "deterministic": a = tanh(MLP(o)), squared error; "gaussian": N(tanh(m), σ) with σ from the network, NLL. */
  policy: oneOf("deterministic", "gaussian"),
  hidden: int(1),
  layers: int(0),
  activation: oneOf("relu", "tanh", "elu", "selu"),
  /** log σ is squashed into [logStdMin, logStdMax] (gaussian). */
  logStdMin: num(),
  logStdMax: num(),
  lr: num({ positive: true }),
  eps: num({ positive: true }),
  clip: num({ min: 0 }),
  /** Gradient steps (phase 2; BC has no phase 1). */
  steps: int(0),
} as const;

export const BC_SCHEMA = runSchema("bc", { bc: BC_SECTION });

export type BcConfig = Infer<typeof BC_SCHEMA>;

export const BC_ADDED: AddedFields = [];

function fullPreset(): BcConfig {
  return {
    algo: "bc",
    preset: "full",
    seed: 0,
    // window: only the diagnostics' dataset windows use it (BC trains on single transitions).
    data: { window: 32, batch: 256, obsNorm: true, rewardTransform: "none", splitAt: "auto", coverage: "equal" },
    bc: { policy: "deterministic", hidden: 256, layers: 2, activation: "relu", logStdMin: -5, logStdMax: 2, lr: 1e-3, eps: 1e-8, clip: 100, steps: 100_000 },
    eval: { every: 10_000, episodes: 10, finalEpisodes: null, stochastic: false, posterior: "mean", maxSteps: 0, workers: 1 },
    train: { logEvery: 500, checkpointEvery: 10_000 },
  };
}

/** Laptop preset: the same network, 10,000 steps (about a minute of CPU; where BC's score has levelled off on the regenerated locomotion data, docs/results.md). */
function smallPreset(): BcConfig {
  const c = fullPreset();
  c.preset = "small";
  c.bc = { ...c.bc, steps: 10_000 };
  c.eval = { ...c.eval, every: 2_500, episodes: 3, finalEpisodes: 5 };
  c.train = { logEvery: 100, checkpointEvery: 2_500 };
  return c;
}

/** The smoke preset: tests and CI. */
function tinyPreset(): BcConfig {
  const c = fullPreset();
  c.preset = "tiny";
  c.data = { ...c.data, window: 10, batch: 32 };
  c.bc = { ...c.bc, hidden: 32, steps: 50 };
  c.eval = { ...c.eval, every: 25, episodes: 1, finalEpisodes: 1, maxSteps: 50 };
  c.train = { logEvery: 10, checkpointEvery: 0 };
  return c;
}

export const BC_PRESETS: Readonly<Record<string, () => BcConfig>> = { tiny: tinyPreset, small: smallPreset, full: fullPreset };

export function resolveBcConfig(config: BcConfig, datasetName: string): BcConfig {
  const c = resolveCommon(config, datasetName);
  if (c.bc.logStdMin >= c.bc.logStdMax) throw new UserError(`bc.logStdMin (${c.bc.logStdMin}) must be below bc.logStdMax (${c.bc.logStdMax})`);
  return c;
}

/** A saved BC config, upgraded and checked; one UserError line naming `where` otherwise. */
export function validateBcConfig(raw: unknown, where: string): BcConfig {
  upgradeConfig(raw, BC_ADDED);
  validateConfig(BC_SCHEMA, raw, where);
  return raw;
}
