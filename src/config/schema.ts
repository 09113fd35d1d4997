/**
 * Typed run configuration for C-LAP (method spec §16): the field types, the schema that validates them, and the
 * helpers that apply `--set a.b=value` overrides and JSON config files.
 *
 * Every project default of the spec is a field here, never a constant in code. A `null` in the fields marked
 * "derived" means "derive from the dataset name" (ε per §16.3, γ and final evaluation episodes per §16.1); the
 * resolved values are written into the run's config.json.
 */
import { UserError } from "../errors.js";

export interface DataConfig {
  /** Window length T. */
  window: number;
  /** Batch size B. */
  batch: number;
  /** Per-dimension z-scoring of vector observations with the dataset's mean/std (spec §15 item 12). */
  obsNorm: boolean;
  /** Reward transform applied by the loader (datasets spec §5.4; antmaze options). */
  rewardTransform: "none" | "minus-one" | "cql";
  /** Episode splitting: "auto" lets the loader choose (done for locomotion, timeouts for antmaze, spec §15 item 10). */
  splitAt: "auto" | "done" | "timeouts";
  /**
   * "equal": every dataset entry lies in T training windows, episode starts and ends included (truncated windows at
   * both ends); "full": only full windows, which cover starts and ends T-fold less (docs/deviations.md).
   */
  coverage: "equal" | "full";
}

export interface ModelConfig {
  /** false: plain RSSM without latent actions (ablation `no-latent-action`, spec §10). */
  latentAction: boolean;
  /** Hidden units of every MLP (shared, spec §16.1). */
  hidden: number;
  /** Hidden layers per MLP head. */
  layers: number;
  /** Observation embedding size. */
  embed: number;
  /** Deterministic (GRU) state size. */
  deter: number;
  /** Stochastic state size. */
  stoch: number;
  /** Latent action size d_u. */
  latentActionDim: number;
  /** σ_min of the latent-state prior/posterior heads (softplus + σ_min). */
  stateMinStd: number;
  /** σ_min of the latent-action prior/posterior. */
  latentActionMinStd: number;
  /** σ_min of the action decoder. */
  actionMinStd: number;
  /** Termination head on/off (off: c ≡ 1, the V-D4RL preset). */
  termination: boolean;
  /** Mask reward/termination terms at an episode's first entry (spec §3.2 m^r). */
  maskFirstReward: boolean;
  /**
   * Scales of the model loss terms (spec eq. 5 has all 1). `act` scales the action half of the joint likelihood,
   * reconstruction and latent-action KL together, so it does not change the price of information in u. `klState`
   * below 1 lets the latent state keep the precision a behaviour model needs; `klAction` below 1 makes the latent
   * action, rather than the decoder's σ, carry the data's action spread (docs/deviations.md).
   */
  scales: { obs: number; act: number; rew: number; cont: number; klState: number; klAction: number };
  kl: {
    /** Free nats on the batch-mean KL (0 = plain ELBO). */
    freeNats: number;
    /** KL balancing weight α on the prior side (0 = off, plain ELBO). */
    balance: number;
  };
  init: "uniform" | "lecun";
  lr: number;
  eps: number;
  clip: number;
  /** Phase-1 gradient steps. */
  steps: number;
}

export interface PolicyConfig {
  /** "box": x ~ tanh-Normal, ũ = μ + εσx (spec §4.3). "none": unbounded Normal over u (ablation, spec §10). */
  constraint: "box" | "none";
  hidden: number;
  layers: number;
  /** s_init of s = softplus(s_raw + softplus⁻¹(s_init)) + s_min. */
  initStd: number;
  minStd: number;
  /** m = meanScale·tanh(m_raw / meanScale). */
  meanScale: number;
  /**
   * "zero": the output layer's mean weights start at 0, so the untrained policy's mode is ũ = μ (the prior policy);
   * "random": they keep their random draw, as every other layer (docs/deviations.md).
   */
  initMean: "zero" | "random";
}

export interface AgentConfig {
  /** Constraint width ε in prior standard deviations; null: from the dataset family (§16.3). */
  epsilon: number | null;
  horizon: number;
  /** Discount γ; null: 0.995 for antmaze, 0.99 otherwise. */
  discount: number | null;
  returnTarget: "nstep" | "lambda";
  /** N of the n-step target; null: N = H. */
  nstep: number | null;
  lambda: number;
  weighting: "none" | "continuation" | "discount";
  valueTarget: "none" | "slow";
  /** Agent steps between slow value-target copies. */
  slowEvery: number;
  /** η, the log-probability regulariser scale. */
  eta: number;
  imaginedAction: "mean" | "sample";
  /** Value MLP size. */
  hidden: number;
  layers: number;
  lr: number;
  eps: number;
  clip: number;
  /**
   * "returns": v(s) = (the data's mean |return-to-go|) · MLP(s), so the value starts in the units of the returns;
   * "none": a plain MLP, the paper's (docs/deviations.md).
   */
  valueScale: "none" | "returns";
  /**
   * Agent steps at the start of phase 2 in which only the value learns, regressing on the dataset's discounted
   * return-to-go; the actor waits (0: off, the paper's schedule; docs/deviations.md). They count in `steps`.
   */
  valueWarmup: number;
  /** Phase-2 gradient steps. */
  steps: number;
  /** Start states per gradient-accumulation chunk (0: all B·T at once); bounds the rollout tape's memory. */
  chunk: number;
}

