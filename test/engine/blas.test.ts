import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { initEngine, tf } from "../../src/engine/tf.js";
import { blasAvailable, blasStatus, configureBlasFromEnv, disableBlas, enableBlas } from "../../src/engine/blas.js";
import { MLP, gruCell } from "../../src/engine/nn.js";
import { Rng } from "../../src/engine/rng.js";
import { UserError } from "../../src/errors.js";
import { randn, relErr } from "../helpers/gradcheck.js";

// Evaluated at load time so tests can declare their skip reason; loading the addon needs no engine.
const noAddon = blasAvailable() ? false : `OpenBLAS addon not built: ${blasStatus().reason}`;

before(async () => {
  await initEngine();
});

after(() => disableBlas());

/** Runs `f` once on the stock wasm kernel and once on the OpenBLAS kernel; returns both results' values. */
function bothPaths(f: () => tf.Tensor | tf.Tensor[]): { wasm: Float32Array[]; blas: Float32Array[] } {
  const run = () =>
    tf.tidy(() => {
      const r = f();
      return (Array.isArray(r) ? r : [r]).map((t) => t.dataSync() as Float32Array);
    });
  disableBlas();
  const wasm = run();
  assert.ok(enableBlas(), "enableBlas activates the addon");
  const blas = run();
  disableBlas();
  return { wasm, blas };
}

test("CLAP_RL_BLAS rejects values other than 0, 1 or unset", () => {
  assert.throws(() => configureBlasFromEnv({ CLAP_RL_BLAS: "yes" }), UserError);
  const off = configureBlasFromEnv({ CLAP_RL_BLAS: "0" });
  assert.equal(off.path, "wasm");
  assert.match(off.reason ?? "", /CLAP_RL_BLAS=0/);
});

test("CLAP_RL_BLAS switches the registered kernel", { skip: noAddon }, () => {
  const stock = tf.getKernel(tf.BatchMatMul, "wasm").kernelFunc;
  const on = configureBlasFromEnv({ CLAP_RL_BLAS: "1" });
  assert.equal(on.path, "openblas");
  assert.match(on.openblas ?? "", /OpenBLAS/);
  assert.notEqual(tf.getKernel(tf.BatchMatMul, "wasm").kernelFunc, stock);
  assert.equal(configureBlasFromEnv({}).path, "openblas");
  configureBlasFromEnv({ CLAP_RL_BLAS: "0" });
  assert.equal(tf.getKernel(tf.BatchMatMul, "wasm").kernelFunc, stock);
});

for (const [ta, tb] of [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
] as const) {
  test(`native matmul equals the wasm matmul (transposeA=${ta}, transposeB=${tb})`, { skip: noAddon }, () => {
    // Odd sizes, one pair large enough for OpenBLAS's blocked kernels, rank 3 with equal batches and with a
    // rank-2 operand broadcast against a batch.
    const cases: [number[], number[]][] = [];
    for (const [m, k, n] of [
      [7, 13, 5],
      [67, 129, 33],
      [1, 1, 1],
    ]) {
      const as = ta ? [k, m] : [m, k];
      const bs = tb ? [n, k] : [k, n];
      cases.push([as, bs], [[3, ...as], [3, ...bs]], [[3, ...as], bs], [as, [2, ...bs]]);
    }
    cases.forEach(([as, bs], i) => {
      const { wasm, blas } = bothPaths(() => tf.matMul(randn(as, 10 + i), randn(bs, 50 + i), ta, tb));
      assert.ok(relErr(blas[0], wasm[0]) < 1e-5, `shapes [${as}]·[${bs}]: rel err ${relErr(blas[0], wasm[0])}`);
    });
  });
}

test("native matmul broadcasts batch axes like NumPy", { skip: noAddon }, () => {
  // The stock wasm kernel mis-sizes this case ([2,1]×[1,3] batches), so compare with a direct sum.
  const a = randn([2, 1, 3, 4], 1);
  const b = randn([1, 3, 4, 2], 2);
  assert.ok(enableBlas());
  const c = tf.matMul(a, b);
  disableBlas();
  assert.deepEqual(c.shape, [2, 3, 3, 2]);
  const A = a.arraySync() as number[][][][];
  const B = b.arraySync() as number[][][][];
  const C = c.arraySync() as number[][][][];
  for (let i = 0; i < 2; i++)
    for (let j = 0; j < 3; j++)
      for (let r = 0; r < 3; r++)
        for (let s = 0; s < 2; s++) {
          let sum = 0;
          for (let k = 0; k < 4; k++) sum += A[i][0][r][k] * B[0][j][k][s];
          assert.ok(Math.abs(C[i][j][r][s] - sum) < 1e-5, `C[${i}][${j}][${r}][${s}]`);
        }
  tf.dispose([a, b, c]);
});

