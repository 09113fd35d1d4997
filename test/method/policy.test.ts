import { before, test } from "node:test";
import assert from "node:assert/strict";
import { initEngine, tf } from "../../src/engine/tf.js";
import { Rng } from "../../src/engine/rng.js";
import { Normal } from "../../src/engine/distributions.js";
import { ConstrainedPolicy, constrainedMap, softplusInverse, type PolicyMode } from "../../src/algorithms/clap/constrained-policy.js";
import { clapPreset as presetConfig } from "../../src/algorithms/clap/config.js";
import type { PolicyConfig } from "../../src/algorithms/clap/config.js";
import { gradError, randn } from "../helpers/gradcheck.js";

before(async () => {
  await initEngine();
});

const FEAT = 6;
const U = 3;

function makePolicy(mode: PolicyMode, epsilon: number, over: Partial<PolicyConfig> = {}, seed = 1): ConstrainedPolicy {
  // Random mean weights unless a test asks otherwise: a zero mean head would make the checks below vacuous.
  const cfg = { ...presetConfig("tiny").policy, hidden: 16, initMean: "random" as const, ...over };
  return new ConstrainedPolicy(cfg, mode, FEAT, U, epsilon, new Rng(seed));
}

/**
 * Central finite differences of f with respect to the entries of trainable variables, against tf.variableGrads.
 * The step is small (1e-3) because SELU's derivative jumps at 0: a wider step straddling the kink averages the
 * two slopes and would flag a correct gradient.
 */
function variableGradError(f: () => tf.Scalar, vars: tf.Variable[], eps = 1e-3, probes = 4): number {
  const { grads } = tf.variableGrads(f, vars);
  const analytic = vars.map((v) => grads[v.name].dataSync().slice());
  tf.dispose(Object.values(grads));
  const rng = new Rng(7);
  let maxDiff = 0;
  let maxAbs = 0;
  vars.forEach((v, k) => {
    const base = v.dataSync().slice();
    for (let p = 0; p < Math.min(probes, base.length); p++) {
      const i = rng.int(base.length);
      const at = (delta: number) => {
        const w = base.slice();
        w[i] += delta;
        tf.tidy(() => v.assign(tf.tensor(w, v.shape)));
        return tf.tidy(() => f().dataSync()[0]);
      };
      const fd = (at(eps) - at(-eps)) / (2 * eps);
      tf.tidy(() => v.assign(tf.tensor(base, v.shape)));
      maxDiff = Math.max(maxDiff, Math.abs(fd - analytic[k][i]));
    }
    for (const a of analytic[k]) maxAbs = Math.max(maxAbs, Math.abs(a));
  });
  return maxDiff / Math.max(maxAbs, 1e-8);
}

test("softplus⁻¹ inverts softplus (the s_init shift)", () => {
  for (const y of [1e-3, 0.5, 1, 5, 30]) {
    const x = softplusInverse(y);
    assert.ok(Math.abs(Math.log1p(Math.exp(x)) - y) < 1e-9 * Math.max(1, y), `y = ${y}`);
  }
});

test("finite differences: the constrained map ũ = μ + εσx w.r.t. μ, σ and x", () => {
  for (const eps of [0.5, 2]) {
    const w = randn([5, U], 11);
    const f = (mu: tf.Tensor, sigma: tf.Tensor, x: tf.Tensor) => tf.sum(tf.mul(w, tf.sin(constrainedMap(mu, sigma, x, eps)))) as tf.Scalar;
    const err = tf.tidy(() => gradError(f, [randn([5, U], 1), tf.abs(randn([5, U], 2)), tf.tanh(randn([5, U], 3))], { eps: 1e-2 }));
    assert.ok(err < 2e-3, `ε = ${eps}: relative gradient error ${err}`);
  }
});

