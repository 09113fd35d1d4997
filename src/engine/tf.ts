/**
 * The tensor engine: tfjs-core on the WebAssembly backend, plus the pieces tfjs lacks in Node.
 *
 * All model code imports `tf` from here and awaits `initEngine()` once before building tensors.
 * `initEngine` selects the wasm backend, loads tfjs's gradient definitions (see tfjs-resolve-hook.ts) and installs
 * the BatchMatMul gradient override (docs/design/engine.md §4.1): the stock gradient multiplies with transpose flags, which
 * tfjs-wasm runs 12–16× slower than a plain matmul, so every transposed operand is materialised explicitly — unless
 * the optional native OpenBLAS kernel is active, which handles transpose flags at no cost.
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-wasm";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { register } from "node:module";
import { blasActive, configureBlasFromEnv } from "./blas.js";
import { installFusedFilterKernels } from "./fused-filter.js";
import { installFusedMlpKernels } from "./fused-mlp.js";
import { installFusedImaginationKernels } from "./fused-imagination.js";
import { activationGradKernel, installNativeElementwise } from "./native-elementwise.js";

export { tf };
export type Tensor = tf.Tensor;
export type Tensor2D = tf.Tensor2D;
export type Scalar = tf.Scalar;
export type Variable = tf.Variable;

let ready: Promise<void> | null = null;

/**
 * tf.split(x, n) into n equal blocks along axis 0, except that n = 1 gives [x]: tfjs's gradient of a split into a
 * single part fails (it concatenates no tensors).
 */
export function splitRows<R extends tf.Rank>(x: tf.Tensor<R>, n: number): tf.Tensor<R>[] {
  return n === 1 ? [x] : tf.split(x, n, 0);
}

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

/** The BatchMatMul gradient (docs/design/engine.md §4.1 table), with explicit transposes and broadcast reduction. */
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

// SELU constants (Klambauer et al. 2017), as tfjs uses them.
const SELU_SCALE = 1.0507009873554805;
const SELU_SCALE_ALPHA = 1.7580993408473768;

/**
 * Activation gradients as one kernel each, computed from the saved output y. tfjs builds them from 3–7 elementwise
 * kernels (SELU: greater, 3 muls, a cast, exp and select), each a separate dispatch and pass over memory. The loops
 * run in JS on views of the wasm heap (nothing is copied). SELU's derivative uses y + s·α = s·α·eˣ for x ≤ 0, so it
 * needs no exp and beats the stock composition at every size (measured 0.42 against 1.09 ms at 512 × 128).
 * The sigmoid and tanh loops win only on small tensors, where dispatch dominates (the GRU's [B, deter] gates); from
 * `composeAbove` elements on, the wasm backend's vectorised elementwise kernels are faster, so `compose` runs.
 */
const FUSED_GRADS: {
  kernel: string;
  grad: (dy: Float32Array, y: Float32Array, dx: Float32Array) => void;
  compose?: (dy: tf.Tensor, y: tf.Tensor) => tf.Tensor;
}[] = [
  {
    kernel: tf.Selu,
    grad: (dy, y, dx) => {
      // Branch-free on the sign bit of y (2.6× faster than a conditional, which mispredicts on half the entries).
      // At y = +0 this takes the right derivative s where tfjs takes the left one; both are valid there.
      const bits = new Int32Array(y.buffer, y.byteOffset, y.length);
      const jump = SELU_SCALE_ALPHA - SELU_SCALE;
      for (let i = 0; i < dx.length; i++) dx[i] = dy[i] * (SELU_SCALE + (bits[i] >>> 31) * (y[i] + jump));
    },
  },
  {
    kernel: tf.Sigmoid,
    grad: (dy, y, dx) => {
      for (let i = 0; i < dx.length; i++) dx[i] = dy[i] * y[i] * (1 - y[i]);
    },
    compose: (dy, y) => tf.mul(dy, tf.mul(y, tf.sub(1, y))),
  },
  {
    kernel: tf.Tanh,
    grad: (dy, y, dx) => {
      for (let i = 0; i < dx.length; i++) dx[i] = dy[i] * (1 - y[i] * y[i]);
    },
    compose: (dy, y) => tf.mul(dy, tf.sub(1, tf.square(y))),
  },
];
const composeAbove = 16_384;

