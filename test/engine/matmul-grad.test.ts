import { before, test } from "node:test";
import assert from "node:assert/strict";
import { initEngine, tf, batchMatMulGrad } from "../../src/engine/tf.js";
import { gradError, randn, TRANSPOSE_PAIRS } from "../helpers/gradcheck.js";

before(async () => {
  await initEngine();
});

test("the BatchMatMul gradient override is the registered one", () => {
  const cfg = tf.getGradient(tf.BatchMatMul);
  assert.ok(cfg, "a gradient is registered for BatchMatMul");
  // Our override's gradFunc calls batchMatMulGrad; the stock one does not.
  assert.match(String(cfg.gradFunc), /batchMatMulGrad/);
});

for (const [ta, tb] of TRANSPOSE_PAIRS) {
  test(`matmul gradient matches finite differences (transposeA=${ta}, transposeB=${tb})`, () => {
    tf.tidy(() => {
      const a = randn(ta ? [5, 4] : [4, 5], 1);
      const b = randn(tb ? [3, 5] : [5, 3], 2);
      const w = randn([4, 3], 3);
      const f = (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, y, ta, tb), w)) as tf.Scalar;
      assert.ok(gradError(f, [a, b]) < 1e-2);
      // Batched (rank 3, equal batch shapes).
      const a3 = randn(ta ? [2, 5, 4] : [2, 4, 5], 4);
      const b3 = randn(tb ? [2, 3, 5] : [2, 5, 3], 5);
      const f3 = (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(tf.matMul(x, y, ta, tb))) as tf.Scalar;
      assert.ok(gradError(f3, [a3, b3]) < 1e-2);
    });
  });
}

test("matmul gradient handles broadcast batch dimensions", () => {
  tf.tidy(() => {
    const a = randn([1, 4, 5], 6);
    const b = randn([3, 5, 2], 7);
    const f = (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(tf.matMul(x, y))) as tf.Scalar;
    const [ga, gb] = tf.grads(f)([a, b]);
    assert.deepEqual(ga.shape, [1, 4, 5]);
    assert.deepEqual(gb.shape, [3, 5, 2]);
    assert.ok(gradError(f, [a, b]) < 1e-2);
    // Direct call with a rank-2 right operand broadcast against a batch.
    const g = batchMatMulGrad(tf.ones([3, 4, 2]), randn([3, 4, 5], 8), randn([5, 2], 9), false, false);
    assert.deepEqual(g.b.shape, [5, 2]);
  });
});
