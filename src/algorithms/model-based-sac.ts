/**
 * Model-based offline SAC with an uncertainty penalty: the core MOPO and MOBILE share (docs/design/method.md §17.2,
 * §17.3). Each of those plug-ins declares its config and its penalty; this module is the rest:
 *
 * - phase 1 ("model", own batches): the dynamics ensemble (src/models/dynamics-ensemble.ts) on the dataset's
 *   transitions, a holdout split of `dynamics.holdout` (at most `maxHoldout` rows) drawn once, a batch per member
 *   per step, the holdout error after every epoch (one pass's worth of steps over the training rows), the best
 *   snapshot of each member kept and training ended once no member has improved for `patience` epochs; then the
 *   best `elites` members are the elites;
 * - phase 2 ("agent", real transitions): every `rollout.every` steps, `rollout.batch` branch rollouts of
 *   `rollout.length` steps from dataset states (model-rollouts.ts) refill a model buffer that keeps the last `retain`
 *   rollouts' transitions; each SAC step (sac.ts) trains on `realRatio` · B real and the rest model transitions.
 *
 * Observations stay raw (`data.obsNorm` must be off): rollouts apply the environment's termination rule to predicted
 * observations. The ensemble standardises its own inputs and targets.
 */
import { initEngine, tf } from "../engine/tf.js";
import { Adam } from "../engine/optim.js";
import { MLP } from "../engine/nn.js";
import { Rng, type RngState } from "../engine/rng.js";
import type { NamedArray } from "../engine/serialize.js";
import { field, type CommonConfig } from "../config/schema.js";
import { UserError } from "../errors.js";
import type { WindowBatch } from "../data/windows.js";
import { TransitionSampler, type TransitionBatch } from "../data/transitions.js";
import type { ObsStats } from "../data/store.js";
import { terminationRule, type TerminationFn } from "../envs/termination.js";
import type { Policy, PolicyContext, PolicySpec } from "../eval/policy.js";
import { columnStats, DynamicsEnsemble, EnsembleSelection } from "../models/dynamics-ensemble.js";
import type { ModelDims } from "../models/latent-action-model.js";
import { asTransitions, type Algorithm, type Batch, type ParamGroup, type PhaseName, type TrainingData } from "./plugin.js";
import { SacActor, SacAgent, type SacBatch } from "./sac.js";
import { ReplayBuffer } from "./replay.js";
import { modelRollout, type StepPrediction } from "./model-rollouts.js";
import { policyActionErrors } from "./diagnostics.js";
import { networkInput } from "./acting-util.js";
import { checkPolicyContext, loadCheckpointWith, resolveCheckpointDir } from "./checkpoint.js";

const { int, intOrNull, num, numOrNull, oneOf, string } = field;

/** The dynamics ensemble and how it is fitted. */
export const DYNAMICS_SECTION = {
  members: int(2),
  elites: int(1),
  /** Width and number of the hidden (swish) layers. */
  hidden: int(1),
  layers: int(1),
  /** Weight decay per layer, comma-separated: one per hidden layer, then the output layer's. */
  weightDecay: string,
  /** Coefficient of the learned log-variance bounds' term (Σ max − Σ min). */
  logVarBoundCoef: num({ min: 0 }),
  lr: num({ positive: true }),
  eps: num({ positive: true }),
  /** Rows per member per step. */
  batch: int(1),
  /** Fraction of the transitions held out for selection, and the most rows held out. */
  holdout: num({ positive: true, max: 0.5 }),
  maxHoldout: int(1),
  /** Epochs without a member improving by more than `minImprovement` (relative) before training ends. */
  patience: int(1),
  minImprovement: num({ min: 0 }),
  /** The step budget of phase 1 (training usually ends earlier, by the holdout rule). */
  steps: int(0),
} as const;

