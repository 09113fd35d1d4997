/**
 * Soft actor-critic, the one implementation of it: online, it trains the behaviour policies of the regenerated datasets
 * (docs/design/datasets.md §6.1, src/regen/behaviour.ts); offline, it is the learner MOPO and MOBILE train on mixed
 * real and model transitions (docs/design/method.md §17.2, §17.3). A learner, not an algorithm: no plug-in, not in
 * the registry.
 *
 * - Actor: obs → 2 × 256 ReLU → [mean, log std] (log std clipped to [logStdMin, logStdMax]); actions are
 *   tanh(N(mean, std)), the rlkit tanh-Gaussian that D4RL's behaviour policies used.
 * - Twin critics Q1, Q2 on [obs, act], 2 × 256 ReLU, with Polyak-averaged target copies.
 * - Automatic entropy tuning: α = exp(log α) is trained towards the target entropy −actDim (`autoAlpha`; off, α stays
 *   at `initAlpha`).
 * - Target y = r + γ (1 − d) (min Q'(s', a') − α log π(a'|s')), a' ~ π(s'); MOBILE's reading drops the entropy term
 *   (`deterministicBackup`) and clamps y from below (`targetFloor`), and penalises r before it gets here.
 *
 * One `update()` is one gradient step on the critics, the actor and the temperature, then the Polyak update.
 * All randomness comes from the `Rng` passed in, so runs (and resumed runs) are reproducible.
 */
import { initEngine, tf } from "../engine/tf.js";
import { MLP, Module } from "../engine/nn.js";
import { TanhNormal } from "../engine/distributions.js";
import { Adam } from "../engine/optim.js";
import type { ParamGroup } from "./plugin.js";
import { Rng } from "../engine/rng.js";
import { assignArrays, loadArrays, type NamedArray, variablesToArrays } from "../engine/serialize.js";
import type { PolicyFactory, PolicySpec } from "../eval/policy.js";
import { UserError } from "../errors.js";

export interface SacConfig {
  hidden: number[];
  /** Learning rate of the actor, the critics and the temperature, unless the one of a part is set below. */
  lr: number;
  actorLr: number | null;
  criticLr: number | null;
  alphaLr: number | null;
  gamma: number;
  tau: number;
  batchSize: number;
  /** Replay capacity in transitions. */
  replaySize: number;
  /** Gradient steps per environment step. */
  updatesPerStep: number;
  /** Entropy target; null means −actDim (the usual heuristic). */
  targetEntropy: number | null;
  initAlpha: number;
  /** Train α towards the entropy target; false keeps α = initAlpha. */
  autoAlpha: boolean;
  /** Leave the entropy term out of the critic target (MOBILE). */
  deterministicBackup: boolean;
  /** Clamp the critic target from below (MOBILE: 0); null: no clamp. */
  targetFloor: number | null;
  logStdMin: number;
  logStdMax: number;
  /** Adam epsilon; 1e-8 as in PyTorch, which rlkit's SAC used. */
  adamEps: number;
}

export const SAC_DEFAULTS: Readonly<SacConfig> = Object.freeze({
  hidden: [256, 256],
  lr: 3e-4,
  actorLr: null,
  criticLr: null,
  alphaLr: null,
  gamma: 0.99,
  tau: 0.005,
  batchSize: 256,
  replaySize: 1_000_000,
  updatesPerStep: 1,
  targetEntropy: null,
  initAlpha: 1,
  autoAlpha: true,
  deterministicBackup: false,
  targetFloor: null,
  logStdMin: -20,
  logStdMax: 2,
  adamEps: 1e-8,
});

