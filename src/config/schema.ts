/**
 * Typed run configuration: a schema is declared once per section, with each field's type and range, and the
 * TypeScript type of a config follows from it (`Infer`). The same schema validates JSON config files, `--set a.b=v`
 * overrides and saved run configs, so a field cannot be typed one way and checked another.
 *
 * A run config is the common sections below (data, eval, train) plus the sections its algorithm declares
 * (src/algorithms/<name>/config.ts); `algo` names the algorithm. Every project default is a preset value, never a
 * constant in code. A `null` in a field marked "derived" means "derive from the dataset name"; the resolved values
 * are written into the run's config.json.
 */
import { UserError } from "../errors.js";

/** A field: its kind and range; `T` is the TypeScript type it stands for (phantom, never set at run time). */
export type Leaf<T = unknown> = (
  | { kind: "int"; min: number; nullable: boolean }
  | { kind: "number"; min?: number; max?: number; positive?: boolean; nullable: boolean }
  | { kind: "bool" }
  | { kind: "enum"; values: readonly string[] }
  | { kind: "string" }
) & { readonly __type?: T };

export type Schema = { readonly [key: string]: Leaf | Schema };

/** The config type a schema describes. */
export type Infer<S> = S extends Leaf<infer T> ? T : { -readonly [K in keyof S]: Infer<S[K]> };

type NumOpts = { min?: number; max?: number; positive?: boolean };

export const field = {
  int: (min: number): Leaf<number> => ({ kind: "int", min, nullable: false }),
  /** An integer or null (null: derived). */
  intOrNull: (min: number): Leaf<number | null> => ({ kind: "int", min, nullable: true }),
  num: (o: NumOpts = {}): Leaf<number> => ({ kind: "number", ...o, nullable: false }),
  numOrNull: (o: NumOpts = {}): Leaf<number | null> => ({ kind: "number", ...o, nullable: true }),
  bool: { kind: "bool" } as Leaf<boolean>,
  oneOf: <const V extends readonly string[]>(...values: V): Leaf<V[number]> => ({ kind: "enum", values }),
  string: { kind: "string" } as Leaf<string>,
};
const { int, intOrNull, bool, oneOf, string } = field;

/** Dataset and batch settings (docs/design/datasets.md §5). */
export const DATA_SCHEMA = {
  /** Window length T (window batches). */
  window: int(1),
  /** Batch size: windows, or transitions for algorithms that train on single transitions. */
  batch: int(1),
  /** Per-dimension z-scoring of vector observations with the dataset's mean/std (docs/method.md). */
  obsNorm: bool,
  /** Reward transform applied by the loader (antmaze options, docs/datasets.md). */
  rewardTransform: oneOf("none", "minus-one", "cql"),
  /** Episode splitting: "auto" lets the loader choose (done for locomotion, timeouts for antmaze). */
  splitAt: oneOf("auto", "done", "timeouts"),
  /**
   * "equal": every dataset entry lies in T training windows, episode starts and ends included (truncated windows at
   * both ends); "full": only full windows, which cover starts and ends T-fold less (docs/deviations.md).
   */
  coverage: oneOf("equal", "full"),
} as const satisfies Schema;

export const EVAL_SCHEMA = {
  /** Phase-2 steps between evaluations (0: only the final one). */
  every: int(0),
  episodes: int(1),
  /** Final evaluation episodes; null (derived): 100 for antmaze, 10 otherwise. */
  finalEpisodes: intOrNull(0),
  /** Sample the policy instead of its mode. */
  stochastic: bool,
  /** Filtered latent state when acting: posterior mean or a sample (algorithms with a latent state). */
  posterior: oneOf("mean", "sample"),
  /** Cap on episode steps (0: the environment's own limit). */
  maxSteps: int(0),
  workers: int(1),
} as const satisfies Schema;

export const TRAIN_SCHEMA = {
  /** Steps between progress lines on stderr. */
  logEvery: int(1),
  /** Steps between checkpoints within a phase (0: only at phase ends). */
  checkpointEvery: int(0),
} as const satisfies Schema;

