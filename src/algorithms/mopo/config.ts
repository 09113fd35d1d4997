/**
 * MOPO's config (docs/design/method.md §17.2): the common sections, the model-based SAC core's `dynamics`, `rollout`
 * and `sac` (src/algorithms/model-based-sac.ts), and `penalty.coef` (λ of r̃ = r̂ − λ · u). The `full` preset holds
 * OfflineRL-Kit's `run_mopo.py` settings; h and λ per dataset follow the comments there.
 */
import { field, runSchema, upgradeConfig, validateConfig, type AddedFields, type Infer } from "../../config/schema.js";
import { resolveCommon } from "../../config/presets.js";
import { checkModelSacConfig, datasetKey, DYNAMICS_SECTION, ROLLOUT_SECTION, SAC_SECTION, type ModelSacConfig } from "../model-based-sac.js";

const { numOrNull } = field;

export const MOPO_PENALTY_SECTION = {
  /** λ of the max-aleatoric reward penalty; null (derived): the per-dataset value below. */
  coef: numOrNull({ min: 0 }),
} as const;

export const MOPO_SCHEMA = runSchema("mopo", { dynamics: DYNAMICS_SECTION, rollout: ROLLOUT_SECTION, sac: SAC_SECTION, penalty: MOPO_PENALTY_SECTION });

export type MopoConfig = Infer<typeof MOPO_SCHEMA>;

export const MOPO_ADDED: AddedFields = [];

/**
 * (h, λ) per dataset from `run_mopo.py`'s comments. Expert data has no published setting; h 5 and λ 1.0 are the
 * project's defaults there (the middle of the grid the spec suggests sweeping).
 */
const PER_DATASET: Record<string, { length: number; coef: number }> = {
  "halfcheetah-medium": { length: 5, coef: 0.5 },
  "hopper-medium": { length: 5, coef: 5.0 },
  "walker2d-medium": { length: 5, coef: 0.5 },
  "halfcheetah-medium-replay": { length: 5, coef: 0.5 },
  "hopper-medium-replay": { length: 5, coef: 2.5 },
  "walker2d-medium-replay": { length: 1, coef: 2.5 },
  "halfcheetah-medium-expert": { length: 5, coef: 2.5 },
  "hopper-medium-expert": { length: 5, coef: 5.0 },
  "walker2d-medium-expert": { length: 1, coef: 2.5 },
  "halfcheetah-expert": { length: 5, coef: 1.0 },
  "hopper-expert": { length: 5, coef: 1.0 },
  "walker2d-expert": { length: 5, coef: 1.0 },
};

/** The reference settings; evaluation every 10,000 steps instead of every epoch (1,000), as for the other baselines. */
function fullPreset(): MopoConfig {
  return {
    algo: "mopo",
    preset: "full",
    seed: 0,
    // window: only the diagnostics' dataset windows use it.
    data: { window: 32, batch: 256, obsNorm: false, rewardTransform: "none", splitAt: "auto", coverage: "equal" },
    dynamics: {
      members: 7,
      elites: 5,
      hidden: 200,
      layers: 4,
      weightDecay: "2.5e-5,5e-5,7.5e-5,7.5e-5,1e-4",
      logVarBoundCoef: 0.01,
      lr: 1e-3,
      eps: 1e-8,
      batch: 256,
      holdout: 0.2,
      maxHoldout: 1000,
      patience: 5,
      minImprovement: 0.01,
      steps: 2_000_000,
    },
    rollout: { every: 1000, batch: 50_000, length: null, retain: 5, realRatio: 0.05 },
    sac: { hidden: 256, layers: 2, actorLr: 1e-4, criticLr: 3e-4, alphaLr: 1e-4, eps: 1e-8, discount: 0.99, tau: 0.005, alpha: "auto", initAlpha: 1, batch: 256, steps: 3_000_000 },
    penalty: { coef: null },
    eval: { every: 10_000, episodes: 10, finalEpisodes: null, stochastic: false, posterior: "mean", maxSteps: 0, workers: 1 },
    train: { logEvery: 1_000, checkpointEvery: 10_000 },
  };
}

/**
 * Laptop preset: the reference networks; the ensemble fits for at most 20,000 steps (≈ 32 epochs of 160,000
 * training rows), SAC trains 20,000 steps (150× fewer than the reference) on rollouts of 5,000 start states every
 * 250 steps (the reference's 50,000 every 1,000 would fill the buffer with 10× the rollouts per SAC step).
 */
function smallPreset(): MopoConfig {
  const c = fullPreset();
  c.preset = "small";
  c.dynamics = { ...c.dynamics, steps: 20_000 };
  c.rollout = { ...c.rollout, every: 250, batch: 5_000 };
  c.sac = { ...c.sac, steps: 20_000 };
  c.eval = { ...c.eval, every: 5_000, episodes: 3, finalEpisodes: 5 };
  c.train = { logEvery: 200, checkpointEvery: 5_000 };
  return c;
}

/** The smoke preset: tests and CI. */
function tinyPreset(): MopoConfig {
  const c = fullPreset();
  c.preset = "tiny";
  c.data = { ...c.data, window: 10, batch: 32 };
  c.dynamics = { ...c.dynamics, members: 3, elites: 2, hidden: 16, layers: 2, weightDecay: "0,0,0", batch: 16, maxHoldout: 20, patience: 2, steps: 30 };
  c.rollout = { ...c.rollout, every: 10, batch: 20, retain: 2 };
  c.sac = { ...c.sac, hidden: 32, batch: 32, steps: 40 };
  c.eval = { ...c.eval, every: 20, episodes: 1, finalEpisodes: 1, maxSteps: 50 };
  c.train = { logEvery: 10, checkpointEvery: 0 };
  return c;
}

export const MOPO_PRESETS: Readonly<Record<string, () => MopoConfig>> = { tiny: tinyPreset, small: smallPreset, full: fullPreset };

export function resolveMopoConfig(config: MopoConfig, datasetName: string): MopoConfig {
  const c = resolveCommon(config, datasetName);
  const key = datasetKey(datasetName);
  const table = key ? PER_DATASET[key] : undefined;
  if (c.rollout.length === null && table) c.rollout.length = table.length;
  if (c.penalty.coef === null && table) c.penalty.coef = table.coef;
  checkModelSacConfig(c as ModelSacConfig);
  return c;
}

/** A saved MOPO config, upgraded and checked; one UserError line naming `where` otherwise. */
export function validateMopoConfig(raw: unknown, where: string): MopoConfig {
  upgradeConfig(raw, MOPO_ADDED);
  validateConfig(MOPO_SCHEMA, raw, where);
  return raw;
}
