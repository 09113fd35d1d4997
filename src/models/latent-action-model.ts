/**
 * The latent action state-space model of C-LAP (docs/design/method.md §2–§3), and its ablation without latent actions
 * (`model.latentAction = false`: a plain RSSM, docs/design/method.md §10) — one class, one switch.
 *
 * Components (docs/design/method.md §2.2): observation encoder; deterministic transition [z, a_prev] → Linear → SELU → GRUCell;
 * latent-state prior p(z_t | h_t) and posterior q(z_t | h_t, e_t) with σ = softplus + σ_min; latent action prior
 * p(u | s) and posterior q(u | s, a); action decoder p(a | s, u) = N(tanh(m), softplus + σ_min); unit-variance
 * observation decoder and reward head; Bernoulli termination head (switchable off).
 *
 * Layout: window tensors are handled time-major. The batch arrays ([B, T, …], batch-major) are transposed once in
 * JS to [T, B, …] so each time step is a contiguous row block; everything that does not feed the recurrence
 * (encoder, prior head, decoders, latent-action terms, reward/termination heads) runs once on all T·B rows.
 * Windows never cross episodes and every window starts from h = 0, z = 0 (docs/design/method.md §2.2), so no reset inside the loop.
 */
import { tf, splitRows, stopGradient } from "../engine/tf.js";
import { GRUCell, Linear, MLP, Module } from "../engine/nn.js";
import { filterSequence } from "../engine/fused-filter.js";
import type { ImagineInputs, ImagineMlp } from "../engine/fused-imagination.js";
import { fusedActive } from "../engine/blas.js";
import { Bernoulli, Normal, klNormal } from "../engine/distributions.js";
import type { Rng } from "../engine/rng.js";
import { field, type Infer } from "../config/schema.js";
import type { WindowBatch } from "../data/windows.js";

const { int, num, bool, oneOf } = field;

/** The model's config section (`model.*`), declared once: its type follows from it. */
export const MODEL_SCHEMA = {
  /** false: plain RSSM without latent actions (ablation `no-latent-action`, docs/method.md). */
  latentAction: bool,
  /** Hidden units of every MLP. */
  hidden: int(1),
  /** Hidden layers per MLP head. */
  layers: int(0),
  /** Observation embedding size. */
  embed: int(1),
  /** Deterministic (GRU) state size. */
  deter: int(1),
  /** Stochastic state size. */
  stoch: int(1),
  /** Latent action size d_u. */
  latentActionDim: int(1),
  /** σ_min of the latent-state prior/posterior heads (softplus + σ_min). */
  stateMinStd: num({ positive: true }),
  /** σ_min of the latent-action prior/posterior. */
  latentActionMinStd: num({ positive: true }),
  /** σ_min of the action decoder. */
  actionMinStd: num({ positive: true }),
  /** Termination head on/off (off: c ≡ 1, the V-D4RL preset). */
  termination: bool,
  /** Mask reward/termination terms at an episode's first entry (m^r, docs/method.md). */
  maskFirstReward: bool,
  /**
   * Scales of the model loss terms (the paper's ELBO has all 1). `act` scales the action half of the joint
   * likelihood, reconstruction and latent-action KL together, so it does not change the price of information in u.
   * `klState` below 1 lets the latent state keep the precision a behaviour model needs; `klAction` below 1 makes the
   * latent action, rather than the decoder's σ, carry the data's action spread (docs/deviations.md).
   */
  scales: { obs: num({ min: 0 }), act: num({ min: 0 }), rew: num({ min: 0 }), cont: num({ min: 0 }), klState: num({ min: 0 }), klAction: num({ min: 0 }) },
  kl: {
    /** Free nats on the batch-mean KL (0 = plain ELBO). */
    freeNats: num({ min: 0 }),
    /** KL balancing weight α on the prior side (0 = off, plain ELBO). */
    balance: num({ min: 0, max: 1 }),
  },
  init: oneOf("uniform", "lecun"),
  lr: num({ positive: true }),
  eps: num({ positive: true }),
  clip: num({ min: 0 }),
  /** Phase-1 gradient steps. */
  steps: int(0),
} as const;

export type ModelConfig = Infer<typeof MODEL_SCHEMA>;

/** What the networks take from the data: sizes, and the value scale (agent.valueScale "returns"; absent: 1). */
export interface ModelDims {
  obsDim: number;
  actDim: number;
  returnScale?: number;
}