export interface EvalConfig {
  /** Agent steps between evaluations (0: only the final one). */
  every: number;
  episodes: number;
  /** Final evaluation episodes; null: 100 for antmaze, 10 otherwise. */
  finalEpisodes: number | null;
  /** Sample the policy instead of its mode. */
  stochastic: boolean;
  posterior: "mean" | "sample";
  /** Cap on episode steps (0: the environment's own limit). */
  maxSteps: number;
  workers: number;
}

export interface TrainConfig {
  /** Steps between progress lines on stderr. */
  logEvery: number;
  /** Steps between checkpoints within a phase (0: only at phase ends). */
  checkpointEvery: number;
}

export interface ClapConfig {
  algo: "clap";
  preset: string;
  seed: number;
  data: DataConfig;
  model: ModelConfig;
  policy: PolicyConfig;
  agent: AgentConfig;
  eval: EvalConfig;
  train: TrainConfig;
}

type Leaf =
  | { kind: "int"; min: number; nullable?: boolean }
  | { kind: "number"; min?: number; max?: number; nullable?: boolean; positive?: boolean }
  | { kind: "bool" }
  | { kind: "enum"; values: readonly string[] }
  | { kind: "string" };
type Schema = { [key: string]: Leaf | Schema };

const int = (min: number, nullable = false): Leaf => ({ kind: "int", min, nullable });
const num = (o: { min?: number; max?: number; positive?: boolean; nullable?: boolean } = {}): Leaf => ({ kind: "number", ...o });
const bool: Leaf = { kind: "bool" };
const oneOf = (...values: string[]): Leaf => ({ kind: "enum", values });

export const SCHEMA: Schema = {
  algo: oneOf("clap"),
  preset: { kind: "string" },
  seed: int(0),
  data: {
    window: int(1),
    batch: int(1),
    obsNorm: bool,
    rewardTransform: oneOf("none", "minus-one", "cql"),
    splitAt: oneOf("auto", "done", "timeouts"),
    coverage: oneOf("equal", "full"),
  },
  model: {
    latentAction: bool,
    hidden: int(1),
    layers: int(0),
    embed: int(1),
    deter: int(1),
    stoch: int(1),
    latentActionDim: int(1),
    stateMinStd: num({ positive: true }),
    latentActionMinStd: num({ positive: true }),
    actionMinStd: num({ positive: true }),
    termination: bool,
    maskFirstReward: bool,
    scales: { obs: num({ min: 0 }), act: num({ min: 0 }), rew: num({ min: 0 }), cont: num({ min: 0 }), klState: num({ min: 0 }), klAction: num({ min: 0 }) },
    kl: { freeNats: num({ min: 0 }), balance: num({ min: 0, max: 1 }) },
    init: oneOf("uniform", "lecun"),
    lr: num({ positive: true }),
    eps: num({ positive: true }),
    clip: num({ min: 0 }),
    steps: int(0),
  },
  policy: {
    constraint: oneOf("box", "none"),
    hidden: int(1),
    layers: int(0),
    initStd: num({ positive: true }),
    minStd: num({ min: 0 }),
    meanScale: num({ positive: true }),
    initMean: oneOf("zero", "random"),
  },
  agent: {
    epsilon: num({ positive: true, nullable: true }),
    horizon: int(1),
    discount: num({ min: 0, max: 1, nullable: true }),
    returnTarget: oneOf("nstep", "lambda"),
    nstep: int(1, true),
    lambda: num({ min: 0, max: 1 }),
    weighting: oneOf("none", "continuation", "discount"),
    valueTarget: oneOf("none", "slow"),
    slowEvery: int(1),
    eta: num({ min: 0 }),
    imaginedAction: oneOf("mean", "sample"),
    hidden: int(1),
    layers: int(0),
    lr: num({ positive: true }),
    eps: num({ positive: true }),
    clip: num({ min: 0 }),
    valueScale: oneOf("none", "returns"),
    valueWarmup: int(0),
    steps: int(0),
    chunk: int(0),
  },
  eval: {
    every: int(0),
    episodes: int(1),
    finalEpisodes: int(0, true),
    stochastic: bool,
    posterior: oneOf("mean", "sample"),
    maxSteps: int(0),
    workers: int(1),
  },
  train: { logEvery: int(1), checkpointEvery: int(0) },
};

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
      return (v === null && !!leaf.nullable) || (typeof v === "number" && Number.isInteger(v) && v >= leaf.min);
    case "number":
      if (v === null) return !!leaf.nullable;
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