/** Fills in defaults and checks ranges; bad values are user errors naming the field. */
export function resolveSacConfig(partial: Partial<SacConfig> = {}): SacConfig {
  const c: SacConfig = { ...SAC_DEFAULTS, hidden: [...SAC_DEFAULTS.hidden], ...partial };
  const positive = (k: keyof SacConfig) => {
    const v = c[k] as number;
    if (!(typeof v === "number" && v > 0 && Number.isFinite(v))) throw new UserError(`SAC config: ${k} must be a positive number, got ${v}`);
  };
  for (const k of ["lr", "tau", "batchSize", "replaySize", "updatesPerStep", "initAlpha", "adamEps"] as const) positive(k);
  for (const k of ["actorLr", "criticLr", "alphaLr"] as const) if (c[k] !== null) positive(k);
  if (c.targetFloor !== null && !Number.isFinite(c.targetFloor)) throw new UserError(`SAC config: targetFloor must be a number or null, got ${c.targetFloor}`);
  if (!(c.gamma >= 0 && c.gamma <= 1)) throw new UserError(`SAC config: gamma must be in [0, 1], got ${c.gamma}`);
  if (!(c.tau <= 1)) throw new UserError(`SAC config: tau must be in (0, 1], got ${c.tau}`);
  if (!c.hidden.every((h) => Number.isInteger(h) && h > 0)) throw new UserError(`SAC config: hidden must be positive integers, got [${c.hidden}]`);
  if (!(c.logStdMin < c.logStdMax)) throw new UserError(`SAC config: logStdMin must be below logStdMax`);
  return c;
}

/** One minibatch, row-major: obs/nextObs [B, obsDim], act [B, actDim], rew/terminal [B]. */
export interface SacBatch {
  obs: Float32Array;
  act: Float32Array;
  rew: Float32Array;
  nextObs: Float32Array;
  /** 1 where the transition ended in a true termination (no bootstrap); timeouts are 0 here. */
  terminal: Float32Array;
}

export interface SacLosses {
  critic: number;
  actor: number;
  alphaLoss: number;
  alpha: number;
  /** Mean log π of the actor's fresh actions (−entropy estimate). */
  logPi: number;
  q: number;
}

/**
 * The two critics Q1, Q2 (each [obs, act] → hidden ReLU layers → 1). One module so that one optimiser, one
 * Polyak update and one checkpoint prefix cover both. Their layers stay separate 2-D matmuls: the wasm backend's
 * batched matmul is an order of magnitude slower than two plain ones.
 */
export class TwinQ extends Module {
  private readonly layers: { w: tf.Variable; b: tf.Variable }[][] = [[], []];

  constructor(inDim: number, hidden: number[], rng: Rng) {
    super();
    const dims = [inDim, ...hidden, 1];
    for (let k = 0; k < 2; k++) {
      for (let i = 0; i + 1 < dims.length; i++) {
        const [fin, fout] = [dims[i], dims[i + 1]];
        // PyTorch's nn.Linear default, U(±1/√fan_in), which rlkit's critics use for their hidden layers.
        const bound = 1 / Math.sqrt(fin);
        const w = new Float32Array(fin * fout).map(() => rng.uniformRange(-bound, bound));
        const b = new Float32Array(fout).map(() => rng.uniformRange(-bound, bound));
        this.layers[k].push({ w: this.param(`q${k + 1}/l${i}/w`, tf.tensor2d(w, [fin, fout])), b: this.param(`q${k + 1}/l${i}/b`, tf.tensor1d(b)) });
      }
    }
  }

  /**
   * [Q1, Q2] as a [2, B] tensor for inputs [B, in]. `frozen` treats the weights as constants so the gradient
   * reaches the input only: the engine's matmul gradient computes both operands' gradients eagerly, and the
   * actor step would otherwise pay for critic weight gradients it throws away.
   */
  apply(x: tf.Tensor2D, frozen = false): tf.Tensor2D {
    const qs = this.layers.map((layers) => {
      let h: tf.Tensor2D = x;
      layers.forEach(({ w, b }, i) => {
        h = frozen ? frozenAffine(h, w as tf.Tensor2D, b) : tf.add(tf.matMul(h, w as tf.Tensor2D), b);
        if (i + 1 < layers.length) h = tf.relu(h);
      });
      return tf.reshape(h, [-1]);
    });
    return tf.stack(qs) as tf.Tensor2D;
  }
}