/** A window batch as model inputs: the data layer's WindowBatch without its shape metadata. */
export type WindowArrays = Omit<WindowBatch, "kind" | "obsShape" | "actDim">;

/** Latent states of many rows: deterministic h [N, deter] and stochastic z [N, stoch]. */
export interface LatentState {
  h: tf.Tensor2D;
  z: tf.Tensor2D;
}

export const MODEL_LOSS_TERMS = ["obs", "act", "kl_s", "kl_u", "rew", "cont"] as const;

/** [B, T, D] → [T·B, D] (time-major rows). */
export function timeMajor(x: Float32Array, B: number, T: number, D: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) out.set(x.subarray((b * T + t) * D, (b * T + t + 1) * D), (t * B + b) * D);
  }
  return out;
}

function hiddenSizes(cfg: { hidden: number; layers: number }): number[] {
  return Array.from({ length: cfg.layers }, () => cfg.hidden);
}

/** A head producing a diagonal Normal: mean and σ = softplus(raw) + σ_min. */
class NormalHead extends Module {
  private readonly net: MLP;

  constructor(inDim: number, hidden: number[], readonly outDim: number, readonly minStd: number, rng: Rng, init: ModelConfig["init"]) {
    super();
    this.net = this.child("net", new MLP(inDim, hidden, 2 * outDim, rng, { init }));
  }

  apply(x: tf.Tensor2D): Normal {
    return this.dist(this.net.apply(x));
  }

  get first(): Linear {
    return this.net.first;
  }

  get later(): readonly Linear[] {
    return this.net.later;
  }

  /** The whole head's MLP (the fused imagined rollout runs it natively). */
  get mlp(): MLP {
    return this.net;
  }

  /** The head given its first layer's output (see Linear.rows). */
  applyFromFirst(pre: tf.Tensor2D): Normal {
    return this.dist(this.net.applyFromFirst(pre));
  }

  private dist(out: tf.Tensor2D): Normal {
    const [mean, raw] = tf.split(out, 2, 1);
    return new Normal(mean, tf.add(tf.softplus(raw), this.minStd));
  }
}

export class LatentActionModel extends Module {
  readonly cfg: ModelConfig;
  readonly dims: ModelDims;
  readonly featDim: number;
  private readonly encoder: MLP;
  private readonly transIn: Linear;
  private readonly gru: GRUCell;
  private readonly prior: NormalHead;
  private readonly posterior: NormalHead;
  private readonly obsDecoder: MLP;
  private readonly rewardHead: MLP;
  private readonly contHead: MLP | null;
  private readonly uPrior: NormalHead | null;
  private readonly uPosterior: NormalHead | null;
  private readonly actDecoder: MLP | null;

  constructor(cfg: ModelConfig, dims: ModelDims, rng: Rng) {
    super();
    this.cfg = cfg;
    this.dims = dims;
    const hid = hiddenSizes(cfg);
    const init = cfg.init;
    const F = cfg.deter + cfg.stoch;
    this.featDim = F;
    // Each component draws from its own child stream so adding or removing one leaves the others' initial values.
    const r = (label: string) => rng.split(label);
    this.encoder = this.child("enc", new MLP(dims.obsDim, hid, cfg.embed, r("enc"), { init }));
    this.transIn = this.child("trans_in", new Linear(cfg.stoch + dims.actDim, cfg.hidden, r("trans_in"), init));
    this.gru = this.child("gru", new GRUCell(cfg.hidden, cfg.deter, r("gru")));
    this.prior = this.child("prior", new NormalHead(cfg.deter, hid, cfg.stoch, cfg.stateMinStd, r("prior"), init));
    this.posterior = this.child("post", new NormalHead(cfg.deter + cfg.embed, hid, cfg.stoch, cfg.stateMinStd, r("post"), init));
    this.obsDecoder = this.child("dec", new MLP(F, hid, dims.obsDim, r("dec"), { init }));
    this.rewardHead = this.child("rew", new MLP(F, hid, 1, r("rew"), { init }));
    this.contHead = cfg.termination ? this.child("cont", new MLP(F, hid, 1, r("cont"), { init })) : null;
    if (cfg.latentAction) {
      const U = cfg.latentActionDim;
      this.uPrior = this.child("u_prior", new NormalHead(F, hid, U, cfg.latentActionMinStd, r("u_prior"), init));
      this.uPosterior = this.child("u_post", new NormalHead(F + dims.actDim, hid, U, cfg.latentActionMinStd, r("u_post"), init));
      this.actDecoder = this.child("act_dec", new MLP(F + U, hid, 2 * dims.actDim, r("act_dec"), { init }));
    } else {
      this.uPrior = null;
      this.uPosterior = null;
      this.actDecoder = null;
    }
  }

