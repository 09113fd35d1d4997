/**
 * Distributions the method needs (docs/design/engine.md §4.5): diagonal Normal, tanh-Normal, Bernoulli.
 * Log-probabilities, entropies and KLs are summed over the last (event) axis; batch axes are kept.
 * Samples are reparameterised and take an explicit seed so each RNG stream stays reproducible.
 */
import { tf } from "./tf.js";

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

export class Normal {
  constructor(
    readonly mean: tf.Tensor,
    readonly std: tf.Tensor,
  ) {}

  /** mean + std · ε with ε ~ N(0, I); differentiable in mean and std. */
  rsample(seed: number): tf.Tensor {
    const eps = tf.randomNormal(this.mean.shape, 0, 1, "float32", seed);
    return tf.add(this.mean, tf.mul(this.std, eps));
  }

  logProb(x: tf.Tensor): tf.Tensor {
    const z = tf.div(tf.sub(x, this.mean), this.std);
    const lp = tf.sub(tf.neg(tf.mul(0.5, tf.square(z))), tf.add(tf.log(this.std), HALF_LOG_2PI));
    return tf.sum(lp, -1);
  }

  entropy(): tf.Tensor {
    return tf.sum(tf.add(tf.log(this.std), 0.5 + HALF_LOG_2PI), -1);
  }

  mode(): tf.Tensor {
    return this.mean;
  }
}

/**
 * KL(q ‖ p) for diagonal Normals, summed over the last axis:
 * Σ ln σp − ln σq + (σq² + (μq − μp)²) / (2σp²) − ½. Gradients flow into both arguments.
 */
export function klNormal(q: Normal, p: Normal): tf.Tensor {
  const varRatio = tf.square(tf.div(q.std, p.std));
  const meanTerm = tf.square(tf.div(tf.sub(q.mean, p.mean), p.std));
  const kl = tf.mul(0.5, tf.sub(tf.sub(tf.add(varRatio, meanTerm), 1), tf.log(varRatio)));
  return tf.sum(kl, -1);
}

/**
 * x = tanh(y), y ~ N(m, s). log π(x) = log N(y; m, s) − Σ log(1 − x² + 1e-6) (docs/design/method.md §4.3).
 * Sampling returns both y and x so the log-probability uses the exact pre-squash value.
 */
export class TanhNormal {
  readonly base: Normal;

  constructor(mean: tf.Tensor, std: tf.Tensor) {
    this.base = new Normal(mean, std);
  }

  rsample(seed: number): { x: tf.Tensor; y: tf.Tensor } {
    const y = this.base.rsample(seed);
    return { x: tf.tanh(y), y };
  }

  /** Log-density of x = tanh(y) given the pre-squash sample y. */
  logProbPre(y: tf.Tensor, x: tf.Tensor = tf.tanh(y)): tf.Tensor {
    const logDet = tf.sum(tf.log(tf.add(tf.sub(1, tf.square(x)), 1e-6)), -1);
    return tf.sub(this.base.logProb(y), logDet);
  }

  /** Log-density of a point x in (−1, 1); y is recovered with atanh (x clipped away from ±1). */
  logProb(x: tf.Tensor): tf.Tensor {
    const xc = tf.clipByValue(x, -1 + 1e-6, 1 - 1e-6);
    const y = tf.mul(0.5, tf.log(tf.div(tf.add(1, xc), tf.sub(1, xc))));
    return this.logProbPre(y, xc);
  }

  /** The deterministic action used for evaluation: tanh of the pre-squash mean. */
  mode(): tf.Tensor {
    return tf.tanh(this.base.mean);
  }
}

export class Bernoulli {
  constructor(readonly logits: tf.Tensor) {}

  /** x·l − softplus(l): the log-likelihood of x ∈ {0, 1} (or soft targets in [0, 1]). */
  logProb(x: tf.Tensor): tf.Tensor {
    return tf.sub(tf.mul(x, this.logits), tf.softplus(this.logits));
  }

  mean(): tf.Tensor {
    return tf.sigmoid(this.logits);
  }
}
