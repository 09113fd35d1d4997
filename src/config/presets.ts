/**
 * Config assembly for any algorithm: preset → JSON file → `--set` overrides → `--seed`, validated against the
 * algorithm's schema. The presets themselves live beside each algorithm (src/algorithms/<name>/config.ts).
 */
import { readFileSync } from "node:fs";
import { UserError } from "../errors.js";
import { applySet, mergeConfigObject, validateConfig, type Schema } from "./schema.js";

/** What assembly needs of an algorithm: its name, schema and presets. */
export interface ConfigDef<C> {
  readonly name: string;
  readonly schema: Schema;
  readonly presets: Readonly<Record<string, () => C>>;
}

export const DEFAULT_PRESET = "small";

export function presetConfig<C>(def: ConfigDef<C>, name: string): C {
  const make = Object.hasOwn(def.presets, name) ? def.presets[name] : undefined;
  if (!make) throw new UserError(`unknown preset '${name}' for --algo ${def.name}; valid presets: ${Object.keys(def.presets).join(", ")}`);
  return make();
}

export interface ConfigSources {
  preset?: string;
  /** Path to a JSON file holding a partial (or complete) config. */
  file?: string;
  /** `a.b=value` overrides, applied last in order. */
  sets?: string[];
  seed?: number;
}

function readConfigFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new UserError(`cannot read config file '${file}'`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UserError(`config file '${file}' is not valid JSON (${(e as Error).message})`);
  }
}

/**
 * Builds a config: preset (default "small"), then the JSON file, then `--set` overrides, then the seed flag.
 * A file may name its own `preset`; an explicit `preset` argument wins over it. A file naming another algorithm is
 * refused (its keys would not fit this schema).
 */
export function buildConfig<C extends object>(def: ConfigDef<C>, src: ConfigSources): C {
  const fileObj = src.file === undefined ? undefined : readConfigFile(src.file);
  const fileField = (k: string) => (fileObj !== null && typeof fileObj === "object" ? (fileObj as Record<string, unknown>)[k] : undefined);
  const fileAlgo = fileField("algo");
  if (fileAlgo !== undefined && fileAlgo !== def.name) {
    throw new UserError(`config file '${src.file}' is for --algo ${JSON.stringify(fileAlgo)}, not ${def.name}; pass --algo ${String(fileAlgo)} or drop its 'algo' key`);
  }
  const filePreset = typeof fileField("preset") === "string" ? (fileField("preset") as string) : undefined;
  const config = presetConfig(def, src.preset ?? filePreset ?? DEFAULT_PRESET);
  if (fileObj !== undefined) mergeConfigObject(def.schema, config, fileObj, `config file '${src.file}'`);
  for (const s of src.sets ?? []) applySet(def.schema, config, s);
  if (src.seed !== undefined) {
    if (!Number.isInteger(src.seed) || src.seed < 0) throw new UserError(`--seed must be a non-negative integer, got '${src.seed}'`);
    (config as { seed: number }).seed = src.seed;
  }
  validateConfig(def.schema, config);
  return config;
}

/** The common derived fields: final evaluation episodes (100 for antmaze, 10 otherwise, docs/method.md). */
export function resolveCommon<C extends { eval: { finalEpisodes: number | null } }>(config: C, datasetName: string): C {
  const c = structuredClone(config);
  if (c.eval.finalEpisodes === null) c.eval.finalEpisodes = isAntmaze(datasetName) ? 100 : 10;
  return c;
}

export function isAntmaze(datasetName: string): boolean {
  return datasetName.toLowerCase().includes("antmaze");
}