/** Branch rollouts and the real:model mix. */
export const ROLLOUT_SECTION = {
  /** Agent steps between rollouts (the first at step 0). */
  every: int(1),
  /** Start states per rollout. */
  batch: int(1),
  /** Rollout length h; null (derived): the algorithm's per-dataset value. */
  length: intOrNull(1),
  /** Rollouts whose transitions the model buffer keeps. */
  retain: int(1),
  /** Fraction of each SAC batch drawn from the dataset; null (derived): the algorithm's per-dataset value. */
  realRatio: numOrNull({ min: 0, max: 1 }),
} as const;

/** The SAC learner. */
export const SAC_SECTION = {
  hidden: int(1),
  layers: int(1),
  actorLr: num({ positive: true }),
  criticLr: num({ positive: true }),
  alphaLr: num({ positive: true }),
  eps: num({ positive: true }),
  discount: num({ min: 0, max: 1 }),
  tau: num({ min: 0, max: 1 }),
  /** "auto": α trained towards −actDim; "fixed": α stays at initAlpha; "derived": the algorithm's per-dataset choice. */
  alpha: oneOf("derived", "auto", "fixed"),
  initAlpha: num({ positive: true }),
  /** SAC batch (real and model transitions together). */
  batch: int(1),
  /** Gradient steps of phase 2. */
  steps: int(0),
} as const;

export interface DynamicsConfig {
  members: number;
  elites: number;
  hidden: number;
  layers: number;
  weightDecay: string;
  logVarBoundCoef: number;
  lr: number;
  eps: number;
  batch: number;
  holdout: number;
  maxHoldout: number;
  patience: number;
  minImprovement: number;
  steps: number;
}

/** The fields this core reads; each plug-in's config has them (and its own penalty fields). */
export type ModelSacConfig = CommonConfig & {
  dynamics: DynamicsConfig;
  rollout: { every: number; batch: number; length: number | null; retain: number; realRatio: number | null };
  sac: { hidden: number; layers: number; actorLr: number; criticLr: number; alphaLr: number; eps: number; discount: number; tau: number; alpha: "derived" | "auto" | "fixed"; initAlpha: number; batch: number; steps: number };
  penalty: { coef: number | null };
};

/** The weight-decay list of a config, one number per layer; one UserError line otherwise. */
export function parseWeightDecay(d: DynamicsConfig): number[] {
  const parts = d.weightDecay.split(",").map((x) => Number(x.trim()));
  if (parts.length !== d.layers + 1 || parts.some((x) => !(Number.isFinite(x) && x >= 0))) {
    throw new UserError(`dynamics.weightDecay: needs ${d.layers + 1} non-negative numbers (one per hidden layer, then the output layer), got '${d.weightDecay}'`);
  }
  return parts;
}

/**
 * The reference settings MOPO and MOBILE share (OfflineRL-Kit's `run_mopo.py`, MOBILE's `configs/gym/default.py`),
 * without `algo` and `penalty`; the real ratio and α are left derived for each plug-in to set. Evaluation every
 * 10,000 steps instead of every epoch (1,000), as for the other baselines.
 */
export function referenceSections(): Omit<ModelSacConfig, "algo" | "penalty"> {
  return {
    preset: "full",
    seed: 0,
    // window: only the diagnostics' dataset windows use it.
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
    eval: { every: 10_000, episodes: 10, finalEpisodes: null, stochastic: false, posterior: "mean", maxSteps: 0, workers: 1 },
    train: { logEvery: 1_000, checkpointEvery: 10_000 },
  };
}

/**
 * Laptop preset from a full one: the reference networks; the ensemble fits for at most 20,000 steps (≈ 32 epochs of
 * 160,000 training rows), SAC trains 20,000 steps (150× fewer than the reference) on rollouts of 5,000 start states
 * every 250 steps (the reference's 50,000 every 1,000 would fill the buffer with 10× the rollouts per SAC step).
 */
