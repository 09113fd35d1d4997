import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { initEngine, tf } from "../../src/engine/tf.js";
import { blasAddon, blasAvailable, blasStatus, configureBlasFromEnv, disableBlas, enableBlas } from "../../src/engine/blas.js";
import { MLP, gruCell } from "../../src/engine/nn.js";
import { Rng } from "../../src/engine/rng.js";
import { UserError } from "../../src/errors.js";
import { randn, relErr, TRANSPOSE_PAIRS } from "../helpers/gradcheck.js";

// Evaluated at load time so tests can declare their skip reason; loading the addon needs no engine.
const noAddon = blasAvailable() ? false : `native addon not built: ${blasStatus().reason}`;

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

// npm install builds the addon on this checkout (OpenBLAS or portable, whichever the machine allows), so a missing
// addon is a broken install or an install script npm did not run, not a machine without OpenBLAS.
test("the addon built and loads on this checkout", { skip: process.env.CLAP_RL_BLAS === "0" && "CLAP_RL_BLAS=0 switches the addon off" }, () => {
  assert.ok(blasAvailable(), `the native addon did not load: ${blasStatus().reason}`);
  assert.match(blasAddon()?.matmulBackend ?? "", /^(openblas|portable)$/);
});

test("CLAP_RL_BLAS switches the registered kernel", { skip: noAddon }, () => {
  const stock = tf.getKernel(tf.BatchMatMul, "wasm").kernelFunc;
  const on = configureBlasFromEnv({ CLAP_RL_BLAS: "1" });
  const backend = blasAddon()?.matmulBackend;
  assert.equal(on.path, backend);
  assert.match(on.openblas ?? "", backend === "openblas" ? /OpenBLAS/ : /portable/);
  assert.notEqual(tf.getKernel(tf.BatchMatMul, "wasm").kernelFunc, stock);
  assert.equal(configureBlasFromEnv({}).path, backend);
  configureBlasFromEnv({ CLAP_RL_BLAS: "0" });
  assert.equal(tf.getKernel(tf.BatchMatMul, "wasm").kernelFunc, stock);
});

for (const [ta, tb] of TRANSPOSE_PAIRS) {
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

/** C = alpha·op(A)·op(B) + beta·C in float64, with cblas_sgemm's row-major strides. */
function naiveSgemm(
  ta: boolean, tb: boolean, m: number, n: number, k: number, alpha: number,
  a: Float32Array, lda: number, b: Float32Array, ldb: number, beta: number, c: Float32Array, ldc: number,
): void {
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let p = 0; p < k; p++) sum += (ta ? a[p * lda + i] : a[i * lda + p]) * (tb ? b[j * ldb + p] : b[p * ldb + j]);
      c[i * ldc + j] = alpha * sum + (beta === 0 ? 0 : beta * c[i * ldc + j]);
    }
}

function randomFloats(n: number, rng: Rng): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal());
}

for (const [ta, tb] of TRANSPOSE_PAIRS) {
  test(`the portable sgemm equals a naive product (transA=${ta}, transB=${tb})`, { skip: noAddon }, () => {
    const lib = blasAddon()!;
    const rng = new Rng(3);
    // Sizes around the kernel's 6×16 tile and its 256-deep, 120-row and 2048-wide blocks, so the ragged edges and
    // the block seams are hit; padded leading dimensions, offsets, and alpha/beta as the fused kernels pass them.
    for (const [m, n, k] of [[1, 1, 1], [7, 17, 5], [6, 16, 256], [13, 33, 257], [121, 40, 300], [16, 2050, 3], [5, 3, 0]]) {
      for (const [alpha, beta] of [[1, 0], [1, 1], [-0.5, 2]]) {
        const [ar, ac] = ta ? [k, m] : [m, k];
        const [br, bc] = tb ? [n, k] : [k, n];
        const lda = ac + 3;
        const ldb = bc + 1;
        const ldc = n + 2;
        const a = randomFloats(2 + ar * lda, rng);
        const b = randomFloats(5 + br * ldb, rng);
        const c0 = randomFloats(1 + m * ldc, rng);
        const want = c0.slice(1);
        naiveSgemm(ta, tb, m, n, k, alpha, a.subarray(2), lda, b.subarray(5), ldb, beta, want, ldc);
        const got = c0.slice();
        lib.portableSgemm(ta, tb, m, n, k, alpha, a, 2, lda, b, 5, ldb, beta, got, 1, ldc);
        assert.equal(got[0], c0[0], "the element before C is untouched");
        for (let i = 0; i < m; i++)
          for (let j = 0; j < ldc; j++) {
            const at = 1 + i * ldc + j;
            // Columns past n are the padding of ldc: untouched.
            const expect = j < n ? want[i * ldc + j] : c0[at];
            assert.ok(Math.abs(got[at] - expect) <= 1e-4 * (1 + Math.abs(expect)), `[${m}×${n}×${k}, α=${alpha}, β=${beta}] C[${i}][${j}] = ${got[at]}, want ${expect}`);
          }
      }
    }
  });

  test(`the portable sgemm agrees with the addon's sgemm (transA=${ta}, transB=${tb}, ${blasAddon()?.matmulBackend ?? "no addon"})`, { skip: noAddon }, () => {
    const lib = blasAddon()!;
    const rng = new Rng(4);
    for (const [m, n, k] of [[16, 384, 128], [67, 129, 33], [512, 128, 16]]) {
      const a = randomFloats(m * k, rng);
      const b = randomFloats(k * n, rng);
      const want = new Float32Array(m * n);
      const got = new Float32Array(m * n);
      lib.sgemm(ta, tb, m, n, k, a, 0, b, 0, want, 0);
      lib.portableSgemm(ta, tb, m, n, k, 1, a, 0, ta ? m : k, b, 0, tb ? k : n, 0, got, 0, n);
      assert.ok(relErr(got, want) < 1e-5, `${m}×${n}×${k}: rel err ${relErr(got, want)}`);
    }
  });
}

test("the portable sgemm with beta = 0 never reads C, and checks its operands' extents", { skip: noAddon }, () => {
  const lib = blasAddon()!;
  const a = Float32Array.from([1, 2, 3, 4]);
  const c = new Float32Array(4).fill(NaN);
  lib.portableSgemm(false, false, 2, 2, 2, 1, a, 0, 2, a, 0, 2, 0, c, 0, 2);
  assert.deepEqual([...c], [7, 10, 15, 22]);
  assert.throws(() => lib.portableSgemm(false, false, 2, 2, 2, 1, a, 1, 2, a, 0, 2, 0, c, 0, 2), RangeError);
  assert.throws(() => lib.portableSgemm(false, false, 2, 2, 2, 1, a, 0, 1, a, 0, 2, 0, c, 0, 2), RangeError);
});
