import { before, test } from "node:test";
import assert from "node:assert/strict";
import { initEngine, tf, liveTensors } from "../../src/engine/tf.js";
import { GRUCell, Linear, MLP, gruCell } from "../../src/engine/nn.js";
import { Rng } from "../../src/engine/rng.js";
import { Adam } from "../../src/engine/optim.js";
import { gradError, randn } from "../helpers/gradcheck.js";

before(async () => {
  await initEngine();
});

test("Linear computes x·W + b", () => {
  const lin = new Linear(3, 2, new Rng(0));
  const W = lin.w.arraySync() as number[][];
  const b = lin.b.arraySync() as number[];
  const x = [0.5, -1, 2];
  const y = tf.tidy(() => lin.apply(tf.tensor2d([x])).arraySync()[0]);
  for (let j = 0; j < 2; j++) {
    const expected = x[0] * W[0][j] + x[1] * W[1][j] + x[2] * W[2][j] + b[j];
    assert.ok(Math.abs(y[j] - expected) < 1e-5);
  }
  lin.dispose();
});

test("initialisation is seeded and uniform within 1/sqrt(fan_in)", () => {
  const a = new MLP(16, [32], 4, new Rng(3));
  const b = new MLP(16, [32], 4, new Rng(3));
  const c = new MLP(16, [32], 4, new Rng(4));
  const wa = a.params()[0].dataSync();
  assert.deepEqual(wa, b.params()[0].dataSync());
  assert.notDeepEqual(wa, c.params()[0].dataSync());
  assert.ok(Math.max(...wa.map(Math.abs)) <= 0.25 + 1e-7);
  assert.equal(a.namedParams().size, 4);
  assert.deepEqual([...a.namedParams().keys()], ["l0/w", "l0/b", "l1/w", "l1/b"]);
  for (const m of [a, b, c]) m.dispose();
});

test("GRU cell matches the PyTorch-convention equations", () => {
  const gru = new GRUCell(2, 3, new Rng(5));
  const x = [0.3, -0.7];
  const h = [0.1, 0.2, -0.4];
  const wi = gru.wi.arraySync() as number[][];
  const bi = gru.bi.arraySync() as number[];
  const wh = gru.wh.arraySync() as number[][];
  const bhn = gru.bhn.arraySync() as number[];
  const sig = (v: number) => 1 / (1 + Math.exp(-v));
  const expected = [0, 1, 2].map((j) => {
    const gi = (k: number) => x[0] * wi[0][k] + x[1] * wi[1][k] + bi[k];
    const gh = (k: number) => h[0] * wh[0][k] + h[1] * wh[1][k] + h[2] * wh[2][k];
    const r = sig(gi(j) + gh(j));
    const z = sig(gi(3 + j) + gh(3 + j));
    const n = Math.tanh(gi(6 + j) + r * (gh(6 + j) + bhn[j]));
    return (1 - z) * n + z * h[j];
  });
  const out = tf.tidy(() => gru.apply(tf.tensor2d([x]), tf.tensor2d([h])).arraySync()[0]);
  out.forEach((v, j) => assert.ok(Math.abs(v - expected[j]) < 1e-5, `h'[${j}] = ${v}, expected ${expected[j]}`));
  gru.dispose();
});

test("GRU gradients match finite differences (inputs, state and every weight, unrolled 6 steps)", () => {
  tf.tidy(() => {
    const xs = randn([6, 3, 4], 10);
    const h0 = randn([3, 8], 11, 0.5);
    const target = randn([3, 8], 12);
    const weights = [randn([4, 24], 16, 0.4), randn([24], 17, 0.4), randn([8, 24], 18, 0.4), randn([8], 19, 0.4)];
    const f = (x: tf.Tensor, h: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor, wh: tf.Tensor, bhn: tf.Tensor) => {
      let s = h;
      for (let t = 0; t < 6; t++) {
        const xt = tf.reshape(tf.slice(x, [t, 0, 0], [1, 3, 4]), [3, 4]);
        s = gruCell(xt, s, wi, bi, wh, bhn);
      }
      return tf.sum(tf.mul(s, target)) as tf.Scalar;
    };
    const err = gradError(f as (...a: tf.Tensor[]) => tf.Scalar, [xs, h0, ...weights], { probes: 8 });
    assert.ok(err < 2e-2, `relative gradient error ${err}`);
  });
});

test("MLP with SELU: gradients match finite differences", () => {
  const mlp = new MLP(5, [16, 16], 3, new Rng(7));
  tf.tidy(() => {
    const x = randn([8, 5], 13);
    const f = (xx: tf.Tensor) => tf.sum(tf.square(mlp.apply(xx as tf.Tensor2D))) as tf.Scalar;
    assert.ok(gradError(f, [x]) < 2e-2);
  });
  mlp.dispose();
});

test("no tensor leaks over many optimiser steps", () => {
  const mlp = new MLP(6, [32, 32], 2, new Rng(8));
  const opt = new Adam(mlp.namedParams(), { lr: 1e-3, clip: 100 });
  const x = randn([64, 6], 14);
  const y = randn([64, 2], 15);
  const step = () =>
    opt.minimize(() => {
      const err = tf.sub(mlp.apply(x as tf.Tensor2D), y);
      const loss = tf.mean(tf.square(err)) as tf.Scalar;
      return { loss, terms: { maxErr: tf.max(tf.abs(err)) as tf.Scalar } };
    });
  for (let i = 0; i < 5; i++) step();
  const before = liveTensors();
  let first = 0;
  let last = 0;
  for (let i = 0; i < 300; i++) {
    const r = step();
    if (i === 0) first = r.loss;
    last = r.loss;
    assert.ok(Number.isFinite(r.terms.maxErr));
  }
  assert.equal(liveTensors(), before);
  assert.ok(last < first, "loss decreases");
  opt.dispose();
  mlp.dispose();
  x.dispose();
  y.dispose();
});
