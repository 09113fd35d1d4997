import { tf } from "../../src/engine/tf.js";
import { Rng } from "../../src/engine/rng.js";

/**
 * Central finite-difference check of d f / d inputs (docs/design/engine.md §2.1 metric):
 * max |fd − analytic| / max |analytic| over `probes` random entries of every input.
 * `f` must be a pure function of its inputs returning a scalar.
 */
export function gradError(
  f: (...xs: tf.Tensor[]) => tf.Scalar,
  inputs: tf.Tensor[],
  { eps = 1e-2, probes = 6, seed = 1 }: { eps?: number; probes?: number; seed?: number } = {},
): number {
  const rng = new Rng(seed);
  const analytic = tf.grads(f)(inputs).map((g) => g.dataSync().slice());
  let maxDiff = 0;
  let maxAbs = 0;
  inputs.forEach((x, k) => {
    const base = x.dataSync().slice();
    for (let p = 0; p < Math.min(probes, base.length); p++) {
      const i = rng.int(base.length);
      const evalAt = (delta: number) => {
        const v = base.slice();
        v[i] += delta;
        const xs = inputs.map((t, j) => (j === k ? tf.tensor(v, t.shape) : t));
        const out = f(...xs).dataSync()[0];
        return out;
      };
      const fd = tf.tidy(() => (evalAt(eps) - evalAt(-eps)) / (2 * eps));
      maxDiff = Math.max(maxDiff, Math.abs(fd - analytic[k][i]));
    }
    for (const a of analytic[k]) maxAbs = Math.max(maxAbs, Math.abs(a));
  });
  return maxDiff / Math.max(maxAbs, 1e-8);
}

/**
 * gradError with respect to parameters: the variables themselves are the inputs, so the analytic gradient is
 * tf.grads through the module; for the finite differences `loss` runs with the perturbed values assigned in their place.
 */
export function paramGradError(vars: tf.Variable[], loss: () => tf.Scalar, { eps = 1e-3, probes = 4 }: { eps?: number; probes?: number } = {}): number {
  const saved = vars.map((v) => v.clone());
  const f = (...xs: tf.Tensor[]): tf.Scalar => {
    const swapped = xs.map((x, i) => x !== vars[i]);
    xs.forEach((x, i) => swapped[i] && vars[i].assign(x));
    const out = loss();
    xs.forEach((_, i) => swapped[i] && vars[i].assign(saved[i]));
    return out;
  };
  try {
    return tf.tidy(() => gradError(f, vars, { eps, probes }));
  } finally {
    tf.dispose(saved);
  }
}

/** Random tensor with entries N(0, scale²) from a seeded stream (float64 math, float32 storage). */
export function randn(shape: number[], seed: number, scale = 1): tf.Tensor {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = scale * rng.normal();
  return tf.tensor(d, shape);
}

/** max |x − ref| / max |ref|: the error of a result against a reference, relative to the reference's scale. */
export function relErr(x: Float32Array, ref: Float32Array): number {
  if (x.length !== ref.length) throw new Error(`relErr: lengths differ (${x.length} vs ${ref.length})`);
  let d = 0;
  let m = 0;
  for (let i = 0; i < ref.length; i++) {
    d = Math.max(d, Math.abs(x[i] - ref[i]));
    m = Math.max(m, Math.abs(ref[i]));
  }
  return d / Math.max(m, 1e-30);
}

/** Every (transposeA, transposeB) combination a matmul test covers. */
export const TRANSPOSE_PAIRS = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
] as const;
