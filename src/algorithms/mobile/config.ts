/**
 * MOBILE's config (docs/design/method.md §17.3): the common sections, the model-based SAC core's `dynamics`,
 * `rollout` and `sac` (src/algorithms/model-based-sac.ts), and `penalty` (β of the Bellman-inconsistency penalty and
 * the next-state samples per elite). The `full` preset holds `yihaosun1124/mobile`'s `configs/gym/default.py` with
 * the per-task files' h, β, real ratio and α.
 */
import { field, runSchema, upgradeConfig, validateConfig, type AddedFields, type Infer } from "../../config/schema.js";
import { resolveCommon } from "../../config/presets.js";
import { checkModelSacConfig, datasetKey, DYNAMICS_SECTION, laptopPreset, referenceSections, ROLLOUT_SECTION, SAC_SECTION, smokePreset, type ModelSacConfig } from "../model-based-sac.js";

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
 * The reference settings (referenceSections) with MOBILE's 10 next-state samples; h, β, real ratio and α per
 * dataset. Departure: the reference's cosine decay of the actor's learning rate (`lr_scheduler`) is not applied.
 */
function fullPreset(): MobileConfig {
  return { ...referenceSections(), algo: "mobile", penalty: { coef: null, samples: 10 } };
}

/** Laptop and smoke presets as MOPO's (model-based-sac.ts), with the same budgets so the two compare. */
export const MOBILE_PRESETS: Readonly<Record<string, () => MobileConfig>> = {
  tiny: () => {
    const c = smokePreset(fullPreset() as ModelSacConfig) as MobileConfig;
    c.penalty = { ...c.penalty, samples: 3 };
    return c;
  },
  small: () => laptopPreset(fullPreset() as ModelSacConfig) as MobileConfig,
  full: fullPreset,
};

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