test("native matmul handles empty inner and outer dimensions", { skip: noAddon }, () => {
  assert.ok(enableBlas());
  const z = tf.matMul(tf.ones([3, 0]), tf.ones([0, 2]));
  const e = tf.matMul(tf.ones([0, 4]), tf.ones([4, 2]));
  disableBlas();
  assert.deepEqual(z.shape, [3, 2]);
  assert.deepEqual([...z.dataSync()], [0, 0, 0, 0, 0, 0]);
  assert.deepEqual(e.shape, [0, 2]);
  tf.dispose([z, e]);
});

test("native matmul stays correct when the wasm heap grows", { skip: noAddon }, () => {
  const backend = tf.backend() as BackendWasm;
  const heap = () => backend.wasm.HEAPU8.buffer;
  const a = randn([5, 9], 3);
  const b = randn([9, 4], 4);
  const ref = bothPaths(() => tf.matMul(a, b)).wasm[0];
  assert.ok(enableBlas());
  // Growth between calls: the kernel must not keep views of the old memory.
  const before = heap();
  const filler = tf.zeros([before.byteLength / 4 + 1]);
  assert.notEqual(heap(), before, "the filler tensor grew the heap");
  assert.ok(relErr(tf.matMul(a, b).dataSync() as Float32Array, ref) < 1e-6);
  // Growth inside the kernel: the output alone needs more than the whole current heap.
  const rows = Math.ceil(heap().byteLength / 4 / 256) + 1;
  const x = randn([rows, 3], 5);
  const w = randn([3, 256], 6);
  const grown = heap();
  const big = tf.matMul(x, w);
  assert.notEqual(heap(), grown, "the matmul output grew the heap");
  const bigBlas = big.dataSync() as Float32Array;
  disableBlas();
  const bigRef = tf.matMul(x, w);
  assert.ok(relErr(bigBlas, bigRef.dataSync() as Float32Array) < 1e-5);
  tf.dispose([a, b, filler, x, w, big, bigRef]);
});

test("an MLP + GRU step gives the same loss and gradients with and without the addon", { skip: noAddon }, () => {
  const rng = new Rng(7);
  const mlp = new MLP(17, [64, 64], 6, rng.split("mlp"));
  const H = 32;
  const wi = randn([8, 3 * H], 11, 0.2);
  const bi = randn([3 * H], 12, 0.2);
  const wh = randn([H, 3 * H], 13, 0.2);
  const bhn = randn([H], 14, 0.2);
  const obs = randn([32, 17], 15);
  const target = randn([32, 6], 16);
  const seq = randn([10, 16, 8], 17);
  const params = [...mlp.params(), wi, bi, wh, bhn];
  const loss = (...ps: tf.Tensor[]): tf.Scalar => {
    const [w0, b0, w1, b1, w2, b2, gwi, gbi, gwh, gbhn] = ps;
    const lin = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.add(tf.matMul(x, w), b);
    const h1 = tf.selu(lin(obs, w0, b0));
    const h2 = tf.selu(lin(h1, w1, b1));
    const mlpLoss = tf.mean(tf.square(tf.sub(lin(h2, w2, b2), target)));
    let h: tf.Tensor = tf.zeros([16, H]);
    const xs = tf.unstack(seq);
    for (const x of xs) h = gruCell(x, h, gwi, gbi, gwh, gbhn);
    return tf.add(mlpLoss, tf.mean(tf.square(h))) as tf.Scalar;
  };
  assert.equal(params.length, 10);
  const { wasm, blas } = bothPaths(() => {
    const { value, grads } = tf.valueAndGrads(loss)(params);
    return [value, ...grads];
  });
  assert.ok(relErr(blas[0], wasm[0]) < 1e-5, `loss rel err ${relErr(blas[0], wasm[0])}`);
  for (let i = 1; i < wasm.length; i++) {
    assert.ok(wasm[i].some((v) => v !== 0), `gradient ${i - 1} is not identically zero`);
    assert.ok(relErr(blas[i], wasm[i]) < 1e-5, `gradient ${i - 1}: rel err ${relErr(blas[i], wasm[i])}`);
  }
  mlp.dispose();
  tf.dispose([wi, bi, wh, bhn, obs, target, seq]);
});