  get latentAction(): boolean {
    return this.uPrior !== null;
  }

  /** Zero state for `n` rows (window start and episode reset, docs/design/method.md §2.2 / §8). */
  initialState(n: number): LatentState {
    return { h: tf.zeros([n, this.cfg.deter]), z: tf.zeros([n, this.cfg.stoch]) };
  }

  features(s: LatentState): tf.Tensor2D {
    return tf.concat([s.h, s.z], 1);
  }

  /** Deterministic transition: h_t = GRU(h_{t−1}, SELU(Linear([z_{t−1}, a_{t−1}]))). */
  transition(prev: LatentState, action: tf.Tensor2D): tf.Tensor2D {
    const x = tf.selu(this.transIn.apply(tf.concat([prev.z, action], 1)));
    return this.gru.apply(x, prev.h);
  }

  priorDist(h: tf.Tensor2D): Normal {
    return this.prior.apply(h);
  }

  posteriorDist(h: tf.Tensor2D, embed: tf.Tensor2D): Normal {
    return this.posterior.apply(tf.concat([h, embed], 1));
  }

  encode(obs: tf.Tensor2D): tf.Tensor2D {
    return this.encoder.apply(obs);
  }

  /** p(u | s). Only with latent actions. */
  latentActionPrior(feat: tf.Tensor2D): Normal {
    return this.requireLatent().uPrior.apply(feat);
  }

  /** p(a | s, u) = N(tanh(m), softplus(·) + σ_min). Only with latent actions. */
  actionDecoder(feat: tf.Tensor2D, u: tf.Tensor2D): Normal {
    const [m, raw] = tf.split(this.requireLatent().actDecoder.apply(tf.concat([feat, u], 1)), 2, 1);
    return new Normal(tf.tanh(m), tf.add(tf.softplus(raw), this.cfg.actionMinStd));
  }

  /** Mean of p(r | s): reward of the transition into s. Shape [N]. */
  rewardMean(feat: tf.Tensor2D): tf.Tensor1D {
    return tf.reshape(this.rewardHead.apply(feat), [-1]);
  }

  /** p(c = 1 | s), or ones when the termination head is off. Shape [N]. */
  continuation(feat: tf.Tensor2D): tf.Tensor1D {
    if (!this.contHead) return tf.ones([feat.shape[0]]);
    return tf.sigmoid(tf.reshape(this.contHead.apply(feat), [-1]));
  }

  private requireLatent(): { uPrior: NormalHead; uPosterior: NormalHead; actDecoder: MLP } {
    if (!this.uPrior || !this.uPosterior || !this.actDecoder) throw new Error("this model has no latent actions (model.latentAction = false)");
    return { uPrior: this.uPrior, uPosterior: this.uPosterior, actDecoder: this.actDecoder };
  }