test("finite differences: ũ w.r.t. the policy parameters and through μ, σ of the prior", () => {
  const policy = makePolicy("box", 1.5);
  const feat = randn([5, FEAT], 4) as tf.Tensor2D;
  const w = randn([5, U], 12);
  const priorMean = tf.variable(randn([5, U], 5));
  const priorStd = tf.variable(tf.add(tf.abs(randn([5, U], 6)), 0.2));
  const noise = randn([5, U], 1234);
  const f = () => {
    const { out } = policy.act(feat, new Normal(priorMean, priorStd), noise);
    return tf.sum(tf.mul(w, tf.sin(out))) as tf.Scalar;
  };
  const err = variableGradError(f, [...policy.params(), priorMean, priorStd]);
  assert.ok(err < 1e-2, `relative gradient error ${err}`);
  tf.dispose([feat, w, priorMean, priorStd, noise]);
  policy.dispose();
});

test("finite differences: the constrained policy's log-probability w.r.t. its parameters and the state", () => {
  const policy = makePolicy("box", 1.0);
  const feat = tf.variable(randn([5, FEAT], 8));
  const prior = new Normal(tf.zeros([5, U]), tf.ones([5, U]));
  const noise = randn([5, U], 99);
  const f = () => tf.sum(policy.act(feat as unknown as tf.Tensor2D, prior, noise).logProb) as tf.Scalar;
  const err = variableGradError(f, [...policy.params(), feat]);
  assert.ok(err < 1e-2, `relative gradient error ${err}`);
  // The log-probability is that of the tanh-Normal at the sampled x: log N(y; m, s) − Σ log(1 − x² + 1e-6).
  tf.tidy(() => {
    const base = policy.dist(feat as unknown as tf.Tensor2D);
    const y = tf.add(base.mean, tf.mul(base.std, noise));
    const x = tf.tanh(y);
    const expected = tf.sub(base.logProb(y), tf.sum(tf.log(tf.add(tf.sub(1, tf.square(x)), 1e-6)), -1));
    const got = policy.act(feat as unknown as tf.Tensor2D, prior, noise).logProb;
    assert.ok(tf.max(tf.abs(tf.sub(expected, got))).dataSync()[0] < 1e-5);
  });
  tf.dispose([feat, prior.mean, prior.std, noise]);
  policy.dispose();
});

test("the policy head: m = c·tanh(m_raw/c) is bounded, s starts at s_init + s_min", () => {
  const policy = makePolicy("box", 1.0, { initStd: 2.0, minStd: 1e-4, meanScale: 5 });
  tf.tidy(() => {
    const d = policy.dist(randn([64, FEAT], 3, 100) as tf.Tensor2D);
    assert.ok(tf.max(tf.abs(d.mean)).dataSync()[0] <= 5);
    const zero = policy.dist(tf.zeros([1, FEAT]) as tf.Tensor2D);
    // With all-zero features the raw outputs are the last layer's bias path only; check s against the formula.
    const raw = tf.split((policy as unknown as { net: { apply(x: tf.Tensor2D): tf.Tensor2D } }).net.apply(tf.zeros([1, FEAT])), 2, 1)[1];
    const expected = tf.add(tf.softplus(tf.add(raw, softplusInverse(2.0))), 1e-4);
    assert.ok(tf.max(tf.abs(tf.sub(zero.std, expected))).dataSync()[0] < 1e-6);
  });
  policy.dispose();
});

