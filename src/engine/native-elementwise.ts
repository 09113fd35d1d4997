/**
 * Elementwise kernels on the OpenBLAS addon (native/blas/src/elementwise.c): SELU and tanh forward, the SELU
 * gradient, and one Adam step over all parameters with the global clip norm.
 *
 * Why: after the fused posterior filter, SELU forward and its gradient were ≈ 35 % of the agent step's kernel time
 * and tanh ≈ 3 % (the wasm backend's SELU and tanh are scalar loops, the JS gradient loop is not vectorised), and
 * Adam ran one kernel per parameter tensor plus two tfjs kernels per tensor for the clip norm (≈ 180 dispatches per
 * model step). The C loops are vectorised and read and write the wasm heap in place, like the BatchMatMul kernel.
 *
 * They follow the CLAP_RL_BLAS switch (blas.ts `followBlasSwitch`): while the native path is active the wasm
 * backend's Selu and Tanh kernels and the `ClapRlSeluGrad` kernel of tf.ts are replaced, and Adam takes
 * `adamStepAll`; when it switches off the stock and JS kernels come back, so CLAP_RL_BLAS=0 runs exactly the
 * pure-wasm path.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { followBlasSwitch, type BlasAddon } from "./blas.js";
import type { AdamHyper } from "../../native/blas/index.js";

const SELU_GRAD = "ClapRlSeluGrad";
const ADAM_ALL = "ClapRlAdamAll";
/** The registered kernels that the native path replaces (ClapRlSeluGrad is tf.ts's JS loop). */
const REPLACED = [tf.Selu, tf.Tanh, SELU_GRAD];

/** The kernels replaced while the native path is active, as they were registered before; null while inactive. */
let replaced: tf.KernelConfig[] | null = null;
let addon: BlasAddon | null = null;

/** Whether the native SELU kernels and the all-parameter Adam step are in use. */
export function nativeElementwiseActive(): boolean {
  return replaced !== null;
}

function view(wasm: BackendWasm, t: tf.TensorInfo): Float32Array {
  return wasm.typedArrayFromHeap(t) as Float32Array;
}

/** A float32 unary kernel `f(x, y)` in place of the wasm backend's `stock`, which keeps other dtypes. */
function unary(stock: tf.KernelConfig, f: (x: Float32Array, y: Float32Array) => void): tf.KernelConfig {
  return {
    kernelName: stock.kernelName,
    backendName: "wasm",
    kernelFunc: (args) => {
      const x = args.inputs.x as tf.TensorInfo;
      // tfjs's selu and tanh accept int32 tensors too; those stay on the stock kernel.
      if (x.dtype !== "float32") return stock.kernelFunc(args);
      const wasm = args.backend as BackendWasm;
      // Allocate first: malloc may grow the wasm memory, which detaches views taken before it.
      const out = wasm.makeOutput(x.shape, "float32");
      f(view(wasm, x), view(wasm, out));
      return out;
    },
  };
}

/** The replacements of the kernels named in REPLACED, in that order. */
function nativeKernels(lib: BlasAddon, stock: tf.KernelConfig[]): tf.KernelConfig[] {
  return [
    unary(stock[0], lib.selu),
    unary(stock[1], lib.tanh),
    activationGradKernel(SELU_GRAD, lib.seluGrad),
  ];
}

/**
 * A wasm kernel for an activation's gradient from its output: inputs dy and y, output dx = grad(dy, y), computed
 * by `grad` on views of the wasm heap (the JS and the native gradient kernels share this shape).
 */
export function activationGradKernel(kernelName: string, grad: (dy: Float32Array, y: Float32Array, dx: Float32Array) => void): tf.KernelConfig {
  return {
    kernelName,
    backendName: "wasm",
    kernelFunc: ({ inputs, backend }) => {
      const { dy, y } = inputs as { dy: tf.TensorInfo; y: tf.TensorInfo };
      const wasm = backend as BackendWasm;
      // Allocate first: malloc may grow the wasm memory, which detaches views taken before it.
      const out = wasm.makeOutput(y.shape, "float32");
      grad(view(wasm, dy), view(wasm, y), view(wasm, out));
      return out;
    },
  };
}