  /**
   * Runs the posterior filter over a window batch. Returns time-major rows [T·B, …]: h, z, and the posterior
   * distribution parameters. `seed` drives the reparameterised posterior samples; null takes the posterior mean.
   */
  observe(obsTM: tf.Tensor2D, prevActTM: tf.Tensor2D, B: number, T: number, seed: number | null): { h: tf.Tensor2D; z: tf.Tensor2D; post: Normal } {
    const { stoch, deter } = this.cfg;
    // The two layers of the recurrence with concatenated inputs, transition [z, a_prev] and posterior [h, e], are
    // split by input block (Linear.rows): the a_prev and e blocks do not depend on the recurrence, so their products
    // (and the biases) are computed for all T·B rows in one matmul each, and the loop does no concatenation.
    const trans = this.transIn;
    const wz = trans.rows(0, stoch);
    const act = tf.add(tf.matMul(prevActTM, trans.rows(stoch, this.dims.actDim)), trans.b);
    const postFirst = this.posterior.first;
    const wh = postFirst.rows(0, deter);
    const embed = tf.add(tf.matMul(this.encode(obsTM), postFirst.rows(deter, this.cfg.embed)), postFirst.b);
    const noise = seed === null ? null : tf.randomNormal([T * B, stoch], 0, 1, "float32", seed);
    if (fusedActive("filter")) {
      // The same recurrence as one native kernel (src/engine/fused-filter.ts).
      const layers = this.posterior.later.map((l) => ({ w: l.w, b: l.b }));
      const f = filterSequence({ T, B, act, embed, noise, wz, gru: this.gru, wph: wh, layers, minStd: this.posterior.minStd });
      return { h: f.h, z: f.z, post: new Normal(f.mean, f.std) };
    }
    const actPart = splitRows(act, T) as tf.Tensor2D[];
    const embedPart = splitRows(embed, T);
    const noisePart = noise === null ? null : splitRows(noise, T);
    // Windows start from h = 0, z = 0, where z·W_z vanishes.
    let h = tf.zeros([B, deter]) as tf.Tensor2D;
    let z: tf.Tensor2D | null = null;
    const hs: tf.Tensor2D[] = [];
    const zs: tf.Tensor2D[] = [];
    const means: tf.Tensor[] = [];
    const stds: tf.Tensor[] = [];
    for (let t = 0; t < T; t++) {
      const x = z === null ? actPart[t] : tf.add(tf.matMul(z, wz), actPart[t]);
      h = this.gru.apply(tf.selu(x) as tf.Tensor2D, h);
      const post = this.posterior.applyFromFirst(tf.add(tf.matMul(h, wh), embedPart[t]));
      z = (noisePart ? tf.add(post.mean, tf.mul(post.std, noisePart[t])) : post.mean) as tf.Tensor2D;
      hs.push(h);
      zs.push(z);
      means.push(post.mean);
      stds.push(post.std);
    }
    return { h: tf.concat(hs, 0), z: tf.concat(zs, 0), post: new Normal(tf.concat(means, 0), tf.concat(stds, 0)) };
  }

  /**
   * The model loss of docs/design/method.md §3.2 on one window batch, with each term (as a positive loss contribution, averaged over
   * B·T) for logging: obs = −ln p(o|s), act = −m^a ln p(a|s,u), kl_s, kl_u = m^a KL_u, rew = −m^r ln p(r|s),
   * cont = −m^r ln p(c|s). All terms carry the validity mask m.
   */
  loss(batch: WindowArrays, seeds: { posterior: number; latentAction: number }): { loss: tf.Scalar; terms: Record<string, tf.Scalar> } {
    const { B, T } = batch;
    const N = B * T;
    const obsDim = this.dims.obsDim;
    const actDim = this.dims.actDim;
    const obs = tf.tensor2d(timeMajor(batch.obs, B, T, obsDim), [N, obsDim]);
    const act = tf.tensor2d(timeMajor(batch.act, B, T, actDim), [N, actDim]);
    const prevAct = tf.tensor2d(timeMajor(batch.prevAct, B, T, actDim), [N, actDim]);
    const m = tf.tensor1d(timeMajor(batch.mask, B, T, 1));
    const mA = tf.mul(m, tf.tensor1d(timeMajor(batch.actMask, B, T, 1)));
    const isFirst = timeMajor(batch.isFirst, B, T, 1);
    const mR = this.cfg.maskFirstReward ? tf.mul(m, tf.sub(1, tf.tensor1d(isFirst))) : m;
    const rew = tf.tensor1d(timeMajor(batch.rew, B, T, 1));
    const cont = tf.tensor1d(timeMajor(batch.cont, B, T, 1));

    const { h, z, post } = this.observe(obs, prevAct, B, T, seeds.posterior);
    const feat = this.features({ h, z });
    const prior = this.priorDist(h);
    const mean = (x: tf.Tensor, w: tf.Tensor) => tf.div(tf.sum(tf.mul(x, w)), N) as tf.Scalar;

    // Unit-variance Normal: −ln p(o|s) = ½‖o − ô‖² + (d/2) ln 2π.
    const halfLog2Pi = 0.5 * Math.log(2 * Math.PI);
    const obsNll = tf.add(tf.mul(0.5, tf.sum(tf.square(tf.sub(obs, this.obsDecoder.apply(feat))), 1)), obsDim * halfLog2Pi);
    const rewNll = tf.add(tf.mul(0.5, tf.square(tf.sub(rew, this.rewardMean(feat)))), halfLog2Pi);
    const terms: Record<string, tf.Scalar> = {
      obs: mean(obsNll, m),
      kl_s: this.klTerm(post, prior, m, N),
      rew: mean(rewNll, mR),
    };
    if (this.contHead) {
      const logits = tf.reshape(this.contHead.apply(feat), [-1]);
      terms.cont = mean(tf.neg(new Bernoulli(logits).logProb(cont)), mR);
    }
    if (this.latentAction) {
      const { uPrior, uPosterior } = this.requireLatent();
      const q = uPosterior.apply(tf.concat([feat, act], 1));
      const u = q.rsample(seeds.latentAction) as tf.Tensor2D;
      terms.act = mean(tf.neg(this.actionDecoder(feat, u).logProb(act)), mA);
      terms.kl_u = this.klTerm(q, uPrior.apply(feat), mA, N);
    }
    // The action half of the joint likelihood (reconstruction and latent-action KL) shares `act`, so weighting it
    // does not change the price of information in u; `klAction` does.
    const sc = this.cfg.scales;
    const scaleOf: Record<string, number> = { obs: sc.obs, act: sc.act, kl_u: sc.act * sc.klAction, rew: sc.rew, cont: sc.cont, kl_s: sc.klState };
    const loss = tf.addN(Object.entries(terms).map(([k, v]) => (scaleOf[k] === 1 ? v : tf.mul(scaleOf[k], v)))) as tf.Scalar;
    return { loss, terms };
  }

