import { before, test } from "node:test";
import assert from "node:assert/strict";
import { initEngine, liveTensors, stopGradient, tf } from "../../src/engine/tf.js";
import { Adam } from "../../src/engine/optim.js";

before(async () => {
  await initEngine();
});

test("stopGradient keeps the values, cuts the gradient, and outlives the tensor it was taken from", () => {
  const before = liveTensors();
  const x = tf.tensor1d([1, 2, 3]);
  // d/dx Σ x·sg(x²) = sg(x²) = x², whereas without the cut it would be 3x².
  const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(v, stopGradient(tf.square(v)))))(x);
  assert.deepEqual([...g.dataSync()], [1, 4, 9]);
  const buffers = tf.memory().numDataBuffers;
  const y = tf.tidy(() => stopGradient(tf.mul(x, 2)));
  assert.equal(tf.memory().numDataBuffers, buffers + 1, "stopGradient shares the product's buffer");
  x.dispose();
  assert.deepEqual([...y.dataSync()], [2, 4, 6]);
  tf.dispose([g, y]);
  assert.equal(liveTensors(), before);
});

test("clone and same-dtype cast share the buffer safely; cross-dtype cast still converts", () => {
  const before = liveTensors();
  const x = tf.tensor1d([1.5, -2.5]);
  const buffers = tf.memory().numDataBuffers;
  const c = tf.clone(x);
  const f = tf.cast(x, "float32");
  assert.equal(tf.memory().numDataBuffers, buffers, "clone and a same-dtype cast allocate no new buffer");
  const i = tf.cast(x, "int32");
  x.dispose();
  assert.deepEqual([...c.dataSync()], [1.5, -2.5]);
  assert.deepEqual([...f.dataSync()], [1.5, -2.5]);
  assert.equal(i.dtype, "int32");
  assert.deepEqual([...i.dataSync()], [1, -2]);
  // Gradients save clones of their inputs; the saved values must survive the caller disposing the inputs.
  const init = tf.tensor1d([3, 4]);
  const w = tf.variable(init);
  const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(w)) as tf.Scalar, [w]);
  assert.deepEqual([...grads[w.name].dataSync()], [6, 8]);
  tf.dispose([c, f, i, init, w, value, grads[w.name]]);
  assert.equal(liveTensors(), before);
});

test("slice and split read the wasm heap in place and match index arithmetic for every layout", () => {
  const before = liveTensors();
  const shape = [3, 4, 5];
  const data = Float32Array.from({ length: 60 }, (_, i) => i * 0.5 - 7);
  const x = tf.tensor3d(data, shape as [number, number, number]);
  const at = (i: number, j: number, k: number) => data[(i * 4 + j) * 5 + k];
  const expectBox = (t: tf.Tensor, b: number[], s: number[]) => {
    const want: number[] = [];
    for (let i = 0; i < s[0]; i++) for (let j = 0; j < s[1]; j++) for (let k = 0; k < s[2]; k++) want.push(at(b[0] + i, b[1] + j, b[2] + k));
    assert.deepEqual(t.shape, s);
    assert.deepEqual([...t.dataSync()], want);
  };
  // Non-contiguous in the last, middle and first axes, and a contiguous block.
  const boxes: [number[], number[]][] = [
    [[0, 0, 1], [3, 4, 3]],
    [[1, 1, 0], [2, 2, 5]],
    [[2, 0, 0], [1, 4, 5]],
    [[0, 1, 2], [1, 1, 1]],
  ];
  for (const [b, s] of boxes) tf.tidy(() => expectBox(tf.slice(x, b, s), b, s));
  tf.tidy(() => {
    const parts = tf.split(x, [2, 3], 2);
    expectBox(parts[0], [0, 0, 0], [3, 4, 2]);
    expectBox(parts[1], [0, 0, 2], [3, 4, 3]);
    const rows = tf.split(x, 3, 0);
    expectBox(rows[2], [2, 0, 0], [1, 4, 5]);
    const ints = tf.split(tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3], "int32"), [1, 2], 1);
    assert.equal(ints[1].dtype, "int32");
    assert.deepEqual([...ints[1].dataSync()], [2, 3, 5, 6]);
  });
  // The gradient of a column split scatters back into place.
  const ones = tf.ones([2, 3]);
  const g = tf.grad((v: tf.Tensor) => {
    const [a, b] = tf.split(v, [1, 2], 1);
    return tf.add(tf.sum(tf.mul(a, 2)), tf.sum(tf.mul(b, 3)));
  })(ones);
  assert.deepEqual([...g.dataSync()], [2, 3, 3, 2, 3, 3]);
  tf.dispose([x, ones, g]);
  assert.equal(liveTensors(), before);
});

