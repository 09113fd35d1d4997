/**
 * The constrained latent action policy (docs/design/method.md §4.3) and its two ablations (§10), behind one class.
 *
 * The network maps latent features to (m_raw, s_raw); m = c·tanh(m_raw / c), s = softplus(s_raw + softplus⁻¹(s_init))
 * + s_min. Then, by mode:
 *   "box"    — x = tanh(y), y ~ N(m, s); ũ = μ + ε·σ ⊙ x with (μ, σ) from the latent action prior. Every sample lies
 *              in μ ± εσ by construction. The regulariser uses log π(x | s) (the −Σ log(εσ) term of the change of
 *              variables does not depend on the policy parameters).
 *   "none"   — ũ ~ N(m, s) over the latent action, unbounded (ablation `no-constraint`); log-prob of ũ.
 *   "action" — the model has no latent actions (ablation `no-latent-action`): a = tanh(y), y ~ N(m, s), directly in
 *              action space; log-prob of a.
 * Gradients flow through μ and σ (they depend on the imagined state) as well as through the policy head.
 */
import { tf } from "../../engine/tf.js";
import { MLP, Module } from "../../engine/nn.js";
import { Normal, TanhNormal } from "../../engine/distributions.js";
import type { Rng } from "../../engine/rng.js";
import type { ImagineInputs } from "../../engine/fused-imagination.js";
import type { PolicyConfig } from "./config.js";

export type PolicyMode = "box" | "none" | "action";

/** softplus⁻¹(y) = log(eᵞ − 1), written stably for large y. */
export function softplusInverse(y: number): number {
  return y > 20 ? y : Math.log(Math.expm1(y));
}

/** ũ = μ + ε·σ ⊙ x: the constrained map (spec eq. 11). */
export function constrainedMap(mu: tf.Tensor, sigma: tf.Tensor, x: tf.Tensor, epsilon: number): tf.Tensor2D {
  return tf.add(mu, tf.mul(tf.mul(sigma, epsilon), x)) as tf.Tensor2D;
}

export interface PolicySample {
  /** The latent action ũ (modes "box"/"none") or the action a (mode "action"), [N, d]. */
  out: tf.Tensor2D;
  /** log π of the policy's own variable (x, ũ or a), [N]. */
  logProb: tf.Tensor1D;
}

export class ConstrainedPolicy extends Module {
  private readonly net: MLP;
  private readonly stdShift: number;

  constructor(
    readonly cfg: PolicyConfig,
    readonly mode: PolicyMode,
    featDim: number,
    readonly outDim: number,
    readonly epsilon: number,
    rng: Rng,
  ) {
    super();
    const hidden = Array.from({ length: cfg.layers }, () => cfg.hidden);
    this.net = this.child("net", new MLP(featDim, hidden, 2 * outDim, rng));
    this.stdShift = softplusInverse(cfg.initStd);
    if (cfg.initMean === "zero") {
      // m_raw ≡ 0 at initialisation: the untrained policy's mode is x = 0, i.e. ũ = μ, the prior policy itself
      // (docs/deviations.md). Only the output layer's mean columns are zeroed; every other weight keeps its draw.
      const out = this.net.later.length ? this.net.later[this.net.later.length - 1] : this.net.first;
      for (const v of [out.w, out.b]) {
        // Row-major [in, 2·outDim] and [2·outDim]: the mean is the first outDim of every row.
        const values = (v.dataSync() as Float32Array).map((x, i) => (i % (2 * outDim) < outDim ? 0 : x));
        tf.tidy(() => v.assign(tf.tensor(values, v.shape)));
      }
    }
  }

  /** The policy as the fused imagined rollout takes it (mode "box"; src/engine/fused-imagination.ts). */
  imaginationNet(): ImagineInputs["policy"] {
    const { meanScale, minStd } = this.cfg;
    return { layers: this.net.linears, act: this.net.act, meanScale, stdShift: this.stdShift, minStd, epsilon: this.epsilon };
  }

  /** Pre-squash Normal N(m, s) of the policy at `feat`. */
  dist(feat: tf.Tensor2D): Normal {
    const [mRaw, sRaw] = tf.split(this.net.apply(feat), 2, 1);
    const c = this.cfg.meanScale;
    const m = tf.mul(c, tf.tanh(tf.div(mRaw, c)));
    const s = tf.add(tf.softplus(tf.add(sRaw, this.stdShift)), this.cfg.minStd);
    return new Normal(m, s);
  }

  /**
   * Samples (reparameterised, y = m + s ⊙ noise with standard-normal `noise` [N, outDim]) or takes the mode (`noise`
   * undefined) at `feat`. The caller draws the noise, so a batch processed in chunks sees the same draws as a whole.
   * `prior` is the latent action prior at the same states, required in mode "box" and ignored otherwise.
   */
  act(feat: tf.Tensor2D, prior: Normal | null, noise?: tf.Tensor): PolicySample {
    const base = this.dist(feat);
    const y = noise === undefined ? base.mean : tf.add(base.mean, tf.mul(base.std, noise));
    if (this.mode === "none") {
      return { out: y as tf.Tensor2D, logProb: base.logProb(y) as tf.Tensor1D };
    }
    const tn = new TanhNormal(base.mean, base.std);
    const x = tf.tanh(y) as tf.Tensor2D;
    const logProb = tn.logProbPre(y, x) as tf.Tensor1D;
    if (this.mode === "action") return { out: x, logProb };
    if (!prior) throw new Error("the constrained policy needs the latent action prior (μ, σ)");
    return { out: constrainedMap(prior.mean, prior.std, x, this.epsilon), logProb };
  }
}