  /**
   * Masked batch-mean KL(q ‖ p). Plain ELBO by default; `kl.balance = α > 0` uses α·KL(sg q ‖ p) + (1−α)·KL(q ‖ sg p),
   * and `kl.freeNats` clamps the batch mean from below (both Offline DV2 options, docs/design/method.md §3.2; off by default).
   */
  private klTerm(q: Normal, p: Normal, w: tf.Tensor, N: number): tf.Scalar {
    const avg = (kl: tf.Tensor) => tf.div(tf.sum(tf.mul(kl, w)), N) as tf.Scalar;
    let kl: tf.Scalar;
    const alpha = this.cfg.kl.balance;
    if (alpha > 0) {
      const sgQ = new Normal(stopGradient(q.mean), stopGradient(q.std));
      const sgP = new Normal(stopGradient(p.mean), stopGradient(p.std));
      kl = tf.add(tf.mul(alpha, avg(klNormal(sgQ, p))), tf.mul(1 - alpha, avg(klNormal(q, sgP))));
    } else {
      kl = avg(klNormal(q, p));
    }
    return this.cfg.kl.freeNats > 0 ? (tf.maximum(kl, this.cfg.kl.freeNats) as tf.Scalar) : kl;
  }

  /**
   * One online filter step for acting (docs/design/method.md §8): h ← GRU(h, [z, a_prev]); z ← posterior mean, or mean + σ ⊙ noise
   * with standard-normal `noise`, given the normalised observation.
   */
  filterStep(prev: LatentState, prevAction: tf.Tensor2D, obs: tf.Tensor2D, noise?: tf.Tensor): LatentState {
    const h = this.transition(prev, prevAction);
    const post = this.posteriorDist(h, this.encode(obs));
    const z = (noise === undefined ? post.mean : tf.add(post.mean, tf.mul(post.std, noise))) as tf.Tensor2D;
    return { h, z };
  }

  /**
   * The networks of imagineStep, with the latent action prior and the action decoder, as the fused imagined rollout
   * takes them (src/engine/fused-imagination.ts). Only with latent actions.
   */
  imaginationNets(): Pick<ImagineInputs, "latentPrior" | "prior" | "decoder" | "transition" | "gru"> {
    const { uPrior, actDecoder } = this.requireLatent();
    const mlp = (m: MLP): ImagineMlp => ({ layers: m.linears, act: m.act });
    return {
      latentPrior: { ...mlp(uPrior.mlp), minStd: uPrior.minStd },
      prior: { ...mlp(this.prior.mlp), minStd: this.prior.minStd },
      decoder: mlp(actDecoder),
      transition: this.transIn,
      gru: this.gru,
    };
  }

  /** One imagination step: h' from the transition, z' = mean + σ ⊙ noise of the prior at h' (reparameterised). */
  imagineStep(prev: LatentState, action: tf.Tensor2D, noise: tf.Tensor): LatentState {
    const h = this.transition(prev, action);
    const prior = this.priorDist(h);
    return { h, z: tf.add(prior.mean, tf.mul(prior.std, noise)) as tf.Tensor2D };
  }
}