/** The sections every run config has; an algorithm adds its own. */
export const COMMON_SCHEMA = {
  preset: string,
  seed: int(0),
  data: DATA_SCHEMA,
  eval: EVAL_SCHEMA,
  train: TRAIN_SCHEMA,
} as const satisfies Schema;

export type DataConfig = Infer<typeof DATA_SCHEMA>;
export type EvalConfig = Infer<typeof EVAL_SCHEMA>;
export type TrainConfig = Infer<typeof TRAIN_SCHEMA>;
/** What the training loop, evaluation and reports read from any run config. */
export type CommonConfig = { algo: string } & Infer<typeof COMMON_SCHEMA>;

/** A whole run schema: `algo` (fixed to the algorithm's name), the common sections, then the algorithm's own. */
export function runSchema<const N extends string, S extends Schema>(algo: N, sections: S): { algo: Leaf<N> } & typeof COMMON_SCHEMA & S {
  return { algo: oneOf(algo), ...COMMON_SCHEMA, ...sections };
}

function isLeaf(s: Leaf | Schema): s is Leaf {
  return typeof (s as Leaf).kind === "string";
}

function unknownKey(where: string, path: string[], level: Schema): UserError {
  const at = path.slice(0, -1).join(".");
  return new UserError(`${where}: unknown key '${path.join(".")}'; valid keys${at ? ` in '${at}'` : ""}: ${Object.keys(level).join(", ")}`);
}

function describe(leaf: Leaf): string {
  switch (leaf.kind) {
    case "int":
      return `an integer ≥ ${leaf.min}${leaf.nullable ? " or null" : ""}`;
    case "number": {
      const range = leaf.positive ? " > 0" : leaf.min !== undefined && leaf.max !== undefined ? ` in [${leaf.min}, ${leaf.max}]` : leaf.min !== undefined ? ` ≥ ${leaf.min}` : "";
      return `a number${range}${leaf.nullable ? " or null" : ""}`;
    }
    case "bool":
      return "true or false";
    case "enum":
      return `one of ${leaf.values.join(", ")}`;
    case "string":
      return "a string";
  }
}

function leafOk(leaf: Leaf, v: unknown): boolean {
  switch (leaf.kind) {
    case "int":
      return (v === null && leaf.nullable) || (typeof v === "number" && Number.isInteger(v) && v >= leaf.min);
    case "number":
      if (v === null) return leaf.nullable;
      return (
        typeof v === "number" &&
        Number.isFinite(v) &&
        (!leaf.positive || v > 0) &&
        (leaf.min === undefined || v >= leaf.min) &&
        (leaf.max === undefined || v <= leaf.max)
      );
    case "bool":
      return typeof v === "boolean";
    case "enum":
      return typeof v === "string" && leaf.values.includes(v);
    case "string":
      return typeof v === "string";
  }
}

/**
 * Parses the text of a `--set` value into the leaf's type; throws a UserError naming the key. Numbers are decimal
 * only: `0x10` or `1e` are refused rather than read as something else (issue 12).
 */
function parseLeafText(leaf: Leaf, text: string, key: string, where: string): unknown {
  let v: unknown;
  if (text === "null") v = null;
  else if (leaf.kind === "int" || leaf.kind === "number") v = /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(text) ? Number(text) : NaN;
  else if (leaf.kind === "bool") v = text === "true" ? true : text === "false" ? false : text;
  else v = text;
  if (!leafOk(leaf, v)) throw new UserError(`${where}: '${key}' must be ${describe(leaf)}, got '${text}'`);
  return v;
}

function lookup(schema: Schema, path: string[], where: string): Leaf {
  let node: Leaf | Schema = schema;
  for (let i = 0; i < path.length; i++) {
    if (isLeaf(node)) throw new UserError(`${where}: '${path.slice(0, i).join(".")}' is a value, not a section`);
    if (!Object.hasOwn(node, path[i])) throw unknownKey(where, path.slice(0, i + 1), node);
    node = node[path[i]];
  }
  if (!isLeaf(node)) {
    throw new UserError(`${where}: '${path.join(".")}' is a section; set one of its keys: ${Object.keys(node).join(", ")}`);
  }
  return node;
}

