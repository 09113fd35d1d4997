/**
 * C-LAP's config (docs/method.md): the sections it adds to the common ones — the latent action model (`model`, its
 * schema lives with the model), the constrained policy (`policy`) and the actor-critic (`agent`) — its presets, and
 * the values derived from the dataset name (ε per family, γ for antmaze).
 */
import { UserError } from "../../errors.js";
import { field, runSchema, upgradeConfig, validateConfig, type AddedFields, type Infer } from "../../config/schema.js";
import { buildConfig, isAntmaze, presetConfig, resolveCommon, type ConfigDef, type ConfigSources } from "../../config/presets.js";
import { MODEL_SCHEMA } from "../../models/latent-action-model.js";

const { int, intOrNull, num, numOrNull, oneOf } = field;

export const POLICY_SCHEMA = {
  /** "box": x ~ tanh-Normal, ũ = μ + εσx (the constrained policy). "none": unbounded Normal over u (ablation). */
  constraint: oneOf("box", "none"),
  hidden: int(1),
  layers: int(0),
  /** s_init of s = softplus(s_raw + softplus⁻¹(s_init)) + s_min. */
  initStd: num({ positive: true }),
  minStd: num({ min: 0 }),
  /** m = meanScale·tanh(m_raw / meanScale). */
  meanScale: num({ positive: true }),
  /**
   * "zero": the output layer's mean weights start at 0, so the untrained policy's mode is ũ = μ (the prior policy);
   * "random": they keep their random draw, as every other layer (docs/deviations.md).
   */
  initMean: oneOf("zero", "random"),
} as const;

export const AGENT_SCHEMA = {
  /** Constraint width ε in prior standard deviations; null (derived): from the dataset family. */
  epsilon: numOrNull({ positive: true }),
  horizon: int(1),
  /** Discount γ; null (derived): 0.995 for antmaze, 0.99 otherwise. */
  discount: numOrNull({ min: 0, max: 1 }),
  returnTarget: oneOf("nstep", "lambda"),
  /** N of the n-step target; null: N = H. */
  nstep: intOrNull(1),
  lambda: num({ min: 0, max: 1 }),
  weighting: oneOf("none", "continuation", "discount"),
  valueTarget: oneOf("none", "slow"),
  /** Agent steps between slow value-target copies. */
  slowEvery: int(1),
  /** η, the log-probability regulariser scale. */
  eta: num({ min: 0 }),
  imaginedAction: oneOf("mean", "sample"),
  /** Value MLP size. */
  hidden: int(1),
  layers: int(0),
  lr: num({ positive: true }),
  eps: num({ positive: true }),
  clip: num({ min: 0 }),
  /**
   * "returns": v(s) = (the data's mean |return-to-go|) · MLP(s), so the value starts in the units of the returns;
   * "none": a plain MLP, the paper's (docs/deviations.md).
   */
  valueScale: oneOf("none", "returns"),
  /**
   * Agent steps at the start of phase 2 in which only the value learns, regressing on the dataset's discounted
   * return-to-go; the actor waits (0: off, the paper's schedule; docs/deviations.md). They count in `steps`.
   */
  valueWarmup: int(0),
  /** Phase-2 gradient steps. */
  steps: int(0),
  /** Start states per gradient-accumulation chunk (0: all B·T at once); bounds the rollout tape's memory. */
  chunk: int(0),
} as const;

export const CLAP_SCHEMA = runSchema("clap", { model: MODEL_SCHEMA, policy: POLICY_SCHEMA, agent: AGENT_SCHEMA });

export type ClapConfig = Infer<typeof CLAP_SCHEMA>;
export type PolicyConfig = ClapConfig["policy"];
export type AgentConfig = ClapConfig["agent"];

/**
 * Fields added after the first config version, with the value that reproduces the behaviour of a config written
 * before them (not today's default).
 */
export const CLAP_ADDED: AddedFields = [
  [["data", "coverage"], "full"],
  [["model", "scales"], { obs: 1, act: 1, rew: 1, cont: 1, klState: 1, klAction: 1 }],
  [["policy", "initMean"], "random"],
  [["agent", "valueWarmup"], 0],
  [["agent", "valueScale"], "none"],
];

/** The D4RL-vector preset: the published scale as far as it is known (docs/method.md, presets). */
function fullPreset(): ClapConfig {
  return {
    algo: "clap",
    preset: "full",
    seed: 0,
    data: { window: 50, batch: 64, obsNorm: true, rewardTransform: "none", splitAt: "auto", coverage: "equal" },
    model: {
      latentAction: true,
      hidden: 256,
      layers: 2,
      embed: 256,
      deter: 256,
      stoch: 30,
      latentActionDim: 16,
      stateMinStd: 0.1,
      latentActionMinStd: 0.1,
      actionMinStd: 0.1,
      termination: true,
      maskFirstReward: true,
      // klState 0.1: the prior policy of hopper-medium models scores 30.4 instead of 8.5; act 5: the joint
      // likelihood leans towards the actions, so the model is a behaviour model on every seed (hopper-expert seed 0:
      // prior policy 34.6 → 103.0 at 10,000 steps; docs/deviations.md).
      scales: { obs: 1, act: 5, rew: 1, cont: 1, klState: 0.1, klAction: 1 },
      kl: { freeNats: 0, balance: 0 },
      init: "uniform",
      lr: 3e-4,
      eps: 1e-5,
      clip: 100,
      steps: 50_000,
    },
    policy: { constraint: "box", hidden: 256, layers: 2, initStd: 1.0, minStd: 1e-4, meanScale: 5, initMean: "zero" },
    agent: {
      epsilon: null,
      horizon: 15,
      discount: null,
      returnTarget: "nstep",
      nstep: null,
      lambda: 0.95,
      weighting: "continuation",
      valueTarget: "none",
      slowEvery: 100,
      eta: 1e-4,
      imaginedAction: "mean",
      hidden: 256,
      layers: 2,
      lr: 8e-5,
      eps: 1e-5,
      clip: 100,
      valueScale: "none",
      valueWarmup: 0,
      steps: 1_000_000,
      // 3,200 start states × H 15 at width 256 keep ≈ 9 GB of rollout tape, past the 4 GiB wasm heap; 400-row chunks
      // peak near 1.2 GB and give the same gradient.
      chunk: 400,
    },
    eval: { every: 10_000, episodes: 10, finalEpisodes: null, stochastic: false, posterior: "mean", maxSteps: 0, workers: 1 },
    train: { logEvery: 100, checkpointEvery: 5_000 },
  };
}