export function laptopPreset<C extends ModelSacConfig>(full: C): C {
  const c = structuredClone(full);
  c.preset = "small";
  c.dynamics = { ...c.dynamics, steps: 20_000 };
  c.rollout = { ...c.rollout, every: 250, batch: 5_000 };
  c.sac = { ...c.sac, steps: 20_000 };
  c.eval = { ...c.eval, every: 5_000, episodes: 3, finalEpisodes: 5 };
  c.train = { logEvery: 200, checkpointEvery: 5_000 };
  return c;
}

/** The smoke preset from a full one: tests and CI. */
export function smokePreset<C extends ModelSacConfig>(full: C): C {
  const c = structuredClone(full);
  c.preset = "tiny";
  c.data = { ...c.data, window: 10, batch: 32 };
  c.dynamics = { ...c.dynamics, members: 3, elites: 2, hidden: 16, layers: 2, weightDecay: "0,0,0", batch: 16, maxHoldout: 20, patience: 2, steps: 30 };
  c.rollout = { ...c.rollout, every: 10, batch: 20, retain: 2 };
  c.sac = { ...c.sac, hidden: 32, batch: 32, steps: 40 };
  c.eval = { ...c.eval, every: 20, episodes: 1, finalEpisodes: 1, maxSteps: 50 };
  c.train = { logEvery: 10, checkpointEvery: 0 };
  return c;
}

/** Real transitions in each SAC batch: realRatio · batch, at least one. */
export function realBatchSize(c: ModelSacConfig): number {
  return Math.max(1, Math.round((c.rollout.realRatio ?? 1) * c.sac.batch));
}

/** "<env>-<variant>" of a locomotion dataset name (the keys of the per-dataset tables), or null. */
export function datasetKey(name: string): string | null {
  const n = name.toLowerCase();
  const env = ["halfcheetah", "hopper", "walker2d"].find((e) => n.includes(e));
  const variant = ["medium-replay", "medium-expert", "expert", "medium", "random"].find((v) => n.includes(v));
  return env && variant ? `${env}-${variant}` : null;
}

/** Checks shared by every model-based SAC config once its derived fields are filled. */
export function checkModelSacConfig(c: ModelSacConfig): void {
  if (c.data.obsNorm) throw new UserError("data.obsNorm: model rollouts apply the environment's termination rule to raw observations; set it to false");
  if (c.dynamics.elites > c.dynamics.members) throw new UserError(`dynamics.elites (${c.dynamics.elites}) must not exceed dynamics.members (${c.dynamics.members})`);
  parseWeightDecay(c.dynamics);
  for (const [k, v] of [
    ["rollout.length", c.rollout.length],
    ["rollout.realRatio", c.rollout.realRatio],
    ["penalty.coef", c.penalty.coef],
  ] as const) {
    if (v === null) throw new UserError(`${k}: no per-dataset value for this dataset; set it with --set ${k}=<value>`);
  }
  if (c.sac.alpha === "derived") throw new UserError("sac.alpha: no per-dataset value for this dataset; set it to auto or fixed");
}

/**
 * The penalty of a model-based SAC plug-in: on the rollouts' rewards (MOPO), or on the Bellman targets of model
 * transitions (MOBILE). Each returns the per-row amount subtracted from the reward, coefficient included.
 */
export interface UncertaintyPenalty {
  rollout?: (p: StepPrediction) => Float32Array;
  target?: (ctx: { ensemble: DynamicsEnsemble; sac: SacAgent; obs: Float32Array; act: Float32Array; rows: number; rng: Rng }) => Float32Array;
}

/** Seeds of the diagnostics' sampled actions: fixed, so diagnostics draw from no training stream. */
const DIAGNOSTIC_SEEDS = [11, 12, 13, 14, 15, 16, 17, 18, 19, 20];