function setPath(obj: object, path: string[], value: unknown): void {
  let o = obj as Record<string, unknown>;
  for (const p of path.slice(0, -1)) o = o[p] as Record<string, unknown>;
  o[path[path.length - 1]] = value;
}

/** Applies one `a.b=value` override in place; `where` names the source in error messages (e.g. "--set"). */
export function applySet(schema: Schema, config: object, assignment: string, where = "--set"): void {
  const eq = assignment.indexOf("=");
  if (eq <= 0) throw new UserError(`${where}: expected key=value, got '${assignment}'`);
  const key = assignment.slice(0, eq).trim();
  const path = key.split(".");
  const leaf = lookup(schema, path, where);
  if (key === "preset") throw new UserError(`${where}: 'preset' names where the values came from; choose one with --preset instead`);
  setPath(config, path, parseLeafText(leaf, assignment.slice(eq + 1), key, where));
}

/** Merges a parsed JSON object (a partial config) into `config` in place, checking keys and types. */
export function mergeConfigObject(schema: Schema, config: object, obj: unknown, where: string): void {
  const walk = (value: unknown, node: Leaf | Schema, path: string[]): void => {
    const key = path.join(".") || "<root>";
    if (isLeaf(node)) {
      if (!leafOk(node, value)) throw new UserError(`${where}: '${key}' must be ${describe(node)}, got ${JSON.stringify(value)}`);
      setPath(config, path, value);
      return;
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) throw new UserError(`${where}: '${key}' must be an object`);
    for (const [k, v] of Object.entries(value)) {
      if (!Object.hasOwn(node, k)) throw unknownKey(where, [...path, k], node);
      walk(v, node[k], [...path, k]);
    }
  };
  walk(obj, schema, []);
}

/**
 * Fields added after a config version was first saved, with the value that reproduces the behaviour of a config
 * written before them (not today's default): a saved run or checkpoint that lacks them loads, resumes and evaluates
 * exactly as it was trained.
 */
export type AddedFields = readonly (readonly [readonly string[], unknown])[];

/** Fills the fields an older config lacks in place; returns whether any was missing. */
export function upgradeConfig(config: unknown, added: AddedFields): boolean {
  let filled = false;
  for (const [path, value] of added) {
    const parent = path.slice(0, -1).reduce<unknown>((o, p) => (o !== null && typeof o === "object" ? (o as Record<string, unknown>)[p] : undefined), config);
    // A missing or malformed section is left for validateConfig to name.
    if (parent === null || typeof parent !== "object") continue;
    const key = path[path.length - 1];
    if (!Object.hasOwn(parent, key)) {
      (parent as Record<string, unknown>)[key] = structuredClone(value);
      filled = true;
    }
  }
  return filled;
}

/** Checks that every schema field is present with the right type and that there are no extra keys. */
export function validateConfig<S extends Schema>(schema: S, config: unknown, where = "config"): asserts config is Infer<S> {
  const walk = (s: Schema, value: unknown, path: string[]): void => {
    const at = path.join(".") || "<root>";
    if (value === null || typeof value !== "object" || Array.isArray(value)) throw new UserError(`${where}: '${at}' must be an object`);
    for (const k of Object.keys(value)) {
      if (!Object.hasOwn(s, k)) throw unknownKey(where, [...path, k], s);
    }
    for (const [k, sub] of Object.entries(s)) {
      const v = (value as Record<string, unknown>)[k];
      const key = [...path, k].join(".");
      if (v === undefined) throw new UserError(`${where}: missing key '${key}'`);
      if (isLeaf(sub)) {
        if (!leafOk(sub, v)) throw new UserError(`${where}: '${key}' must be ${describe(sub)}, got ${JSON.stringify(v)}`);
      } else walk(sub, v, [...path, k]);
    }
  };
  walk(schema, config, []);
}
