/**
 * The registered algorithms, by name: the one place outside an algorithm's own folder that names it. Everything
 * else (training, evaluation, reports, sweeps, `reproduce`) asks the registry.
 */
import { UserError } from "../errors.js";
import { buildConfig, DEFAULT_PRESET, presetConfig, type ConfigSources } from "../config/presets.js";
import { mergeConfigObject, upgradeConfig, validateConfig, type CommonConfig } from "../config/schema.js";
import { loadCheckpointWith, type CheckpointPreference, type LoadedCheckpoint } from "./checkpoint.js";
import type { AlgorithmPlugin } from "./plugin.js";
import { clap } from "./clap/index.js";
import { bc } from "./bc/index.js";
import { plas } from "./plas/index.js";
import { mopo } from "./mopo/index.js";
import { mobile } from "./mobile/index.js";

/**
 * A plug-in with its config type erased. Safe because every config reaching a plug-in was built or validated by
 * that same plug-in's schema (the registry dispatches on the config's own `algo`).
 */
function register<C extends CommonConfig>(plugin: AlgorithmPlugin<C>): AlgorithmPlugin {
  return plugin as unknown as AlgorithmPlugin;
}

const PLUGINS: readonly AlgorithmPlugin[] = [register(clap), register(bc), register(plas), register(mopo), register(mobile)];

/** Registered algorithm names, in listing order. */
export const ALGORITHM_NAMES: readonly string[] = PLUGINS.map((p) => p.name);

/** The algorithm `clap-rl train` uses without --algo. */
export const DEFAULT_ALGORITHM = ALGORITHM_NAMES[0];

/** A plug-in by name; one UserError line listing the registered ones otherwise. */
export function algorithm(name: string): AlgorithmPlugin {
  const p = PLUGINS.find((x) => x.name === name);
  if (!p) throw new UserError(`--algo '${name}': unknown algorithm; available: ${ALGORITHM_NAMES.join(", ")}`);
  return p;
}

/** Preset → JSON file → --set → --seed for the algorithm `algo` (default: the file's `algo`, else DEFAULT_ALGORITHM). */
export function buildRunConfig(algo: string | undefined, src: ConfigSources): CommonConfig {
  return buildConfig(algorithm(algo ?? DEFAULT_ALGORITHM), src);
}

/** The derived fields filled from the dataset name (a new object). */
export function resolveRunConfig(config: CommonConfig, datasetName: string): CommonConfig {
  return algorithm(config.algo).resolve(config, datasetName);
}

/**
 * A saved run config (config.json), upgraded with its algorithm's added fields and checked against its schema. A
 * config without `algo` predates the registry and was C-LAP's: DEFAULT_ALGORITHM.
 */
export function validateRunConfig(raw: unknown, where: string): CommonConfig {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw new UserError(`${where}: not a config object`);
  const algo = (raw as { algo?: unknown }).algo;
  if (algo !== undefined && typeof algo !== "string") throw new UserError(`${where}: 'algo' must be a string, got ${JSON.stringify(algo)}`);
  const plugin = algorithm(algo ?? DEFAULT_ALGORITHM);
  upgradeConfig(raw, plugin.added);
  validateConfig(plugin.schema, raw, where);
  return raw as CommonConfig;
}

/**
 * A run's config for reading (reports): like validateRunConfig, but fields missing beyond the algorithm's added
 * ones are filled from the run's preset (`filled`), so a report can still be drawn; unknown keys or wrong types
 * remain errors.
 */
export function readRunConfig(raw: unknown, where: string): { config: CommonConfig; filled: boolean } {
  try {
    return { config: validateRunConfig(raw, where), filled: false };
  } catch (e) {
    if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw e;
    const { algo, preset } = raw as { algo?: unknown; preset?: unknown };
    const plugin = algorithm(typeof algo === "string" ? algo : DEFAULT_ALGORITHM);
    const base = presetConfig(plugin, typeof preset === "string" && Object.hasOwn(plugin.presets, preset) ? preset : DEFAULT_PRESET);
    mergeConfigObject(plugin.schema, base, raw, where);
    validateConfig(plugin.schema, base, where);
    return { config: base as CommonConfig, filled: true };
  }
}

/** A checkpoint (or a run's latest checkpoint) of any registered algorithm, its config checked by that algorithm. */
export function loadCheckpoint(path: string, prefer: CheckpointPreference = "checkpoint"): LoadedCheckpoint {
  return loadCheckpointWith(path, validateRunConfig, prefer);
}