export class ModelSacAgent implements Algorithm {
  readonly ensemble: DynamicsEnsemble;
  readonly sac: SacAgent;
  private readonly dynamicsOpt: Adam;
  private readonly sampler: TransitionSampler;
  private readonly trainIds: Uint32Array;
  private readonly holdout: { x: tf.Tensor2D; y: tf.Tensor2D };
  private readonly epochSteps: number;
  private readonly selection: EnsembleSelection;
  private buffer: ReplayBuffer;
  private readonly termination: TerminationFn;
  private dynamicsRng: Rng;
  private rolloutRng: Rng;
  private sacRng: Rng;
  private modelSteps = 0;
  private agentSteps = 0;
  private done = false;
  private lastRollout = { rollout_reward: 0, rollout_penalty: 0, rollout_terminated: 0, rollout_numerical: 0 };

  constructor(
    readonly name: string,
    readonly cfg: ModelSacConfig,
    readonly dims: ModelDims,
    runRng: Rng,
    data: TrainingData,
    private readonly penalty: UncertaintyPenalty,
  ) {
    const { obsDim, actDim } = dims;
    const d = cfg.dynamics;
    const init = runRng.split("init");
    this.ensemble = new DynamicsEnsemble(
      { obsDim, actDim },
      { members: d.members, elites: d.elites, hidden: new Array(d.layers).fill(d.hidden), weightDecay: parseWeightDecay(d), logVarBoundCoef: d.logVarBoundCoef },
      init.split("dynamics"),
    );
    this.dynamicsOpt = new Adam(this.ensemble.trainableParams(), { lr: d.lr, eps: d.eps });
    const s = cfg.sac;
    this.sac = new SacAgent(obsDim, actDim, init.split("sac"), {
      hidden: new Array(s.layers).fill(s.hidden),
      actorLr: s.actorLr,
      criticLr: s.criticLr,
      alphaLr: s.alphaLr,
      gamma: s.discount,
      tau: s.tau,
      autoAlpha: s.alpha === "auto",
      initAlpha: s.initAlpha,
      adamEps: s.eps,
      deterministicBackup: penalty.target !== undefined,
      targetFloor: penalty.target !== undefined ? 0 : null,
    });

    // The holdout split is drawn once from its own stream, so a resumed run rebuilds the same one.
    // Only `rows` is used: every draw goes through this algorithm's own streams, so the sampler's is never consumed.
    this.sampler = new TransitionSampler(data.store, { B: 1, normalise: false }, runRng.split("transition-rows"));
    const n = this.sampler.count;
    const ids = Uint32Array.from({ length: n }, (_, i) => i);
    const split = runRng.split("holdout");
    for (let i = n - 1; i > 0; i--) {
      const j = split.int(i + 1);
      [ids[i], ids[j]] = [ids[j], ids[i]];
    }
    const nHold = Math.min(d.maxHoldout, Math.floor(d.holdout * n));
    if (nHold < 1 || n - nHold < 1) throw new UserError(`dynamics.holdout: ${n} transitions cannot be split into a holdout of ${nHold} and a training set`);
    this.trainIds = ids.slice(nHold);
    const train = this.xy(this.sampler.rows(this.trainIds));
    const sx = columnStats(train.x, obsDim + actDim);
    const sy = columnStats(train.y, obsDim + 1);
    this.ensemble.setStats({ inMean: sx.mean, inStd: sx.std, outMean: sy.mean, outStd: sy.std });
    const held = this.xy(this.sampler.rows(ids.subarray(0, nHold)));
    this.holdout = { x: tf.tensor2d(held.x, [nHold, obsDim + actDim]), y: tf.tensor2d(held.y, [nHold, obsDim + 1]) };
    this.epochSteps = Math.ceil(this.trainIds.length / d.batch);
    this.selection = new EnsembleSelection(this.ensemble, d.patience, d.minImprovement);

    if (data.envId === null) throw new UserError(`${name}: the dataset's environment is not known, and model rollouts need its termination rule (pass --env)`);
    this.termination = terminationRule(data.envId).fn;
    const r = cfg.rollout;
    this.buffer = new ReplayBuffer({ obsDim, actDim, nq: 0, nv: 0, capacity: r.batch * (r.length ?? 1) * r.retain });
    this.dynamicsRng = runRng.split("dynamics-batches");
    this.rolloutRng = runRng.split("rollout");
    this.sacRng = runRng.split("sac");
  }