test("initMean 'zero': the untrained policy's mode is the prior mean ũ = μ; the std head and later learning are unchanged", () => {
  const zero = makePolicy("box", 2.0, { initMean: "zero" }, 5);
  const random = makePolicy("box", 2.0, { initMean: "random" }, 5);
  tf.tidy(() => {
    const feat = randn([32, FEAT], 11, 3) as tf.Tensor2D;
    const prior = new Normal(randn([32, U], 12), tf.add(tf.abs(randn([32, U], 13)), 0.1));
    const mode = zero.act(feat, prior).out;
    assert.ok(tf.max(tf.abs(tf.sub(mode, prior.mean))).dataSync()[0] < 1e-6, "mode ≠ μ");
    assert.ok(tf.max(tf.abs(tf.sub(random.act(feat, prior).out, prior.mean))).dataSync()[0] > 0.01, "the random head is not at μ");
    assert.ok(tf.max(tf.abs(tf.sub(zero.dist(feat).std, random.dist(feat).std))).dataSync()[0] < 1e-6, "the std head keeps its draw");
    // The zeroed weights still get a gradient, so training moves the policy off the prior mean.
    const params = [...zero.namedParams().values()];
    const { grads } = tf.variableGrads(() => tf.sum(zero.act(feat, prior, randn([32, U], 14)).out) as tf.Scalar, params);
    const last = params[params.length - 2];
    assert.ok(tf.max(tf.abs(grads[last.name])).dataSync()[0] > 1e-4, "no gradient on the output layer");
  });
  zero.dispose();
  random.dispose();
});

test("property: every constrained sample lies in μ ± εσ, for random states and several ε", () => {
  for (const [k, eps] of [0.5, 1, 2, 3].entries()) {
    // A wide policy (s_init = 5) pushes x towards ±1, so the box is exercised at its edges.
    const policy = makePolicy("box", eps, { initStd: 5 }, 20 + k);
    tf.tidy(() => {
      const feat = randn([256, FEAT], 30 + k, 2) as tf.Tensor2D;
      const prior = new Normal(randn([256, U], 40 + k, 3), tf.add(tf.abs(randn([256, U], 50 + k)), 0.05));
      let maxRatio = 0;
      for (let s = 0; s < 5; s++) {
        const noise = randn([256, U], 1000 + s);
        const { out } = policy.act(feat, prior, noise);
        const d = policy.dist(feat);
        const expected = tf.add(prior.mean, tf.mul(tf.mul(prior.std, eps), tf.tanh(tf.add(d.mean, tf.mul(d.std, noise)))));
        assert.ok(tf.max(tf.abs(tf.sub(out, expected))).dataSync()[0] < 1e-5, "ũ = μ + εσ ⊙ tanh(m + s ⊙ noise)");
        const ratio = tf.div(tf.abs(tf.sub(out, prior.mean)), tf.mul(prior.std, eps));
        maxRatio = Math.max(maxRatio, tf.max(ratio).dataSync()[0]);
      }
      assert.ok(maxRatio <= 1 + 1e-5, `ε = ${eps}: a sample left the box (|ũ − μ| / εσ = ${maxRatio})`);
      assert.ok(maxRatio > 0.95, `ε = ${eps}: samples never approach the box edge (${maxRatio}), the test would be vacuous`);
    });
    policy.dispose();
  }
});

test("ablations: 'none' samples leave the prior box, 'action' outputs stay in [−1, 1]", () => {
  const none = makePolicy("none", 1, { initStd: 5 });
  const action = makePolicy("action", 1, { initStd: 5 });
  tf.tidy(() => {
    const feat = randn([256, FEAT], 60) as tf.Tensor2D;
    const prior = new Normal(tf.zeros([256, U]), tf.ones([256, U]));
    const noise = randn([256, U], 5);
    const u = none.act(feat, prior, noise).out;
    assert.ok(tf.max(tf.abs(u)).dataSync()[0] > 3, "the unconstrained policy should reach far outside μ ± σ");
    // Its log-probability is that of N(m, s) at ũ.
    const d = none.dist(feat);
    assert.ok(tf.max(tf.abs(tf.sub(d.logProb(u), none.act(feat, prior, noise).logProb))).dataSync()[0] < 1e-4);
    const a = action.act(feat, null, noise).out;
    assert.ok(tf.max(tf.abs(a)).dataSync()[0] <= 1);
    // Modes: tanh(m) for bounded policies, m for the unbounded one.
    const mode = none.act(feat, prior).out;
    assert.ok(tf.max(tf.abs(tf.sub(mode, d.mean))).dataSync()[0] < 1e-6);
  });
  none.dispose();
  action.dispose();
});