/** The smoke preset: tests and CI. */
function tinyPreset(): ClapConfig {
  const c = fullPreset();
  c.preset = "tiny";
  c.data = { ...c.data, window: 10, batch: 4 };
  c.model = { ...c.model, hidden: 32, embed: 32, deter: 32, stoch: 8, latentActionDim: 4, steps: 50 };
  c.policy = { ...c.policy, hidden: 32 };
  c.agent = { ...c.agent, horizon: 3, hidden: 32, steps: 50, chunk: 0 };
  c.eval = { ...c.eval, every: 25, episodes: 1, finalEpisodes: 1, maxSteps: 50 };
  c.train = { logEvery: 10, checkpointEvery: 0 };
  return c;
}

/**
 * Laptop preset: the whole `npm start` job (make a small hopper-medium dataset, train the model, train the agent,
 * evaluate) must fit 15 minutes on 2 cores with the native kernels. Sizes: B 16 × T 32, hidden/deter/embed 128,
 * stoch 16, d_u 8, H 5 (the horizon of the V-D4RL preset and of Offline DV2/LOMPO; the agent step is linear in H).
 * Model steps: 10,000. The jump-start rests on the model as a behaviour model, and at 3,000 steps it was not one yet:
 * the prior policy scored 65.8 / 52.4 / 31.5 on hopper / walker2d / halfcheetah expert, where 10,000 steps give
 * 102.9 / 83.0 / 58.8 (mean of seeds 0–1), BC's level (docs/deviations.md, docs/results.md). With the native kernels a model step takes ≈ 35–40 ms (≈ 6–7 min for the phase) and an
 * agent step ≈ 110 ms; on the pure-wasm path (≈ 0.18 s per model step) the phase alone takes half an hour.
 */
function smallPreset(): ClapConfig {
  const c = fullPreset();
  c.preset = "small";
  c.data = { ...c.data, window: 32, batch: 16 };
  c.model = { ...c.model, hidden: 128, embed: 128, deter: 128, stoch: 16, latentActionDim: 8, steps: 10_000 };
  c.policy = { ...c.policy, hidden: 128 };
  c.agent = { ...c.agent, horizon: 5, hidden: 128, steps: 400, chunk: 0 };
  c.eval = { ...c.eval, every: 200, episodes: 3, finalEpisodes: 5 };
  c.train = { logEvery: 50, checkpointEvery: 200 };
  return c;
}

export const CLAP_PRESETS: Readonly<Record<string, () => ClapConfig>> = { tiny: tinyPreset, small: smallPreset, full: fullPreset };

const CLAP_DEF: ConfigDef<ClapConfig> = { name: "clap", schema: CLAP_SCHEMA, presets: CLAP_PRESETS };

/** A C-LAP preset by name (UserError listing the presets otherwise). */
export function clapPreset(name: string): ClapConfig {
  return presetConfig(CLAP_DEF, name);
}

/** A C-LAP config from preset, JSON file, --set overrides and seed (config/presets.ts buildConfig). */
export function buildClapConfig(src: ConfigSources): ClapConfig {
  return buildConfig(CLAP_DEF, src);
}

/** ε per dataset family (docs/method.md), matched on the dataset's name. */
export function epsilonForDataset(name: string): number | undefined {
  const n = name.toLowerCase();
  if (n.includes("antmaze")) return 2.0;
  if (n.includes("medium-replay")) return 3.0;
  if (n.includes("medium-expert")) return 1.0;
  if (n.includes("expert")) return 1.0;
  if (n.includes("medium")) return 2.0;
  return undefined;
}

/** Fills the fields left null ("derive from the dataset") and checks cross-field constraints. */
export function resolveClapConfig(config: ClapConfig, datasetName: string): ClapConfig {
  const c = resolveCommon(config, datasetName);
  if (c.agent.epsilon === null) {
    const eps = epsilonForDataset(datasetName);
    if (eps === undefined && c.model.latentAction && c.policy.constraint === "box") {
      throw new UserError(
        `cannot derive agent.epsilon from dataset name '${datasetName}' (no expert/medium/medium-replay/medium-expert/antmaze in it); pass --set agent.epsilon=<value>`,
      );
    }
    c.agent.epsilon = eps ?? 1.0;
  }
  if (c.agent.discount === null) c.agent.discount = isAntmaze(datasetName) ? 0.995 : 0.99;
  if (c.agent.nstep !== null && c.agent.nstep > c.agent.horizon) {
    throw new UserError(`agent.nstep (${c.agent.nstep}) must not exceed agent.horizon (${c.agent.horizon})`);
  }
  return c;
}

/** A saved C-LAP config, upgraded (CLAP_ADDED) and checked; one UserError line naming `where` otherwise. */
export function validateClapConfig(raw: unknown, where: string): ClapConfig {
  upgradeConfig(raw, CLAP_ADDED);
  validateConfig(CLAP_SCHEMA, raw, where);
  return raw;
}