/** Parses the text of a `--set` value into the leaf's type; throws a UserError naming the key. */
function parseLeafText(leaf: Leaf, text: string, key: string, where: string): unknown {
  let v: unknown;
  if (text === "null") v = null;
  else if (leaf.kind === "int" || leaf.kind === "number") v = text.trim() === "" ? NaN : Number(text);
  else if (leaf.kind === "bool") v = text === "true" ? true : text === "false" ? false : text;
  else v = text;
  if (!leafOk(leaf, v)) throw new UserError(`${where}: '${key}' must be ${describe(leaf)}, got '${text}'`);
  return v;
}

function lookup(path: string[], where: string): Leaf {
  let node: Leaf | Schema = SCHEMA;
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

function setPath(obj: Record<string, unknown>, path: string[], value: unknown): void {
  let o = obj;
  for (const p of path.slice(0, -1)) o = o[p] as Record<string, unknown>;
  o[path[path.length - 1]] = value;
}

/** Applies one `a.b=value` override in place; `where` names the source in error messages (e.g. "--set"). */
export function applySet(config: ClapConfig, assignment: string, where = "--set"): void {
  const eq = assignment.indexOf("=");
  if (eq <= 0) throw new UserError(`${where}: expected key=value, got '${assignment}'`);
  const key = assignment.slice(0, eq).trim();
  const path = key.split(".");
  const leaf = lookup(path, where);
  setPath(config as unknown as Record<string, unknown>, path, parseLeafText(leaf, assignment.slice(eq + 1), key, where));
}

/** Merges a parsed JSON object (a partial config) into `config` in place, checking keys and types. */
export function mergeConfigObject(config: ClapConfig, obj: unknown, where: string): void {
  const walk = (value: unknown, node: Leaf | Schema, path: string[]): void => {
    const key = path.join(".") || "<root>";
    if (isLeaf(node)) {
      if (!leafOk(node, value)) throw new UserError(`${where}: '${key}' must be ${describe(node)}, got ${JSON.stringify(value)}`);
      setPath(config as unknown as Record<string, unknown>, path, value);
      return;
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) throw new UserError(`${where}: '${key}' must be an object`);
    for (const [k, v] of Object.entries(value)) {
      if (!Object.hasOwn(node, k)) throw unknownKey(where, [...path, k], node);
      walk(v, node[k], [...path, k]);
    }
  };
  walk(obj, SCHEMA, []);
}

/**
 * Fields added after the first config version, with the value that reproduces the behaviour of a config written
 * before them (not today's default): a saved run or checkpoint that lacks them loads, resumes and evaluates exactly
 * as it was trained.
 */
const ADDED_FIELDS: [string[], unknown][] = [
  [["data", "coverage"], "full"],
  [["model", "scales"], { obs: 1, act: 1, rew: 1, cont: 1, klState: 1, klAction: 1 }],
  [["policy", "initMean"], "random"],
  [["agent", "valueWarmup"], 0],
  [["agent", "valueScale"], "none"],
];

/** Fills the fields an older config lacks (ADDED_FIELDS) in place; returns whether any was missing. */
export function upgradeConfig(config: unknown): boolean {
  let filled = false;
  for (const [path, value] of ADDED_FIELDS) {
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
export function validateConfig(config: unknown, where = "config"): asserts config is ClapConfig {
  const walk = (schema: Schema, value: unknown, path: string[]): void => {
    const at = path.join(".") || "<root>";
    if (value === null || typeof value !== "object" || Array.isArray(value)) throw new UserError(`${where}: '${at}' must be an object`);
    for (const k of Object.keys(value)) {
      if (!Object.hasOwn(schema, k)) throw unknownKey(where, [...path, k], schema);
    }
    for (const [k, s] of Object.entries(schema)) {
      const v = (value as Record<string, unknown>)[k];
      const key = [...path, k].join(".");
      if (v === undefined) throw new UserError(`${where}: missing key '${key}'`);
      if (isLeaf(s)) {
        if (!leafOk(s, v)) throw new UserError(`${where}: '${key}' must be ${describe(s)}, got ${JSON.stringify(v)}`);
      } else walk(s, v, [...path, k]);
    }
  };
  walk(SCHEMA, config, []);
}