  /** The transitions' ensemble inputs [obs | act] and targets [Δobs | reward], row-major. */
  private xy(b: TransitionBatch): { x: Float32Array; y: Float32Array } {
    const { B, obsDim: d, actDim: a } = b;
    const x = new Float32Array(B * (d + a));
    const y = new Float32Array(B * (d + 1));
    for (let i = 0; i < B; i++) {
      x.set(b.obs.subarray(i * d, (i + 1) * d), i * (d + a));
      x.set(b.act.subarray(i * a, (i + 1) * a), i * (d + a) + d);
      for (let j = 0; j < d; j++) y[i * (d + 1) + j] = b.nextObs[i * d + j] - b.obs[i * d + j];
      y[i * (d + 1) + d] = b.rew[i];
    }
    return { x, y };
  }

  groups(): { model: ParamGroup; agent: ParamGroup } {
    return {
      model: { params: this.ensemble.namedParams("dynamics/"), optimisers: { dynamics: this.dynamicsOpt } },
      agent: this.sac.group(),
    };
  }

  step(phase: PhaseName, batch: Batch): Record<string, number> {
    return phase === "model" ? this.dynamicsStep() : this.sacStep(asTransitions(batch));
  }

  /** One step of every member on its own rows; after each epoch's worth of steps, the holdout selection. */
  private dynamicsStep(): Record<string, number> {
    const { members: E, batch: B } = this.cfg.dynamics;
    const ids = new Uint32Array(E * B);
    for (let k = 0; k < ids.length; k++) ids[k] = this.trainIds[this.dynamicsRng.int(this.trainIds.length)];
    const { x, y } = this.xy(this.sampler.rows(ids));
    const { obsDim, actDim } = this.dims;
    const tx = tf.tensor3d(x, [E, B, obsDim + actDim]);
    const ty = tf.tensor3d(y, [E, B, obsDim + 1]);
    const r = this.dynamicsOpt.minimize(() => this.ensemble.loss(tx, ty));
    tf.dispose([tx, ty]);
    this.modelSteps += 1;
    const terms: Record<string, number> = { dynamics_loss: r.loss, nll: r.terms.nll / E, dynamics_grad_norm: r.gradNorm };
    if (this.modelSteps % this.epochSteps === 0) {
      const holdout = this.ensemble.holdoutMse(this.holdout.x, this.holdout.y);
      this.done = this.selection.update(holdout);
      holdout.forEach((e, i) => (terms[`holdout_mse_${i}`] = e));
    }
    return terms;
  }

  phaseDone(phase: PhaseName): boolean {
    return phase === "model" && this.done;
  }

  endPhase(phase: PhaseName): void {
    if (phase === "model") this.selection.finish();
  }

  private rollout(): void {
    const r = this.cfg.rollout;
    const ids = new Uint32Array(r.batch);
    for (let k = 0; k < ids.length; k++) ids[k] = this.rolloutRng.int(this.sampler.count);
    const starts = this.sampler.rows(ids);
    const result = modelRollout(this.ensemble, (obs, rows) => this.sac.sampleActions(obs, rows, this.rolloutRng.tfSeed()), starts.obs, {
      length: r.length!,
      termination: this.termination,
      rng: this.rolloutRng,
      penalty: this.penalty.rollout,
    });
    const { obsDim: d, actDim: a } = this.dims;
    for (let i = 0; i < result.count; i++) {
      this.buffer.add({
        obs: result.obs.subarray(i * d, (i + 1) * d),
        act: result.act.subarray(i * a, (i + 1) * a),
        rew: result.rew[i],
        nextObs: result.nextObs.subarray(i * d, (i + 1) * d),
        terminal: result.terminal[i] === 1,
        timeout: false,
        qpos: [],
        qvel: [],
        logProb: 0,
      });
    }
    const st = result.stats;
    const n = Math.max(1, result.count);
    // Rounded to float32 as the checkpoint stores them, so a resumed run logs the same values.
    const f = Math.fround;
    this.lastRollout = { rollout_reward: f(st.rawRewardMean), rollout_penalty: f(st.penaltyMean), rollout_terminated: f(st.terminated / n), rollout_numerical: f(st.numerical / n) };
  }

