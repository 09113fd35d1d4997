/**
 * PLAS's networks (docs/design/method.md §17.1), shaped as the reference `algos.py` (ReLU MLPs, PyTorch's default
 * uniform initialisation):
 *   - the conditional VAE: encoder q(z | s, a) = N(μ, σ) with log σ clamped, decoder a = tanh(D(s, z));
 *   - the latent actor z = z_max · tanh(π(s)), its action D(s, z), and with φ > 0 PLAS+P's perturbation
 *     clip(D(s, z) + φ · tanh(P(s, D(s, z))), −1, 1);
 *   - twin critics Q1, Q2 on (s, a).
 * The decoder takes the latent action as given: the reference clips z to [−0.5, 0.5] only when it samples z from the
 * prior, which PLAS never does.
 */
import { tf } from "../../engine/tf.js";
import { MLP, Module } from "../../engine/nn.js";
import type { Rng } from "../../engine/rng.js";
import type { PlasConfig } from "./config.js";

const relu = { act: "relu", init: "uniform" } as const;

export class PlasVae extends Module {
  readonly latentDim: number;
  private readonly encoder: MLP;
  private readonly decoder: MLP;

  constructor(
    readonly cfg: PlasConfig["vae"],
    readonly obsDim: number,
    readonly actDim: number,
    rng: Rng,
  ) {
    super();
    this.latentDim = cfg.latentPerAction * actDim;
    const hidden = Array.from({ length: cfg.layers }, () => cfg.hidden);
    // One output layer for μ and log σ: the same map as the reference's two heads on the shared hidden layers.
    this.encoder = this.child("encoder", new MLP(obsDim + actDim, hidden, 2 * this.latentDim, rng, relu));
    this.decoder = this.child("decoder", new MLP(obsDim + this.latentDim, hidden, actDim, rng, relu));
  }

  encode(obs: tf.Tensor2D, act: tf.Tensor2D): { mean: tf.Tensor2D; logStd: tf.Tensor2D } {
    const out = this.encoder.apply(tf.concat([obs, act], 1));
    const d = this.latentDim;
    const logStd = tf.clipByValue(tf.slice(out, [0, d], [-1, d]), this.cfg.logStdMin, this.cfg.logStdMax);
    return { mean: tf.slice(out, [0, 0], [-1, d]), logStd };
  }

  decode(obs: tf.Tensor2D, z: tf.Tensor2D): tf.Tensor2D {
    return tf.tanh(this.decoder.apply(tf.concat([obs, z], 1)));
  }

  /**
   * The reference's loss with the reparameterisation noise `noise` [N, latentDim] given: reconstruction MSE (mean
   * over rows and action dimensions) + klWeight · KL(q ‖ N(0, I)) (mean over rows and latent dimensions).
   */
  loss(obs: tf.Tensor2D, act: tf.Tensor2D, noise: tf.Tensor2D): { loss: tf.Scalar; terms: { recon: tf.Scalar; kl: tf.Scalar } } {
    const { mean, logStd } = this.encode(obs, act);
    const z = tf.add(mean, tf.mul(tf.exp(logStd), noise)) as tf.Tensor2D;
    const recon = tf.mean(tf.square(tf.sub(this.decode(obs, z), act))) as tf.Scalar;
    const kl = tf.mul(-0.5, tf.mean(tf.sub(tf.sub(tf.add(1, tf.mul(2, logStd)), tf.square(mean)), tf.exp(tf.mul(2, logStd))))) as tf.Scalar;
    return { loss: tf.add(recon, tf.mul(this.cfg.klWeight, kl)), terms: { recon, kl } };
  }
}

export class LatentActor extends Module {
  private readonly net: MLP;
  private readonly perturb: MLP | null;

  constructor(
    readonly cfg: PlasConfig["agent"],
    readonly obsDim: number,
    readonly actDim: number,
    latentDim: number,
    rng: Rng,
  ) {
    super();
    const hidden = [cfg.actorHidden1, cfg.actorHidden2];
    this.net = this.child("latent", new MLP(obsDim, hidden, latentDim, rng, relu));
    this.perturb = cfg.perturbation > 0 ? this.child("perturbation", new MLP(obsDim + actDim, hidden, actDim, rng, relu)) : null;
  }

  /** The latent action z = z_max · tanh(π(s)). */
  latent(obs: tf.Tensor2D): tf.Tensor2D {
    return tf.mul(this.cfg.maxLatentAction, tf.tanh(this.net.apply(obs)));
  }

  /** The executed action: the decoded latent action, perturbed by at most φ per dimension when φ > 0. */
  action(obs: tf.Tensor2D, vae: PlasVae): tf.Tensor2D {
    const decoded = vae.decode(obs, this.latent(obs));
    if (!this.perturb) return decoded;
    const delta = tf.mul(this.cfg.perturbation, tf.tanh(this.perturb.apply(tf.concat([obs, decoded], 1))));
    return tf.clipByValue(tf.add(decoded, delta), -1, 1) as tf.Tensor2D;
  }
}

export class TwinCritic extends Module {
  private readonly q1Net: MLP;
  private readonly q2Net: MLP;

  constructor(cfg: PlasConfig["agent"], obsDim: number, actDim: number, rng: Rng) {
    super();
    const hidden = [cfg.criticHidden1, cfg.criticHidden2];
    this.q1Net = this.child("q1", new MLP(obsDim + actDim, hidden, 1, rng, relu));
    this.q2Net = this.child("q2", new MLP(obsDim + actDim, hidden, 1, rng, relu));
  }

  /** Q1(s, a) [N]: the critic the actor maximises. */
  q1(obs: tf.Tensor2D, act: tf.Tensor2D): tf.Tensor1D {
    return tf.reshape(this.q1Net.apply(tf.concat([obs, act], 1)), [-1]);
  }

  both(obs: tf.Tensor2D, act: tf.Tensor2D): [tf.Tensor1D, tf.Tensor1D] {
    const x = tf.concat([obs, act], 1);
    return [tf.reshape(this.q1Net.apply(x), [-1]), tf.reshape(this.q2Net.apply(x), [-1])];
  }

  /** Squared error of both critics against the targets `target` [N] (the reference's sum of two MSEs); logs mean Q1. */
  loss(obs: tf.Tensor2D, act: tf.Tensor2D, target: tf.Tensor1D): { loss: tf.Scalar; terms: { q_mean: tf.Scalar } } {
    const [q1, q2] = this.both(obs, act);
    const loss = tf.add(tf.mean(tf.square(tf.sub(q1, target))), tf.mean(tf.square(tf.sub(q2, target)))) as tf.Scalar;
    return { loss, terms: { q_mean: tf.mean(q1) as tf.Scalar } };
  }
}

/** The soft clipped double-Q target y = r + γ · cont · [λ · min(Q1', Q2') + (1 − λ) · max(Q1', Q2')] (all [N]). */
export function softClippedTarget(rew: tf.Tensor1D, cont: tf.Tensor1D, q1: tf.Tensor1D, q2: tf.Tensor1D, discount: number, lambda: number): tf.Tensor1D {
  const mixed = tf.add(tf.mul(lambda, tf.minimum(q1, q2)), tf.mul(1 - lambda, tf.maximum(q1, q2)));
  return tf.add(rew, tf.mul(tf.mul(discount, cont), mixed));
}