function toggle(lib: BlasAddon | null): void {
  if (lib !== null && replaced === null) {
    const stock = REPLACED.map((name) => {
      const k = tf.getKernel(name, "wasm");
      if (!k) throw new Error(`clap-rl: no wasm '${name}' kernel to replace (await initEngine() first)`);
      return k;
    });
    const native = nativeKernels(lib, stock);
    for (const k of native) {
      tf.unregisterKernel(k.kernelName, "wasm");
      tf.registerKernel(k);
    }
    replaced = stock;
    addon = lib;
  } else if (lib === null && replaced !== null) {
    // The stock kernels' setup ran when the backend initialised, so re-registering their configs suffices.
    for (const k of replaced) {
      tf.unregisterKernel(k.kernelName, "wasm");
      tf.registerKernel(k);
    }
    replaced = null;
    addon = null;
  }
}

/** Inputs [p₀…pₙ₋₁, m…, v…, g…]; outputs [p′…, m′…, v′…, ‖g‖]. */
const adamAllKernel: tf.KernelFunc = ({ inputs, attrs, backend }) => {
  const xs = inputs as unknown as tf.TensorInfo[];
  const n = xs.length / 4;
  const wasm = backend as BackendWasm;
  if (addon === null) throw new Error("clap-rl: the native Adam kernel ran while the native path is off");
  // Every output is allocated before any view is taken (malloc may grow the wasm memory and detach them).
  const outs = xs.slice(0, 3 * n).map((t) => wasm.makeOutput(t.shape, "float32"));
  const norm = wasm.makeOutput([], "float32");
  const vs = xs.map((t) => view(wasm, t));
  const os = outs.map((t) => view(wasm, t));
  const part = (a: Float32Array[], k: number) => a.slice(k * n, (k + 1) * n);
  view(wasm, norm)[0] = addon.adam(attrs as unknown as AdamHyper, {
    p: part(vs, 0),
    m: part(vs, 1),
    v: part(vs, 2),
    g: part(vs, 3),
    pOut: part(os, 0),
    mOut: part(os, 1),
    vOut: part(os, 2),
  });
  return [...outs, norm];
};

/**
 * One Adam step over all parameters as one native kernel: the global norm of `g`, the clip factor
 * min(1, clip / (‖g‖ + 1e-6)) (1 when clip is 0), and the update of every tensor (see AdamHyper in
 * native/blas/index.d.ts; the caller folds the bias corrections into lr and eps). Returns the new values and the
 * unclipped norm as new tensors. Requires `nativeElementwiseActive()`.
 */
export function adamStepAll(
  p: tf.Tensor[],
  m: tf.Tensor[],
  v: tf.Tensor[],
  g: tf.Tensor[],
  hyper: AdamHyper,
): { p: tf.Tensor[]; m: tf.Tensor[]; v: tf.Tensor[]; norm: tf.Scalar } {
  if (!nativeElementwiseActive()) throw new Error("clap-rl: the native Adam step is not active (see blasStatus())");
  const n = p.length;
  if (m.length !== n || v.length !== n || g.length !== n) {
    throw new Error(`clap-rl: native Adam step needs one m, v and g per parameter (got ${n}, ${m.length}, ${v.length}, ${g.length})`);
  }
  const all = [...p, ...m, ...v, ...g];
  for (const t of all) if (t.dtype !== "float32") throw new Error(`clap-rl: native Adam step: tensors must be float32 (got ${t.dtype})`);
  const outs = tf.engine().runKernel(ADAM_ALL, all as unknown as tf.NamedTensorMap, hyper as unknown as tf.NamedAttrMap) as tf.Tensor[];
  return { p: outs.slice(0, n), m: outs.slice(n, 2 * n), v: outs.slice(2 * n, 3 * n), norm: outs[3 * n] as tf.Scalar };
}

let installed = false;

/** Registers the Adam kernel and makes the SELU kernels follow the native switch. Needs the wasm backend; idempotent. */
export function installNativeElementwise(): void {
  if (installed) return;
  installed = true;
  tf.registerKernel({ kernelName: ADAM_ALL, backendName: "wasm", kernelFunc: adamAllKernel });
  followBlasSwitch({ kernels: [...REPLACED, ADAM_ALL], toggle });
}
