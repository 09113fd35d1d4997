/**
 * MOBILE's config (docs/design/method.md §17.3): the common sections, the model-based SAC core's `dynamics`,
 * `rollout` and `sac` (src/algorithms/model-based-sac.ts), and `penalty` (β of the Bellman-inconsistency penalty and
 * the next-state samples per elite). The `full` preset holds `yihaosun1124/mobile`'s `configs/gym/default.py` with
 * the per-task files' h, β, real ratio and α.
 */
import { field, runSchema, upgradeConfig, validateConfig, type AddedFields, type Infer } from "../../config/schema.js";
import { resolveCommon } from "../../config/presets.js";
import { checkModelSacConfig, datasetKey, DYNAMICS_SECTION, ROLLOUT_SECTION, SAC_SECTION, type ModelSacConfig } from "../model-based-sac.js";

const { int, numOrNull } = field;

export const MOBILE_PENALTY_SECTION = {
  /** β of the Bellman-inconsistency penalty; null (derived): the per-dataset value below. */
  coef: numOrNull({ min: 0 }),
  /** Next states drawn from each elite per model transition (`num_samples`). */
  samples: int(1),
} as const;

export const MOBILE_SCHEMA = runSchema("mobile", { dynamics: DYNAMICS_SECTION, rollout: ROLLOUT_SECTION, sac: SAC_SECTION, penalty: MOBILE_PENALTY_SECTION });

export type MobileConfig = Infer<typeof MOBILE_SCHEMA>;

export const MOBILE_ADDED: AddedFields = [];

/**
 * Per task (the reference's per-task files): h, β, real ratio, and α fixed at 0.2 where `auto_alpha` is off. Expert
 * data has no published setting; the project uses the medium-expert row of the same environment there.
 */
const PER_DATASET: Record<string, { length: number; coef: number; realRatio: number; fixedAlpha?: number }> = {
  "halfcheetah-medium": { length: 5, coef: 0.5, realRatio: 0.05 },
  "halfcheetah-medium-replay": { length: 5, coef: 0.1, realRatio: 0.05 },
  "halfcheetah-medium-expert": { length: 5, coef: 1.0, realRatio: 0.5 },
  "hopper-medium": { length: 5, coef: 1.5, realRatio: 0.05, fixedAlpha: 0.2 },
  "hopper-medium-replay": { length: 5, coef: 0.1, realRatio: 0.05, fixedAlpha: 0.2 },
  "hopper-medium-expert": { length: 5, coef: 1.5, realRatio: 0.05 },
  "walker2d-medium": { length: 5, coef: 0.5, realRatio: 0.05 },
  "walker2d-medium-replay": { length: 1, coef: 0.5, realRatio: 0.05 },
  "walker2d-medium-expert": { length: 1, coef: 1.5, realRatio: 0.05 },
};
const EXPERT_AS: Record<string, string> = { "halfcheetah-expert": "halfcheetah-medium-expert", "hopper-expert": "hopper-medium-expert", "walker2d-expert": "walker2d-medium-expert" };

/**
 * The reference settings. Departures: evaluation every 10,000 steps instead of every epoch; the reference's cosine
 * decay of the actor's learning rate (`lr_scheduler`) is not applied.
 */
function fullPreset(): MobileConfig {
  return {
    algo: "mobile",
    preset: "full",
    seed: 0,
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
    rollout: { every: 1000, batch: 50_000, length: null, retain: 5, realRatio: null },
    sac: { hidden: 256, layers: 2, actorLr: 1e-4, criticLr: 3e-4, alphaLr: 1e-4, eps: 1e-8, discount: 0.99, tau: 0.005, alpha: "derived", initAlpha: 1, batch: 256, steps: 3_000_000 },
    penalty: { coef: null, samples: 10 },
    eval: { every: 10_000, episodes: 10, finalEpisodes: null, stochastic: false, posterior: "mean", maxSteps: 0, workers: 1 },
    train: { logEvery: 1_000, checkpointEvery: 10_000 },
  };
}

/** Laptop preset: as MOPO's (src/algorithms/mopo/config.ts), with the same budgets so the two compare. */
function smallPreset(): MobileConfig {
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
function tinyPreset(): MobileConfig {
  const c = fullPreset();
  c.preset = "tiny";
  c.data = { ...c.data, window: 10, batch: 32 };
  c.dynamics = { ...c.dynamics, members: 3, elites: 2, hidden: 16, layers: 2, weightDecay: "0,0,0", batch: 16, maxHoldout: 20, patience: 2, steps: 30 };
  c.rollout = { ...c.rollout, every: 10, batch: 20, retain: 2 };
  c.sac = { ...c.sac, hidden: 32, batch: 32, steps: 40 };
  c.penalty = { ...c.penalty, samples: 3 };
  c.eval = { ...c.eval, every: 20, episodes: 1, finalEpisodes: 1, maxSteps: 50 };
  c.train = { logEvery: 10, checkpointEvery: 0 };
  return c;
}

export const MOBILE_PRESETS: Readonly<Record<string, () => MobileConfig>> = { tiny: tinyPreset, small: smallPreset, full: fullPreset };

export function resolveMobileConfig(config: MobileConfig, datasetName: string): MobileConfig {
  const c = resolveCommon(config, datasetName);
  const key = datasetKey(datasetName);
  const table = key ? PER_DATASET[EXPERT_AS[key] ?? key] : undefined;
  if (table) {
    if (c.rollout.length === null) c.rollout.length = table.length;
    if (c.penalty.coef === null) c.penalty.coef = table.coef;
    if (c.rollout.realRatio === null) c.rollout.realRatio = table.realRatio;
    if (c.sac.alpha === "derived") {
      c.sac.alpha = table.fixedAlpha === undefined ? "auto" : "fixed";
      if (table.fixedAlpha !== undefined) c.sac.initAlpha = table.fixedAlpha;
    }
  }
  checkModelSacConfig(c as ModelSacConfig);
  return c;
}

/** A saved MOBILE config, upgraded and checked; one UserError line naming `where` otherwise. */
export function validateMobileConfig(raw: unknown, where: string): MobileConfig {
  upgradeConfig(raw, MOBILE_ADDED);
  validateConfig(MOBILE_SCHEMA, raw, where);
  return raw;
}