  private sacStep(real: TransitionBatch): Record<string, number> {
    if (this.agentSteps % this.cfg.rollout.every === 0) this.rollout();
    this.agentSteps += 1;
    const B = this.cfg.sac.batch;
    const nModel = B - real.B;
    const model = nModel > 0 ? this.buffer.sample(nModel, this.sacRng) : null;
    let penaltyMean = 0;
    if (model && this.penalty.target) {
      const u = this.penalty.target({ ensemble: this.ensemble, sac: this.sac, obs: model.obs, act: model.act, rows: nModel, rng: this.sacRng });
      for (let i = 0; i < nModel; i++) {
        model.rew[i] -= u[i];
        penaltyMean += u[i] / nModel;
      }
    }
    const cat = (x: Float32Array, y: Float32Array | undefined) => {
      if (!y) return x;
      const out = new Float32Array(x.length + y.length);
      out.set(x);
      out.set(y, x.length);
      return out;
    };
    const batch: SacBatch = {
      obs: cat(real.obs, model?.obs),
      act: cat(real.act, model?.act),
      rew: cat(real.rew, model?.rew),
      nextObs: cat(real.nextObs, model?.nextObs),
      terminal: cat(real.cont.map((c) => 1 - c), model?.terminal),
    };
    const l = this.sac.update(batch, this.sacRng);
    return {
      critic_loss: l.critic,
      actor_loss: l.actor,
      alpha: l.alpha,
      q_mean: l.q,
      log_pi: l.logPi,
      target_penalty: penaltyMean,
      model_buffer: this.buffer.size,
      ...this.lastRollout,
    };
  }

  /**
   * `value_estimate`: Q1 averaged over 10 actions sampled from the policy at the random windows' states (the paper's
   * Appendix G view, docs/design/method.md §13); `policy_action_mse` (and `_start`) of the deterministic action.
   */
  diagnostics(batches: { all: WindowBatch; start: WindowBatch }): Record<string, number> {
    const { B, T, obs, mask, actMask } = batches.all;
    const value = tf.tidy(() => {
      const states = tf.tensor2d(obs, [B * T, this.dims.obsDim]);
      const w = tf.mul(tf.tensor1d(mask), tf.tensor1d(actMask));
      const q = tf.addN(DIAGNOSTIC_SEEDS.map((seed) => this.sac.q1(states, this.sac.policy(states).rsample(seed).x as tf.Tensor2D)));
      return tf.div(tf.sum(tf.mul(tf.div(q, DIAGNOSTIC_SEEDS.length), w)), tf.maximum(tf.sum(w), 1));
    });
    const valueEstimate = value.dataSync()[0];
    value.dispose();
    return { value_estimate: valueEstimate, ...policyActionErrors(batches, (o) => this.sac.meanAction(o)) };
  }

  actingPolicy(_stats: ObsStats | null, opts: { stochastic: boolean }): Policy {
    return new SacActing(this.sac.pi, opts.stochastic, false);
  }

  extraState(): Record<string, Map<string, NamedArray>> {
    const counters = new Map<string, NamedArray>([["counters", { shape: [3], data: Float32Array.of(this.modelSteps, this.agentSteps, this.done ? 1 : 0) }]]);
    const last = Object.values(this.lastRollout);
    counters.set("lastRollout", { shape: [last.length], data: Float32Array.from(last) });
    return { "model-buffer": this.buffer.toArrays(), selection: this.selection.toArrays(), counters };
  }

