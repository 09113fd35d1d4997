/**
 * MOPO's config (docs/design/method.md §17.2): the common sections, the model-based SAC core's `dynamics`, `rollout`
 * and `sac` (src/algorithms/model-based-sac.ts), and `penalty.coef` (λ of r̃ = r̂ − λ · u). The `full` preset holds
 * OfflineRL-Kit's `run_mopo.py` settings; h and λ per dataset follow the comments there.
 */
import { field, runSchema, upgradeConfig, validateConfig, type AddedFields, type Infer } from "../../config/schema.js";
import { resolveCommon } from "../../config/presets.js";
import { checkModelSacConfig, datasetKey, DYNAMICS_SECTION, laptopPreset, referenceSections, ROLLOUT_SECTION, SAC_SECTION, smokePreset, type ModelSacConfig } from "../model-based-sac.js";

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

/** The reference settings (referenceSections), MOPO's real ratio 0.05 and automatic α; λ and h per dataset. */
function fullPreset(): MopoConfig {
  const r = referenceSections();
  return { ...r, algo: "mopo", rollout: { ...r.rollout, realRatio: 0.05 }, sac: { ...r.sac, alpha: "auto" }, penalty: { coef: null } };
}

export const MOPO_PRESETS: Readonly<Record<string, () => MopoConfig>> = {
  tiny: () => smokePreset(fullPreset() as ModelSacConfig) as MopoConfig,
  small: () => laptopPreset(fullPreset() as ModelSacConfig) as MopoConfig,
  full: fullPreset,
};

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
