/**
 * PLAS's config (docs/design/method.md §17.1): the common sections plus `vae` (phase 1: the conditional VAE of the
 * dataset's actions) and `agent` (phase 2: the deterministic latent policy, its optional perturbation and the twin
 * critics). The `full` preset holds the reference values of `Wenxuan-Zhou/PLAS` (`main.py`, `algos.py`).
 */
import { field, runSchema, upgradeConfig, validateConfig, type AddedFields, type Infer } from "../../config/schema.js";
import { resolveCommon } from "../../config/presets.js";
import { UserError } from "../../errors.js";

const { int, num } = field;

export const PLAS_VAE_SECTION = {
  /** Width of each hidden layer, encoder and decoder alike. */
  hidden: int(1),
  /** Hidden layers on each side. */
  layers: int(1),
  /** Latent size = latentPerAction × the action size. */
  latentPerAction: int(1),
  /** Weight of KL(q(z | s, a) ‖ N(0, I)) beside the reconstruction error. */
  klWeight: num({ min: 0 }),
  /** The encoder's log σ is clamped into [logStdMin, logStdMax] (numerical stability, as the reference). */
  logStdMin: num(),
  logStdMax: num(),
  lr: num({ positive: true }),
  eps: num({ positive: true }),
  /** Gradient steps of phase 1. */
  steps: int(0),
} as const;

export const PLAS_AGENT_SECTION = {
  /** Bound of the latent action: z = maxLatentAction · tanh(π(s)). */
  maxLatentAction: num({ positive: true }),
  /** Bound of PLAS+P's perturbation added to the decoded action; 0: plain PLAS (no perturbation network). */
  perturbation: num({ min: 0 }),
  /** The actor's (and the perturbation network's) two hidden layers. */
  actorHidden1: int(1),
  actorHidden2: int(1),
  /** Each critic's two hidden layers. */
  criticHidden1: int(1),
  criticHidden2: int(1),
  actorLr: num({ positive: true }),
  criticLr: num({ positive: true }),
  eps: num({ positive: true }),
  discount: num({ min: 0, max: 1 }),
  /** Polyak rate of the target actor and critics, after every step. */
  tau: num({ min: 0, max: 1 }),
  /** Soft clipped double Q: weight of min(Q1', Q2') in the target; 1 − lambda goes to max(Q1', Q2'). */
  lambda: num({ min: 0, max: 1 }),
  /** Gradient steps of phase 2 (each one critic step and one actor step). */
  steps: int(0),
} as const;

export const PLAS_SCHEMA = runSchema("plas", { vae: PLAS_VAE_SECTION, agent: PLAS_AGENT_SECTION });

export type PlasConfig = Infer<typeof PLAS_SCHEMA>;

export const PLAS_ADDED: AddedFields = [];

/**
 * The reference settings. Departures: evaluation every 10,000 steps instead of 1,000 (500 evaluations would swamp
 * the log and the report; the final evaluation is what results quote), and Adam's ε is PyTorch's default 1e-8, which
 * the reference uses without naming it.
 */
function fullPreset(): PlasConfig {
  return {
    algo: "plas",
    preset: "full",
    seed: 0,
    // The reference feeds raw observations. window: only the diagnostics' dataset windows use it.
    data: { window: 32, batch: 100, obsNorm: false, rewardTransform: "none", splitAt: "auto", coverage: "equal" },
    vae: { hidden: 750, layers: 2, latentPerAction: 2, klWeight: 0.5, logStdMin: -4, logStdMax: 15, lr: 1e-4, eps: 1e-8, steps: 500_000 },
    agent: {
      maxLatentAction: 2,
      perturbation: 0,
      actorHidden1: 400,
      actorHidden2: 300,
      criticHidden1: 400,
      criticHidden2: 300,
      actorLr: 1e-4,
      criticLr: 1e-3,
      eps: 1e-8,
      discount: 0.99,
      tau: 0.005,
      lambda: 0.75,
      steps: 500_000,
    },
    eval: { every: 10_000, episodes: 10, finalEpisodes: null, stochastic: false, posterior: "mean", maxSteps: 0, workers: 1 },
    train: { logEvery: 1_000, checkpointEvery: 10_000 },
  };
}

/**
 * Laptop preset: the reference networks with 20,000 steps per phase, 25× fewer than the reference (about 15 minutes
 * of CPU per phase). Batches of 256 instead of 100 spend part of the saved time on less noisy gradients: at hopper's
 * sizes a step of 256 transitions costs 1.7–2× the CPU time of a step of 100 (benchPlas's setup: ≈ 30 against ≈ 17 ms).
 */
function smallPreset(): PlasConfig {
  const c = fullPreset();
  c.preset = "small";
  c.data = { ...c.data, batch: 256 };
  c.vae = { ...c.vae, steps: 20_000 };
  c.agent = { ...c.agent, steps: 20_000 };
  c.eval = { ...c.eval, every: 5_000, episodes: 3, finalEpisodes: 5 };
  c.train = { logEvery: 200, checkpointEvery: 5_000 };
  return c;
}

/** The smoke preset: tests and CI. Observations normalised, so that the statistics' path is exercised. */
function tinyPreset(): PlasConfig {
  const c = fullPreset();
  c.preset = "tiny";
  c.data = { ...c.data, window: 10, batch: 32, obsNorm: true };
  c.vae = { ...c.vae, hidden: 32, steps: 30 };
  c.agent = { ...c.agent, actorHidden1: 32, actorHidden2: 32, criticHidden1: 32, criticHidden2: 32, steps: 40 };
  c.eval = { ...c.eval, every: 20, episodes: 1, finalEpisodes: 1, maxSteps: 50 };
  c.train = { logEvery: 10, checkpointEvery: 0 };
  return c;
}

export const PLAS_PRESETS: Readonly<Record<string, () => PlasConfig>> = { tiny: tinyPreset, small: smallPreset, full: fullPreset };

export function resolvePlasConfig(config: PlasConfig, datasetName: string): PlasConfig {
  const c = resolveCommon(config, datasetName);
  if (c.eval.stochastic) throw new UserError("eval.stochastic: the PLAS policy is deterministic; set it to false");
  if (c.vae.logStdMin >= c.vae.logStdMax) throw new UserError(`vae.logStdMin (${c.vae.logStdMin}) must be below vae.logStdMax (${c.vae.logStdMax})`);
  return c;
}

/** A saved PLAS config, upgraded and checked; one UserError line naming `where` otherwise. */
export function validatePlasConfig(raw: unknown, where: string): PlasConfig {
  upgradeConfig(raw, PLAS_ADDED);
  validateConfig(PLAS_SCHEMA, raw, where);
  return raw;
}