  restoreExtraState(read: (name: string) => Map<string, NamedArray>): void {
    const c = read("counters");
    const [modelSteps, agentSteps, done] = c.get("counters")!.data;
    this.modelSteps = modelSteps;
    this.agentSteps = agentSteps;
    this.done = done === 1;
    const last = c.get("lastRollout")!.data;
    Object.keys(this.lastRollout).forEach((k, i) => ((this.lastRollout as Record<string, number>)[k] = last[i]));
    this.selection.setArrays(read("selection"));
    this.buffer = ReplayBuffer.fromArrays(read("model-buffer"), "checkpoint model-buffer.bin");
  }

  rngStates(): Record<string, RngState> {
    return { "dynamics-batches": this.dynamicsRng.getState(), rollout: this.rolloutRng.getState(), sac: this.sacRng.getState() };
  }

  setRngStates(states: Record<string, RngState>): void {
    for (const k of ["dynamics-batches", "rollout", "sac"]) if (!states[k]) throw new Error(`checkpoint has no RNG state '${k}'`);
    this.dynamicsRng = Rng.fromState(states["dynamics-batches"]);
    this.rolloutRng = Rng.fromState(states.rollout);
    this.sacRng = Rng.fromState(states.sac);
  }

  dispose(): void {
    this.ensemble.dispose();
    this.sac.dispose();
    this.dynamicsOpt.dispose();
    tf.dispose([this.holdout.x, this.holdout.y]);
  }
}

/** Acting with the SAC actor on raw observations: tanh(mean), or a sample drawn with the episode's seed. */
export class SacActing implements Policy {
  private rng = new Rng(0);

  constructor(
    private readonly actor: SacActor,
    private readonly stochastic: boolean,
    private readonly owns: boolean,
  ) {}

  reset(seed: number): void {
    this.rng = new Rng(seed);
  }

  act(obs: Float32Array | Uint8Array): Float32Array {
    return this.actor.act(networkInput(obs, null, this.actor.obsDim), this.stochastic ? this.rng : null).action;
  }

  dispose(): void {
    if (this.owns) this.actor.net.dispose();
  }
}

interface SavedSacShape {
  algo: string;
  sac: { hidden: number; layers: number };
}

function validateSacShape(raw: unknown, where: string): SavedSacShape {
  const s = (raw as { sac?: { hidden?: unknown; layers?: unknown } } | null)?.sac;
  if (!s || !Number.isInteger(s.hidden) || !Number.isInteger(s.layers)) throw new UserError(`${where}: not the config of a model-based SAC run (no sac.hidden / sac.layers)`);
  return raw as SavedSacShape;
}

export interface SacPolicyArgs {
  checkpoint: string;
  stochastic: boolean;
}

/** PolicyFactory: the SAC actor of a model-based SAC checkpoint (agent group, `actor/…`). */
export async function createModelSacPolicy(args: unknown, ctx?: PolicyContext): Promise<Policy> {
  const a = args as Partial<SacPolicyArgs> | null;
  if (!a || typeof a.checkpoint !== "string") throw new UserError("createModelSacPolicy: args.checkpoint (a directory) is required");
  await initEngine();
  const dir = resolveCheckpointDir(a.checkpoint);
  const ckpt = loadCheckpointWith(dir, validateSacShape);
  checkPolicyContext(dir, ckpt.dims, ctx);
  const { obsDim, actDim } = ckpt.dims;
  const net = new MLP(obsDim, new Array(ckpt.config.sac.layers).fill(ckpt.config.sac.hidden), 2 * actDim, new Rng(0), { act: "relu" });
  ckpt.restoreParams("agent", net.namedParams("actor/"));
  return new SacActing(new SacActor(net, obsDim, actDim), a.stochastic === true, true);
}

export function modelSacPolicySpec(checkpoint: string, opts: { stochastic?: boolean } = {}): PolicySpec {
  const args: SacPolicyArgs = { checkpoint, stochastic: opts.stochastic === true };
  return { module: new URL("./model-based-sac.js", import.meta.url).href, factory: "createModelSacPolicy", args };
}