function frozenAffine(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor): tf.Tensor2D {
  const op = tf.customGrad(((xi: tf.Tensor2D) => ({
    value: tf.add(tf.matMul(xi, w), b),
    gradFunc: (dy: tf.Tensor2D) => tf.matMul(dy, tf.transpose(w)),
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x) as tf.Tensor2D;
}

class Temperature extends Module {
  readonly logAlpha: tf.Variable;
  constructor(initAlpha: number) {
    super();
    this.logAlpha = this.param("log_alpha", tf.scalar(Math.log(initAlpha)));
  }
}

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/**
 * The tanh-Gaussian actor on its own: what a behaviour policy file holds and what dataset generation and
 * evaluation need (no critics, no optimisers).
 */
export class SacActor {
  constructor(
    readonly net: MLP,
    readonly obsDim: number,
    readonly actDim: number,
    private readonly bounds: { logStdMin: number; logStdMax: number } = SAC_DEFAULTS,
  ) {}

  /** Rebuilds an actor from a policy file's arrays (`actor/l<i>/{w,b}`); layer sizes come from the shapes. */
  static fromArrays(arrays: Map<string, NamedArray>, source: string): SacActor {
    const dims: number[] = [];
    for (let i = 0; arrays.has(`actor/l${i}/w`); i++) {
      const shape = arrays.get(`actor/l${i}/w`)!.shape;
      if (shape.length !== 2) throw new UserError(`${source}: actor/l${i}/w has shape [${shape}], expected a matrix`);
      if (i === 0) dims.push(shape[0]);
      dims.push(shape[1]);
    }
    if (dims.length < 2 || dims[dims.length - 1] % 2 !== 0) throw new UserError(`${source}: not a SAC actor file (no actor/l<i>/w layers ending in 2·actDim outputs)`);
    const actDim = dims[dims.length - 1] / 2;
    // Initial values are overwritten by the file's; the fixed seed only makes construction deterministic.
    const net = new MLP(dims[0], dims.slice(1, -1), 2 * actDim, new Rng(0), { act: "relu" });
    assignArrays(net.namedParams(), arrays, "actor/", source);
    return new SacActor(net, dims[0], actDim);
  }

  distribution(obs: tf.Tensor2D): TanhNormal {
    const out = this.net.apply(obs);
    const [mean, rawLogStd] = tf.split(out, 2, 1);
    const logStd = tf.clipByValue(rawLogStd, this.bounds.logStdMin, this.bounds.logStdMax);
    return new TanhNormal(mean, tf.exp(logStd));
  }

  /**
   * One action for one observation. With an rng the action is sampled (behaviour data, exploration) and its
   * log-probability returned; without, it is the deterministic tanh(mean) used for evaluation (logProb NaN).
   * Sampling is done here in JS from the rng so that acting never consumes tfjs seeds.
   */
  act(obs: ArrayLike<number>, rng: Rng | null): { action: Float32Array; logProb: number } {
    const A = this.actDim;
    const t = tf.tidy(() => this.net.apply(tf.tensor2d(Float32Array.from(obs), [1, this.obsDim])));
    const out = t.dataSync() as Float32Array;
    t.dispose();
    const action = new Float32Array(A);
    if (rng === null) {
      for (let i = 0; i < A; i++) action[i] = Math.tanh(out[i]);
      return { action, logProb: NaN };
    }
    let logProb = 0;
    for (let i = 0; i < A; i++) {
      const logStd = Math.min(this.bounds.logStdMax, Math.max(this.bounds.logStdMin, out[A + i]));
      const eps = rng.normal();
      const a = Math.tanh(out[i] + Math.exp(logStd) * eps);
      action[i] = a;
      logProb += -0.5 * eps * eps - logStd - HALF_LOG_2PI - Math.log(1 - a * a + 1e-6);
    }
    return { action, logProb };
  }
}

/**
 * Evaluation policy factory (eval/policy.ts): `{ path, stochastic? }` → the actor in a policy file, acting with
 * tanh(mean) by default or sampling with the episode's seed when `stochastic`.
 */
export const sacPolicy: PolicyFactory = async (args: unknown) => {
  const a = args as { path?: unknown; stochastic?: unknown };
  if (typeof a?.path !== "string") throw new UserError(`sacPolicy: args.path must be a policy file path`);
  await initEngine();
  const actor = SacActor.fromArrays(loadArrays(a.path), a.path);
  let rng = new Rng(0);
  return {
    reset(seed: number) {
      rng = new Rng(seed);
    },
    act: (obs) => actor.act(obs, a.stochastic === true ? rng : null).action,
    dispose: () => actor.net.dispose(),
  };
};

/** The PolicySpec for `evaluate()` of a SAC policy file. */
export function sacPolicySpec(path: string, stochastic = false): PolicySpec {
  return { module: import.meta.url, factory: "sacPolicy", args: { path, stochastic } };
}

export class SacAgent {
  readonly cfg: SacConfig;
  readonly pi: SacActor;
  readonly actor: MLP;
  readonly critic: TwinQ;
  readonly criticTarget: TwinQ;
  private readonly temperature: Temperature;
  private readonly actorOpt: Adam;
  private readonly criticOpt: Adam;
  private readonly alphaOpt: Adam;
  readonly targetEntropy: number;

  constructor(
    readonly obsDim: number,
    readonly actDim: number,
    rng: Rng,
    cfg: Partial<SacConfig> = {},
  ) {
    this.cfg = resolveSacConfig(cfg);
    const opts = { act: "relu" as const };
    this.actor = new MLP(obsDim, this.cfg.hidden, 2 * actDim, rng.split("actor"), opts);
    this.pi = new SacActor(this.actor, obsDim, actDim, this.cfg);
    // The target starts as an exact copy: the same rng stream gives the same initial values.
    this.critic = new TwinQ(obsDim + actDim, this.cfg.hidden, rng.split("critic"));
    this.criticTarget = new TwinQ(obsDim + actDim, this.cfg.hidden, rng.split("critic"));
    this.temperature = new Temperature(this.cfg.initAlpha);
    this.targetEntropy = this.cfg.targetEntropy ?? -actDim;
    const c = this.cfg;
    this.actorOpt = new Adam(this.actor.namedParams(), { lr: c.actorLr ?? c.lr, eps: c.adamEps });
    this.criticOpt = new Adam(this.critic.namedParams(), { lr: c.criticLr ?? c.lr, eps: c.adamEps });
    this.alphaOpt = new Adam(this.temperature.namedParams(), { lr: c.alphaLr ?? c.lr, eps: c.adamEps });
  }

  get alpha(): number {
    return Math.exp(this.temperature.logAlpha.dataSync()[0]);
  }

  /** The actor's tanh-Gaussian for a batch of observations. */
  policy(obs: tf.Tensor2D): TanhNormal {
    return this.pi.distribution(obs);
  }

  /** [Q1, Q2] as a [2, B] tensor. */
  private qValues(net: TwinQ, obs: tf.Tensor2D, act: tf.Tensor, frozen = false): tf.Tensor2D {
    return net.apply(tf.concat([obs, act as tf.Tensor2D], 1), frozen);
  }

  /** One action for one observation; see `SacActor.act`. */
  act(obs: ArrayLike<number>, rng: Rng | null): { action: Float32Array; logProb: number } {
    return this.pi.act(obs, rng);
  }

  /**
   * y = r + γ (1 − terminal) (min Q'(s', a') − α log π(a'|s')), a' ~ π(s'), without the entropy term under
   * `deterministicBackup` and clamped at `targetFloor`; a constant for the critic step.
   */
  targetValue(batch: { rew: tf.Tensor1D; nextObs: tf.Tensor2D; terminal: tf.Tensor1D }, seed: number): tf.Tensor1D {
    return tf.tidy(() => {
      const dist = this.policy(batch.nextObs);
      const { x, y } = dist.rsample(seed);
      const qMin = tf.min(this.qValues(this.criticTarget, batch.nextObs, x), 0);
      const next = this.cfg.deterministicBackup ? qMin : tf.sub(qMin, tf.mul(tf.exp(this.temperature.logAlpha), dist.logProbPre(y, x)));
      const target = tf.add(batch.rew, tf.mul(tf.mul(this.cfg.gamma, tf.sub(1, batch.terminal)), next)) as tf.Tensor1D;
      return this.cfg.targetFloor === null ? target : (tf.maximum(target, this.cfg.targetFloor) as tf.Tensor1D);
    });
  }

  /** min_j Q'_j(s, a), a ~ π(s) with the tfjs seed `seed`: the target critics' value of a sampled next action, [B]. */
  minTargetQ(obs: tf.Tensor2D, seed: number): tf.Tensor1D {
    return tf.tidy(() => {
      const { x } = this.policy(obs).rsample(seed);
      return tf.min(this.qValues(this.criticTarget, obs, x), 0) as tf.Tensor1D;
    });
  }

  /** Actions sampled from π for `rows` observations (row-major), with the tfjs seed `seed`. */
  sampleActions(obs: Float32Array, rows: number, seed: number): Float32Array {
    const a = tf.tidy(() => this.policy(tf.tensor2d(obs, [rows, this.obsDim])).rsample(seed).x);
    const out = a.dataSync() as Float32Array;
    a.dispose();
    return out;
  }

  /** The deterministic action tanh(mean) for a batch of observations. */
  meanAction(obs: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => tf.tanh(tf.split(this.actor.apply(obs), 2, 1)[0]) as tf.Tensor2D);
  }

  /** Q1(s, a) of the online critics, [B]. */
  q1(obs: tf.Tensor2D, act: tf.Tensor2D): tf.Tensor1D {
    return tf.tidy(() => tf.squeeze(tf.slice(this.qValues(this.critic, obs, act), [0, 0], [1, -1]), [0]) as tf.Tensor1D);
  }

  /** One gradient step on critics, actor and temperature, then the Polyak update of the target critics. */
  update(b: SacBatch, rng: Rng): SacLosses {
    const B = b.rew.length;
    const obs = tf.tensor2d(b.obs, [B, this.obsDim]);
    const act = tf.tensor2d(b.act, [B, this.actDim]);
    const rew = tf.tensor1d(b.rew);
    const nextObs = tf.tensor2d(b.nextObs, [B, this.obsDim]);
    const terminal = tf.tensor1d(b.terminal);
    const target = this.targetValue({ rew, nextObs, terminal }, rng.tfSeed());

    const critic = this.criticOpt.minimize(() => {
      // Sum of the two critics' mean squared errors: mean over [2, B] times 2.
      const q = this.qValues(this.critic, obs, act);
      const loss = tf.mul(tf.mean(tf.square(tf.sub(q, target))), 2) as tf.Scalar;
      return { loss, terms: { q: tf.mean(q) as tf.Scalar } };
    });

    const alpha = this.alpha;
    const actorSeed = rng.tfSeed();
    const actor = this.actorOpt.minimize(() => {
      const dist = this.policy(obs);
      const { x, y } = dist.rsample(actorSeed);
      const logPi = dist.logProbPre(y, x);
      const qMin = tf.min(this.qValues(this.critic, obs, x, true), 0);
      const loss = tf.mean(tf.sub(tf.mul(alpha, logPi), qMin)) as tf.Scalar;
      return { loss, terms: { logPi: tf.mean(logPi) as tf.Scalar } };
    });

    // The temperature gradient only needs E[log π + H̄] of the actions just drawn, a constant here.
    const logPi = actor.terms.logPi;
    const alphaLoss = this.cfg.autoAlpha
      ? this.alphaOpt.minimize(() => ({ loss: tf.neg(tf.mul(this.temperature.logAlpha, logPi + this.targetEntropy)) as tf.Scalar })).loss
      : 0;

    this.polyak();
    tf.dispose([obs, act, rew, nextObs, terminal, target]);
    return { critic: critic.loss, actor: actor.loss, alphaLoss, alpha, logPi, q: critic.terms.q };
  }

  private polyak(): void {
    const tau = this.cfg.tau;
    tf.tidy(() => {
      const online = this.critic.params();
      this.criticTarget.params().forEach((t, i) => t.assign(tf.add(tf.mul(t, 1 - tau), tf.mul(online[i], tau))));
    });
  }

  /** Actor weights only: what a behaviour policy file holds. */
  policyArrays(): Map<string, NamedArray> {
    return variablesToArrays(this.actor.namedParams(), "actor/");
  }

  loadPolicyArrays(arrays: Map<string, NamedArray>, source: string): void {
    assignArrays(this.actor.namedParams(), arrays, "actor/", source);
  }

  /**
   * Every parameter (actor, critics, targets, temperature) and the three optimisers, as the one parameter group of a
   * behaviour run's checkpoint (src/algorithms/checkpoint.ts).
   */
  group(): ParamGroup {
    return {
      params: new Map([
        ...this.actor.namedParams("actor/"),
        ...this.critic.namedParams("critic/"),
        ...this.criticTarget.namedParams("critic_target/"),
        ...this.temperature.namedParams("temperature/"),
      ]),
      optimisers: { actor: this.actorOpt, critic: this.criticOpt, alpha: this.alphaOpt },
    };
  }

  dispose(): void {
    for (const m of [this.actor, this.critic, this.criticTarget, this.temperature]) m.dispose();
    this.actorOpt.dispose();
    this.criticOpt.dispose();
    this.alphaOpt.dispose();
  }
}