function installFusedActivationGradients(): void {
  for (const { kernel, grad, compose } of FUSED_GRADS) {
    const gradKernel = `ClapRl${kernel}Grad`;
    tf.registerKernel(activationGradKernel(gradKernel, grad));
    tf.registerGradient({
      kernelName: kernel,
      outputsToSave: [true],
      gradFunc: (dy, saved) => ({
        x: () =>
          compose && saved[0].size > composeAbove
            ? compose(dy as tf.Tensor, saved[0])
            : (tf.engine().runKernel(gradKernel, { dy: dy as tf.Tensor, y: saved[0] }) as tf.Tensor),
      }),
    });
  }
}

/**
 * Registers `kernelFunc` in place of the wasm backend's kernel `kernelName`. Tensors whose data lives outside the
 * wasm heap (strings), and whatever else `handles` declines, go to the stock kernel.
 */
function replaceWasmKernel(kernelName: string, handles: (args: Parameters<tf.KernelFunc>[0]) => boolean, kernelFunc: tf.KernelFunc): void {
  const stock = tf.getKernel(kernelName, "wasm");
  if (!stock) throw new Error(`clap-rl: the wasm backend has no '${kernelName}' kernel`);
  tf.unregisterKernel(kernelName, "wasm");
  tf.registerKernel({
    kernelName,
    backendName: "wasm",
    kernelFunc: (args) => ((args.inputs.x as tf.TensorInfo).dtype !== "string" && handles(args) ? kernelFunc(args) : stock.kernelFunc(args)),
  });
}

/**
 * Replaces the wasm backend's Identity and same-dtype Cast kernels, which copy their input, with ones that share the
 * input's buffer (reference-counted, as the backend's own Reshape does). tfjs clones every tensor a gradient saves
 * (an Identity per saved input) and casts every such clone's gradient back, so on a training step these copies were
 * thousands of kernels (≈ 7 % of kernel time on the C-LAP model step). Sharing is safe because no wasm kernel writes
 * into an existing tensor's buffer: every kernel, including the OpenBLAS one, writes a freshly allocated output.
 */