test("the fused activation gradients match finite differences, on small tensors and on large ones", () => {
  // 5 values, and the same values tiled past the size where sigmoid and tanh switch to the composed form.
  const base = [-2.5, -0.7, -1e-3, 0.4, 1.9];
  for (const xs of [base, Array.from({ length: 20_000 }, (_, i) => base[i % 5])]) checkActivationGrads(xs);
});

function checkActivationGrads(xs: number[]): void {
  const x = tf.tensor1d(xs);
  for (const [name, f, ref] of [
    ["selu", tf.selu, (v: number) => (v > 0 ? 1.0507009873554805 * v : 1.7580993408473768 * Math.expm1(v))],
    ["sigmoid", tf.sigmoid, (v: number) => 1 / (1 + Math.exp(-v))],
    ["tanh", tf.tanh, Math.tanh],
  ] as const) {
    const g = tf.tidy(() => [...tf.grad((v: tf.Tensor) => tf.sum(f(v)))(x).dataSync()]);
    xs.forEach((v, i) => {
      const fd = (ref(v + 1e-4) - ref(v - 1e-4)) / 2e-4;
      assert.ok(Math.abs(g[i] - fd) < 1e-4 * Math.max(1, Math.abs(fd)), `${name}'(${v}) = ${g[i]}, finite difference ${fd}`);
    });
  }
  x.dispose();
}

test("the fused Adam kernel applies global-norm clipping like a textbook clipped Adam, over two tensors", () => {
  const before = liveTensors();
  const init = [tf.tensor1d([4, -3]), tf.tensor2d([[2], [-6]])];
  const [a, b] = init.map((t) => tf.variable(t));
  const target = [1, 1, -1, 0.5];
  const opt = new Adam(new Map([["a", a], ["b", b]]), { lr: 0.05, eps: 1e-8, clip: 1 });
  const ref = [4, -3, 2, -6];
  const m = [0, 0, 0, 0];
  const v = [0, 0, 0, 0];
  for (let t = 1; t <= 15; t++) {
    const r = opt.minimize(() => {
      const flat = tf.concat([a, tf.reshape(b, [-1])]);
      return { loss: tf.sum(tf.square(tf.sub(flat, tf.tensor1d(target)))) as tf.Scalar };
    });
    const g = ref.map((x, i) => 2 * (x - target[i]));
    const norm = Math.hypot(...g);
    assert.ok(Math.abs(r.gradNorm - norm) < 1e-3 * norm, `step ${t}: norm ${r.gradNorm} vs ${norm}`);
    const c = Math.min(1, 1 / (norm + 1e-6));
    for (let i = 0; i < 4; i++) {
      m[i] = 0.9 * m[i] + 0.1 * c * g[i];
      v[i] = 0.999 * v[i] + 0.001 * (c * g[i]) ** 2;
      ref[i] -= (0.05 * m[i]) / (1 - 0.9 ** t) / (Math.sqrt(v[i] / (1 - 0.999 ** t)) + 1e-8);
    }
  }
  const got = [...a.dataSync(), ...b.dataSync()];
  got.forEach((x, i) => assert.ok(Math.abs(x - ref[i]) < 1e-4, `p[${i}] = ${x} vs ${ref[i]}`));
  opt.dispose();
  tf.dispose([...init, a, b]);
  assert.equal(liveTensors(), before);
});
