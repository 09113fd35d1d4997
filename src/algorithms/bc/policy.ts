/**
 * The behaviour-cloning policy network and its loss (docs/design/baselines.md, BC). The action's mean is tanh of the
 * network's first actDim outputs, so it lies in the action box [−1, 1]^d; the Gaussian variant adds a learned σ.
 */
import { tf } from "../../engine/tf.js";
import { MLP, Module } from "../../engine/nn.js";
import { Normal } from "../../engine/distributions.js";
import type { Rng } from "../../engine/rng.js";
import type { BcConfig } from "./config.js";

export class BcPolicy extends Module {
  private readonly net: MLP;

  constructor(
    readonly cfg: BcConfig["bc"],
    readonly obsDim: number,
    readonly actDim: number,
    rng: Rng,
  ) {
    super();
    const hidden = Array.from({ length: cfg.layers }, () => cfg.hidden);
    const out = cfg.policy === "gaussian" ? 2 * actDim : actDim;
    this.net = this.child("net", new MLP(obsDim, hidden, out, rng, { act: cfg.activation, init: "lecun" }));
  }

  /** The action distribution at normalised observations [N, obsDim]; deterministic policies have σ = 0 (mode only). */
  distribution(obs: tf.Tensor2D): { mean: tf.Tensor2D; std: tf.Tensor2D | null } {
    const out = this.net.apply(obs);
    const d = this.actDim;
    const mean = tf.tanh(tf.slice(out, [0, 0], [-1, d])) as tf.Tensor2D;
    if (this.cfg.policy === "deterministic") return { mean, std: null };
    const { logStdMin: lo, logStdMax: hi } = this.cfg;
    // tanh keeps log σ inside [lo, hi] with a gradient everywhere (a clip would stop learning at the bounds).
    const logStd = tf.add(lo, tf.mul(0.5 * (hi - lo), tf.add(tf.tanh(tf.slice(out, [0, d], [-1, d])), 1)));
    return { mean, std: tf.exp(logStd) as tf.Tensor2D };
  }

  /**
   * Per-row loss against the data's actions: squared error summed over action dimensions (deterministic) or the
   * negative log-likelihood (gaussian).
   */
  loss(obs: tf.Tensor2D, act: tf.Tensor2D): tf.Tensor1D {
    const { mean, std } = this.distribution(obs);
    if (std === null) return tf.sum(tf.square(tf.sub(mean, act)), -1) as tf.Tensor1D;
    return tf.neg(new Normal(mean, std).logProb(act)) as tf.Tensor1D;
  }
}
