/**
 * The tensor engine: tfjs-core on the WebAssembly backend, plus the pieces tfjs lacks in Node.
 *
 * All model code imports `tf` from here and awaits `initEngine()` once before building tensors.
 * `initEngine` selects the wasm backend, loads tfjs's gradient definitions (see tfjs-resolve-hook.ts) and installs
 * the BatchMatMul gradient override (engine spec §4.1): the stock gradient multiplies with transpose flags, which
 * tfjs-wasm runs 12–16× slower than a plain matmul, so every transposed operand is materialised explicitly — unless
 * the optional native OpenBLAS kernel is active, which handles transpose flags at no cost.
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-wasm";
import { register } from "node:module";
import { blasActive, configureBlasFromEnv } from "./blas.js";

export { tf };
export type Tensor = tf.Tensor;
export type Tensor2D = tf.Tensor2D;
export type Scalar = tf.Scalar;
export type Variable = tf.Variable;

let ready: Promise<void> | null = null;

/** Transposes the last two axes. */
export function transposeLast2(x: tf.Tensor): tf.Tensor {
  const r = x.rank;
  const perm = [...Array(r).keys()];
  perm[r - 2] = r - 1;
  perm[r - 1] = r - 2;
  return tf.transpose(x, perm);
}

/** Sums `g` over the leading batch axes that were broadcast, so that it takes `shape`. */
function reduceToShape(g: tf.Tensor, shape: number[]): tf.Tensor {
  if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank - 2; i++) {
    const inDim = i - lead >= 0 ? shape[i - lead] : 1;
    if (inDim === 1 && g.shape[i] !== 1) axes.push(i);
    else if (i < lead) axes.push(i);
  }
  const summed = axes.length > 0 ? tf.sum(g, axes) : g;
  return tf.reshape(summed, shape);
}

/** The BatchMatMul gradient (engine spec §4.1 table), with explicit transposes and broadcast reduction. */
export function batchMatMulGrad(
  dy: tf.Tensor,
  a: tf.Tensor,
  b: tf.Tensor,
  transposeA: boolean,
  transposeB: boolean,
  nativeTranspose = false,
): { a: tf.Tensor; b: tf.Tensor } {
  // With the native kernel, transpose flags are free (lda/ldb); on pure wasm they are materialised explicitly.
  const mm = (x: tf.Tensor, tx: boolean, y: tf.Tensor, ty: boolean) =>
    nativeTranspose ? tf.matMul(x, y, tx, ty) : tf.matMul(tx ? transposeLast2(x) : x, ty ? transposeLast2(y) : y);
  let da: tf.Tensor;
  let db: tf.Tensor;
  if (!transposeA && !transposeB) {
    da = mm(dy, false, b, true);
    db = mm(a, true, dy, false);
  } else if (!transposeA && transposeB) {
    da = mm(dy, false, b, false);
    db = mm(dy, true, a, false);
  } else if (transposeA && !transposeB) {
    da = mm(b, false, dy, true);
    db = mm(a, false, dy, false);
  } else {
    da = mm(b, true, dy, true);
    db = mm(dy, true, a, true);
  }
  return { a: reduceToShape(da, a.shape), b: reduceToShape(db, b.shape) };
}

function installMatMulGradient(): void {
  tf.registerGradient({
    kernelName: tf.BatchMatMul,
    inputsToSave: ["a", "b"],
    gradFunc: (dy, saved, attrs) => {
      const [a, b] = saved;
      const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
      const g = batchMatMulGrad(dy as tf.Tensor, a, b, transposeA, transposeB, blasActive());
      return { a: () => g.a, b: () => g.b };
    },
  });
}

/** Selects the wasm backend and installs gradients. Idempotent; safe to call from worker threads. */
export function initEngine(): Promise<void> {
  if (ready === null) {
    ready = (async () => {
      register("./tfjs-resolve-hook.js", import.meta.url);
      await import("@tensorflow/tfjs-core/dist/register_all_gradients.js" as string);
      installMatMulGradient();
      const ok = await tf.setBackend("wasm");
      if (!ok) throw new Error("clap-rl: the tfjs wasm backend failed to initialise");
      await tf.ready();
      // The optional OpenBLAS matmul kernel (src/engine/blas.ts); CLAP_RL_BLAS=0 forces pure wasm.
      configureBlasFromEnv();
    })();
  }
  return ready;
}

/**
 * Returns a copy of `x` that is a leaf for autodiff: gradients do not flow into whatever produced `x`.
 * tfjs has no stop-gradient op; building a fresh tensor from the values cuts the tape completely, which also
 * saves the backward pass through the cut branch (a zero-gradient customGrad would still traverse it).
 */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  return tf.tensor(x.dataSync(), x.shape, x.dtype) as T;
}

/** Number of live tensors (for leak tests). */
export function liveTensors(): number {
  return tf.memory().numTensors;
}
