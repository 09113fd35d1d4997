import { before, test } from "node:test";
import assert from "node:assert/strict";
import { initEngine, tf } from "../../src/engine/tf.js";
import { Bernoulli, Normal, TanhNormal, klNormal } from "../../src/engine/distributions.js";
import { gradError, randn } from "../helpers/gradcheck.js";

before(async () => {
  await initEngine();
});

const close = (a: number, b: number, tol: number, what: string) =>
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

test("Normal log-prob and entropy equal the closed forms, summed over the last axis", () => {
  tf.tidy(() => {
    const d = new Normal(tf.tensor2d([[0.5, -1]]), tf.tensor2d([[2, 0.3]]));
    const x = [1.5, -0.2];
    const ref =
      -0.5 * ((1.5 - 0.5) / 2) ** 2 - Math.log(2) - 0.5 * Math.log(2 * Math.PI) +
      (-0.5 * ((-0.2 + 1) / 0.3) ** 2 - Math.log(0.3) - 0.5 * Math.log(2 * Math.PI));
    close(d.logProb(tf.tensor2d([x])).dataSync()[0], ref, 1e-5, "logProb");
    const ent = Math.log(2) + Math.log(0.3) + 1 + Math.log(2 * Math.PI);
    close(d.entropy().dataSync()[0], ent, 1e-5, "entropy");
  });
});

test("Normal rsample is reproducible per seed and has the right moments", () => {
  tf.tidy(() => {
    const d = new Normal(tf.fill([20000, 1], 1.5), tf.fill([20000, 1], 0.5));
    const a = Array.from(d.rsample(42).dataSync());
    const b = Array.from(d.rsample(42).dataSync());
    const c = Array.from(d.rsample(43).dataSync());
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    const mean = a.reduce((s, v) => s + v, 0) / a.length;
    const sd = Math.sqrt(a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length);
    close(mean, 1.5, 0.02, "mean");
    close(sd, 0.5, 0.02, "std");
  });
});

test("Normal KL matches the closed form, is zero for equal arguments, and its gradient matches finite differences", () => {
  tf.tidy(() => {
    const mq = 0.3, sq = 0.7, mp = -0.4, sp = 1.3;
    const ref = Math.log(sp / sq) + (sq ** 2 + (mq - mp) ** 2) / (2 * sp ** 2) - 0.5;
    const kl = klNormal(new Normal(tf.tensor1d([mq]), tf.tensor1d([sq])), new Normal(tf.tensor1d([mp]), tf.tensor1d([sp])));
    close(kl.dataSync()[0], ref, 1e-5, "KL");
    const m = randn([4, 3], 1);
    const s = tf.exp(randn([4, 3], 2, 0.5));
    close(tf.sum(klNormal(new Normal(m, s), new Normal(m, s))).dataSync()[0], 0, 1e-6, "KL(p||p)");
    const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, d: tf.Tensor) =>
      tf.sum(klNormal(new Normal(a, tf.exp(b)), new Normal(c, tf.exp(d)))) as tf.Scalar;
    const err = gradError(f, [randn([4, 3], 3), randn([4, 3], 4, 0.5), randn([4, 3], 5), randn([4, 3], 6, 0.5)]);
    assert.ok(err < 1e-2, `relative gradient error ${err}`);
  });
});

test("tanh-Normal log-prob includes the change of variables and integrates to one", () => {
  tf.tidy(() => {
    const mean = 0.4, std = 0.8;
    const d = new TanhNormal(tf.tensor2d([[mean]]), tf.tensor2d([[std]]));
    // Trapezoid integration of the density over (−1, 1) in the pre-squash variable y (dx = (1 − x²) dy).
    const n = 4001;
    const ys = Array.from({ length: n }, (_, i) => -6 + (12 * i) / (n - 1));
    const xs = ys.map(Math.tanh);
    const lp = d.logProb(tf.tensor2d(xs.map((x) => [x]))).dataSync();
    let integral = 0;
    for (let i = 0; i + 1 < n; i++) {
      const f0 = Math.exp(lp[i]) * (1 - xs[i] ** 2);
      const f1 = Math.exp(lp[i + 1]) * (1 - xs[i + 1] ** 2);
      integral += 0.5 * (f0 + f1) * (ys[i + 1] - ys[i]);
    }
    close(integral, 1, 2e-3, "∫ density");
    // Pointwise against the formula log N(y) − log(1 − x² + 1e-6).
    const y = 0.9, x = Math.tanh(y);
    const ref = -0.5 * ((y - mean) / std) ** 2 - Math.log(std) - 0.5 * Math.log(2 * Math.PI) - Math.log(1 - x * x + 1e-6);
    close(d.logProbPre(tf.tensor2d([[y]])).dataSync()[0], ref, 1e-5, "logProbPre");
    close(d.logProb(tf.tensor2d([[x]])).dataSync()[0], ref, 1e-3, "logProb via atanh");
    close(d.mode().dataSync()[0], Math.tanh(mean), 1e-6, "mode");
  });
});

test("tanh-Normal reparameterised log-prob: gradient matches finite differences", () => {
  tf.tidy(() => {
    const eps = randn([5, 3], 7);
    const f = (m: tf.Tensor, logS: tf.Tensor) => {
      const d = new TanhNormal(m, tf.exp(logS));
      const y = tf.add(m, tf.mul(tf.exp(logS), eps));
      return tf.sum(d.logProbPre(y)) as tf.Scalar;
    };
    const err = gradError(f, [randn([5, 3], 8, 0.5), randn([5, 3], 9, 0.3)]);
    assert.ok(err < 1e-2, `relative gradient error ${err}`);
    const samples = new TanhNormal(tf.fill([1000, 2], 3), tf.fill([1000, 2], 2)).rsample(5).x.dataSync();
    assert.ok(samples.every((v) => v >= -1 && v <= 1));
  });
});

test("Bernoulli log-likelihood equals x·log σ(l) + (1 − x)·log(1 − σ(l))", () => {
  tf.tidy(() => {
    const l = 0.7;
    const p = 1 / (1 + Math.exp(-l));
    const b = new Bernoulli(tf.tensor1d([l, l]));
    const lp = b.logProb(tf.tensor1d([1, 0])).dataSync();
    close(lp[0], Math.log(p), 1e-6, "x=1");
    close(lp[1], Math.log(1 - p), 1e-6, "x=0");
    close(b.mean().dataSync()[0], p, 1e-6, "mean");
  });
});
