/**
 * Presets (method spec §16), configuration assembly (preset → JSON file → `--set` overrides) and the values derived
 * from the dataset name (ε per family §16.3, γ and final evaluation episodes for antmaze §16.1).
 */
import { readFileSync } from "node:fs";
import { UserError } from "../errors.js";
import { applySet, mergeConfigObject, validateConfig, type ClapConfig } from "./schema.js";

/** §16.1 D4RL-vector preset: the published scale as far as the spec knows it. */
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
      // klState 0.1: the prior policy of hopper-medium models scores 30.4 instead of 8.5 (docs/deviations.md).
      scales: { obs: 1, act: 1, rew: 1, cont: 1, klState: 0.1, klAction: 1 },
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

/** §16.2 smoke preset: tests and CI. */
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
 * evaluate) must fit 15 minutes on 2 cores. Sizes: B 16 × T 32, hidden/deter/embed 128, stoch 16, d_u 8, H 5
 * (the horizon of the spec's V-D4RL preset and of Offline DV2/LOMPO; the agent step is linear in H).
 * Model steps: 3,000. At the earlier 1,200 the prior policy's decoded-action error was still falling steeply, and
 * 3,000 still fits the budget on the pure-wasm path: model step ≈ 0.18 s and agent step ≈ 0.41 s there (`clap-rl bench method`, issue 15's idle
 * machine) give 9 + 2.7 min, plus about half a minute each for the dataset and the evaluations. With the native
 * kernels a model step takes ≈ 35–40 ms and an agent step ≈ 110 ms.
 */
function smallPreset(): ClapConfig {
  const c = fullPreset();
  c.preset = "small";
  c.data = { ...c.data, window: 32, batch: 16 };
  c.model = { ...c.model, hidden: 128, embed: 128, deter: 128, stoch: 16, latentActionDim: 8, steps: 3_000 };
  c.policy = { ...c.policy, hidden: 128 };
  c.agent = { ...c.agent, horizon: 5, hidden: 128, steps: 400, chunk: 0 };
  c.eval = { ...c.eval, every: 200, episodes: 3, finalEpisodes: 5 };
  c.train = { logEvery: 50, checkpointEvery: 200 };
  return c;
}

export const PRESETS: Record<string, () => ClapConfig> = { tiny: tinyPreset, small: smallPreset, full: fullPreset };

export function presetConfig(name: string): ClapConfig {
  const make = Object.hasOwn(PRESETS, name) ? PRESETS[name] : undefined;
  if (!make) throw new UserError(`unknown preset '${name}'; valid presets: ${Object.keys(PRESETS).join(", ")}`);
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

/**
 * Builds a config: preset (default "small"), then the JSON file, then `--set` overrides, then the seed flag.
 * A file may name its own `preset`; an explicit `preset` argument wins over it.
 */
export function buildConfig(src: ConfigSources): ClapConfig {
  let fileObj: unknown = undefined;
  if (src.file !== undefined) {
    let text: string;
    try {
      text = readFileSync(src.file, "utf8");
    } catch {
      throw new UserError(`cannot read config file '${src.file}'`);
    }
    try {
      fileObj = JSON.parse(text);
    } catch (e) {
      throw new UserError(`config file '${src.file}' is not valid JSON (${(e as Error).message})`);
    }
  }
  const filePreset =
    fileObj !== null && typeof fileObj === "object" && typeof (fileObj as { preset?: unknown }).preset === "string"
      ? (fileObj as { preset: string }).preset
      : undefined;
  const config = presetConfig(src.preset ?? filePreset ?? "small");
  if (fileObj !== undefined) mergeConfigObject(config, fileObj, `config file '${src.file}'`);
  for (const s of src.sets ?? []) applySet(config, s);
  if (src.seed !== undefined) {
    if (!Number.isInteger(src.seed) || src.seed < 0) throw new UserError(`--seed must be a non-negative integer, got '${src.seed}'`);
    config.seed = src.seed;
  }
  validateConfig(config);
  return config;
}

/** §16.3: ε per dataset family, matched on the dataset's name. */
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
export function resolveConfig(config: ClapConfig, datasetName: string): ClapConfig {
  const c = structuredClone(config);
  const antmaze = datasetName.toLowerCase().includes("antmaze");
  if (c.agent.epsilon === null) {
    const eps = epsilonForDataset(datasetName);
    if (eps === undefined && c.model.latentAction && c.policy.constraint === "box") {
      throw new UserError(
        `cannot derive agent.epsilon from dataset name '${datasetName}' (no expert/medium/medium-replay/medium-expert/antmaze in it); pass --set agent.epsilon=<value>`,
      );
    }
    c.agent.epsilon = eps ?? 1.0;
  }
  if (c.agent.discount === null) c.agent.discount = antmaze ? 0.995 : 0.99;
  if (c.eval.finalEpisodes === null) c.eval.finalEpisodes = antmaze ? 100 : 10;
  if (c.agent.nstep !== null && c.agent.nstep > c.agent.horizon) {
    throw new UserError(`agent.nstep (${c.agent.nstep}) must not exceed agent.horizon (${c.agent.horizon})`);
  }
  return c;
}