function installSharingKernels(): void {
  const share: tf.KernelFunc = ({ inputs, backend }) => {
    const x = inputs.x as tf.TensorInfo;
    (backend as tf.KernelBackend).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
  replaceWasmKernel(tf.Identity, () => true, share);
  replaceWasmKernel(tf.Cast, ({ inputs, attrs }) => (attrs as unknown as tf.CastAttrs).dtype === (inputs.x as tf.TensorInfo).dtype, share);
}

/**
 * Copies the box [begin, begin + size) of `x` into a new tensor, reading `x` in place on the wasm heap. The backend's
 * own Slice first copies the *whole* input out of the heap (readSync) on every call, and its SplitV calls Slice once
 * per output, so a split into k parts copied the input k times and fed the garbage collector: ≈ 9 % of the C-LAP
 * model step's CPU time.
 */
function sliceOnHeap(backend: BackendWasm, x: tf.TensorInfo, begin: number[], size: number[]): tf.TensorInfo {
  // Allocate first: malloc may grow the wasm memory, which detaches views taken before it.
  const out = backend.makeOutput(size, x.dtype);
  const src = backend.typedArrayFromHeap(x);
  const dst = backend.typedArrayFromHeap(out);
  const r = x.shape.length;
  const strides = tf.util.computeStrides(x.shape);
  if (tf.slice_util.isSliceContinous(x.shape, begin, size)) {
    const from = tf.slice_util.computeFlatOffset(begin, strides);
    dst.set(src.subarray(from, from + dst.length));
    return out;
  }
  // Rows of the innermost axis, visited in row-major order of the outer axes. Each row is copied with a loop:
  // the rows are short, and subarray() would allocate an object per row.
  const run = size[r - 1];
  const idx = new Array<number>(r - 1).fill(0);
  for (let o = 0; o < dst.length; o += run) {
    let from = begin[r - 1];
    for (let d = 0; d < r - 1; d++) from += (begin[d] + idx[d]) * strides[d];
    for (let j = 0; j < run; j++) dst[o + j] = src[from + j];
    for (let d = r - 2; d >= 0 && ++idx[d] === size[d]; d--) idx[d] = 0;
  }
  return out;
}

function installHeapSliceKernels(): void {
  replaceWasmKernel(
    tf.Slice,
    () => true,
    ({ inputs, attrs, backend }) => {
      const x = inputs.x as tf.TensorInfo;
      const { begin, size } = attrs as unknown as tf.SliceAttrs;
      const [b, s] = tf.slice_util.parseSliceParams(x, begin, size);
      return sliceOnHeap(backend as BackendWasm, x, b, s);
    },
  );
  replaceWasmKernel(
    tf.SplitV,
    () => true,
    ({ inputs, attrs, backend }) => {
      const x = inputs.x as tf.TensorInfo;
      const { numOrSizeSplits, axis } = attrs as unknown as tf.SplitVAttrs;
      const ax = tf.util.parseAxisParam(axis, x.shape)[0];
      const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, ax);
      const begin = new Array<number>(x.shape.length).fill(0);
      return sizes.map((n) => {
        const size = [...x.shape];
        size[ax] = n;
        const part = sliceOnHeap(backend as BackendWasm, x, [...begin], size);
        begin[ax] += n;
        return part;
      });
    },
  );
}

/** Selects the wasm backend and installs gradients. Idempotent; safe to call from worker threads. */
export function initEngine(): Promise<void> {
  if (ready === null) {
    ready = (async () => {
      register("./tfjs-resolve-hook.js", import.meta.url);
      await import("@tensorflow/tfjs-core/dist/register_all_gradients.js" as string);
      installMatMulGradient();
      installFusedActivationGradients();
      const ok = await tf.setBackend("wasm");
      if (!ok) throw new Error("clap-rl: the tfjs wasm backend failed to initialise");
      await tf.ready();
      installSharingKernels();
      installHeapSliceKernels();
      // From here on the native SELU and tanh kernels (in place of the stock ones and of ClapRlSeluGrad above) and
      // the native Adam step follow the native switch (src/engine/native-elementwise.ts).
      installNativeElementwise();
      // The optional OpenBLAS matmul kernel (src/engine/blas.ts); CLAP_RL_BLAS=0 forces pure wasm. The fused
      // posterior-filter kernels (src/engine/fused-filter.ts) run only while it is active.
      configureBlasFromEnv();
      installFusedFilterKernels();
      // MLP.apply / applyFromFirst run as fused native kernels under the same condition (src/engine/fused-mlp.ts).
      installFusedMlpKernels();
      // So does the agent step's imagined rollout (src/engine/fused-imagination.ts).
      installFusedImaginationKernels();
    })();
  }
  return ready;
}

/**
 * Returns `x` as a leaf for autodiff: gradients do not flow into whatever produced `x`.
 * tfjs has no stop-gradient op. A new tensor over the same (reference-counted) buffer is unknown to the tape, so it
 * cuts the tape completely, which also saves the backward pass through the cut branch (a zero-gradient customGrad
 * would still traverse it), without reading the values back from the wasm heap and uploading them again.
 */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  const engine = tf.engine();
  engine.backend.incRef(x.dataId);
  return engine.makeTensorFromDataId(x.dataId, x.shape, x.dtype) as T;
}

/** Number of live tensors (for leak tests). */
export function liveTensors(): number {
  return tf.memory().numTensors;
}
