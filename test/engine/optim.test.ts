import { before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initEngine, tf } from "../../src/engine/tf.js";
import { Adam, clipByGlobalNorm } from "../../src/engine/optim.js";
import { MLP } from "../../src/engine/nn.js";
import { Rng } from "../../src/engine/rng.js";
import { assignArrays, loadArrays, saveArrays, variablesToArrays } from "../../src/engine/serialize.js";
import { UserError } from "../../src/errors.js";

before(async () => {
  await initEngine();
});

test("Adam matches a textbook implementation on a quadratic", () => {
  const w = tf.variable(tf.tensor1d([1, -2, 0.5]));
  const target = [0.3, 0.1, -0.7];
  const opt = new Adam(new Map([["w", w]]), { lr: 0.1, eps: 1e-8 });
  const ref = [1, -2, 0.5];
  const m = [0, 0, 0];
  const v = [0, 0, 0];
  for (let t = 1; t <= 20; t++) {
    opt.minimize(() => ({ loss: tf.sum(tf.square(tf.sub(w, tf.tensor1d(target)))) as tf.Scalar }));
    for (let i = 0; i < 3; i++) {
      const g = 2 * (ref[i] - target[i]);
      m[i] = 0.9 * m[i] + 0.1 * g;
      v[i] = 0.999 * v[i] + 0.001 * g * g;
      const mh = m[i] / (1 - 0.9 ** t);
      const vh = v[i] / (1 - 0.999 ** t);
      ref[i] -= (0.1 * mh) / (Math.sqrt(vh) + 1e-8);
    }
  }
  const got = w.dataSync();
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(got[i] - ref[i]) < 1e-4, `w[${i}] = ${got[i]} vs ${ref[i]}`);
  opt.dispose();
  w.dispose();
});

test("global-norm clipping scales all gradients together and reports the unclipped norm", () => {
  tf.tidy(() => {
    const { grads, norm } = clipByGlobalNorm([tf.tensor1d([3, 0]), tf.tensor1d([0, 4])], 1);
    assert.ok(Math.abs(norm.dataSync()[0] - 5) < 1e-5);
    const g = [...grads[0].dataSync(), ...grads[1].dataSync()];
    assert.ok(Math.abs(g[0] - 0.6) < 1e-5 && Math.abs(g[3] - 0.8) < 1e-5);
    const big = clipByGlobalNorm([tf.tensor1d([0.3, 0.4])], 100);
    assert.deepEqual(Array.from(big.grads[0].dataSync()).map((x) => +x.toFixed(6)), [0.3, 0.4]);
  });
});

test("optimiser and parameter state round-trip gives an identical continuation", () => {
  const make = () => {
    const net = new MLP(4, [8], 1, new Rng(1));
    return { net, opt: new Adam(net.namedParams(), { lr: 1e-2, clip: 100 }) };
  };
  const x = tf.tensor2d([[1, 2, 3, 4], [0, -1, 0.5, 2]]);
  const loss = (net: MLP) => () => ({ loss: tf.sum(tf.square(net.apply(x))) as tf.Scalar });
  const a = make();
  for (let i = 0; i < 5; i++) a.opt.minimize(loss(a.net));
  const dir = mkdtempSync(join(tmpdir(), "clap-opt-"));
  saveArrays(join(dir, "params.bin"), variablesToArrays(a.net.namedParams()));
  const state = a.opt.getState();
  const b = make();
  assignArrays(b.net.namedParams(), loadArrays(join(dir, "params.bin")));
  b.opt.setState(state);
  for (let i = 0; i < 5; i++) {
    const la = a.opt.minimize(loss(a.net)).loss;
    const lb = b.opt.minimize(loss(b.net)).loss;
    assert.equal(la, lb);
  }
  for (const o of [a, b]) {
    o.opt.dispose();
    o.net.dispose();
  }
  x.dispose();
});

test("tensor files: truncated or foreign files give a clear error naming the file", () => {
  const dir = mkdtempSync(join(tmpdir(), "clap-ser-"));
  const path = join(dir, "t.bin");
  saveArrays(path, new Map([["a", { shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) }]]));
  const back = loadArrays(path);
  assert.deepEqual(Array.from(back.get("a")!.data), [1, 2, 3, 4]);
  const bytes = readFileSync(path);
  writeFileSync(path, bytes.subarray(0, bytes.length - 4));
  assert.throws(() => loadArrays(path), (e: unknown) => e instanceof UserError && /t\.bin.*truncated/.test(e.message));
  writeFileSync(path, "hello world, not tensors");
  assert.throws(() => loadArrays(path), (e: unknown) => e instanceof UserError && /t\.bin/.test(e.message));
  const v = new Map([["w", tf.variable(tf.zeros([3]))]]);
  assert.throws(() => assignArrays(v, back), /missing parameter 'w'/);
  assert.throws(() => assignArrays(v, new Map([["w", { shape: [2], data: new Float32Array(2) }]])), /shape \[2\], expected \[3\]/);
  v.get("w")!.dispose();
});
