/**
 * The latent action model's posterior-filter recurrence (LatentActionModel.observe) as one native kernel for the
 * whole window and one for its backward pass, on the native addon (native/blas/src/filter.c).
 *
 * Why: in tfjs each of the T sequential steps runs ≈ 30 forward and ≈ 50 gradient kernels on B-row tensors, and
 * each kernel pays a fixed JS dispatch cost whatever its size; on the `small` preset that was ≈ 2,500 kernels per
 * model step. Here the tape sees one node: a registered forward kernel whose registered gradient computes every input
 * gradient with one backward kernel call. Both read and write the wasm heap in place, like the BatchMatMul kernel.
 *
 * It runs only while the native BatchMatMul kernel is active and the fused switch is on (`fusedActive("filter")`,
 * CLAP_RL_FUSED_FILTER); otherwise observe keeps its tfjs loop, which this must match to float32 rounding.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { blasAddon, fusedActive } from "./blas.js";
import type { FilterDims } from "../../native/blas/index.js";


const FORWARD = "ClapRlFilterForward";
const BACKWARD = "ClapRlFilterBackward";

/** One later posterior layer: p ← SELU(p)·w + b. */
export interface FilterLayer {
  w: tf.Tensor;
  b: tf.Tensor;
}

/** Inputs of the recurrence; every [T·B, ·] tensor is time-major (row t·B + i is row i of step t). */
export interface FilterInputs {
  T: number;
  B: number;
  /** The transition layer's a_prev block with its bias, a_prev·W_a + b [T·B, input]. */
  act: tf.Tensor;
  /** The posterior's first layer's embedding block with its bias, e·W_e + b [T·B, width]. */
  embed: tf.Tensor;
  /** Standard-normal noise for the reparameterised sample [T·B, stoch], or null for z = posterior mean. */
  noise: tf.Tensor | null;
  /** The transition layer's z block [stoch, input]. */
  wz: tf.Tensor;
  /** GRU weights as in nn.ts gruCell: wi [input, 3·deter], bi [3·deter], wh [deter, 3·deter], bhn [deter]. */
  gru: { wi: tf.Tensor; bi: tf.Tensor; wh: tf.Tensor; bhn: tf.Tensor };
  /** The posterior's first layer's h block [deter, width]. */
  wph: tf.Tensor;
  /** The posterior's later layers (SELU then Linear each); the last outputs [mean | raw] (2·stoch). */
  layers: FilterLayer[];
  minStd: number;
}

/** Time-major h [T·B, deter], z, and the posterior's mean and σ = softplus(raw) + minStd [T·B, stoch]. */
export interface FilterOutputs {
  h: tf.Tensor2D;
  z: tf.Tensor2D;
  mean: tf.Tensor2D;
  std: tf.Tensor2D;
}

interface FilterAttrs {
  T: number;
  B: number;
  minStd: number;
  layers: number;
  noisy: boolean;
}

/**
 * The forward kernel takes its inputs as an array (as tfjs's Concat does) so one registered gradient can save all of
 * them whatever the number of layers: act, embed, wz, wi, bi, wh, bhn, wph, then w_j, b_j per later layer, then
 * noise when there is noise. The backward kernel's outputs are the gradients of the first 8 + 2L, in that order.
 */
const FIXED = ["act", "embed", "wz", "wi", "bi", "wh", "bhn", "wph"] as const;

function addon() {
  const lib = blasAddon();
  if (lib === null) throw new Error("fused posterior filter: the native addon is not available");
  return lib;
}

function dimsOf(wz: tf.TensorInfo, wh: tf.TensorInfo, wph: tf.TensorInfo, layerW: tf.TensorInfo[], a: FilterAttrs): FilterDims {
  return {
    T: a.T,
    B: a.B,
    stoch: wz.shape[0],
    deter: wh.shape[0],
    input: wz.shape[1],
    widths: [wph.shape[1], ...layerW.map((w) => w.shape[1])],
    minStd: a.minStd,
  };
}

function layerInputs<T>(xs: T[], L: number): { w: T; b: T }[] {
  return Array.from({ length: L }, (_, j) => ({ w: xs[FIXED.length + 2 * j], b: xs[FIXED.length + 2 * j + 1] }));
}

const forwardKernel: tf.KernelFunc = ({ inputs, attrs, backend }) => {
  const xs = inputs as unknown as tf.TensorInfo[];
  const a = attrs as unknown as FilterAttrs;
  const [act, embed, wz, wi, bi, wh, bhn, wph] = xs;
  const layers = layerInputs(xs, a.layers);
  const noise = a.noisy ? xs[FIXED.length + 2 * a.layers] : null;
  const dims = dimsOf(wz, wh, wph, layers.map((l) => l.w), a);
  const lib = addon();
  const wasm = backend as BackendWasm;
  const R = a.T * a.B;
  // Allocate first: malloc may grow the wasm memory, which detaches every view taken before it.
  const out = [
    wasm.makeOutput([R, dims.deter], "float32"),
    wasm.makeOutput([R, dims.stoch], "float32"),
    wasm.makeOutput([R, dims.stoch], "float32"),
    wasm.makeOutput([R, dims.stoch], "float32"),
    wasm.makeOutput([R, lib.filterSavedWidth(dims)], "float32"),
  ];
  const v = (t: tf.TensorInfo) => wasm.typedArrayFromHeap(t) as Float32Array;
  const [h, z, mean, std, saved] = out.map(v);
  lib.filterForward(dims, {
    act: v(act),
    embed: v(embed),
    noise: noise && v(noise),
    wz: v(wz),
    wi: v(wi),
    bi: v(bi),
    wh: v(wh),
    bhn: v(bhn),
    wph: v(wph),
    layers: layers.map((l) => ({ w: v(l.w), b: v(l.b) })),
    h,
    z,
    mean,
    std,
    saved,
  });
  return out;
};

const backwardKernel: tf.KernelFunc = ({ inputs, attrs, backend }) => {
  const x = inputs as Record<string, tf.TensorInfo>;
  const a = attrs as unknown as FilterAttrs;
  const layerW = Array.from({ length: a.layers }, (_, j) => x[`w${j}`]);
  const dims = dimsOf(x.wz, x.wh, x.wph, layerW, a);
  const lib = addon();
  const wasm = backend as BackendWasm;
  // Gradients shaped as the forward inputs, in the forward's input order. Allocated before any view is taken.
  const shapes = [x.act, x.embed, x.wz, x.wi, x.bi, x.wh, x.bhn, x.wph].map((t) => t.shape);
  for (let j = 0; j < a.layers; j++) shapes.push(layerW[j].shape, [layerW[j].shape[1]]);
  const out = shapes.map((s) => wasm.makeOutput(s, "float32"));
  const v = (t: tf.TensorInfo) => wasm.typedArrayFromHeap(t) as Float32Array;
  const g = out.map(v);
  lib.filterBackward(dims, {
    noise: a.noisy ? v(x.noise) : null,
    wz: v(x.wz),
    wi: v(x.wi),
    wh: v(x.wh),
    wph: v(x.wph),
    layers: layerW.map((w) => ({ w: v(w) })),
    h: v(x.h),
    z: v(x.z),
    saved: v(x.saved),
    dh: v(x.dh),
    dz: v(x.dz),
    dmean: v(x.dmean),
    dstd: v(x.dstd),
    dact: g[0],
    dembed: g[1],
    dwz: g[2],
    dwi: g[3],
    dbi: g[4],
    dwh: g[5],
    dbhn: g[6],
    dwph: g[7],
    dlayers: layerInputs(g, a.layers),
  });
  return out;
};

let installed = false;

/** Registers the two kernels (wasm backend) and the forward's gradient. Idempotent. */
export function installFusedFilterKernels(): void {
  if (installed) return;
  installed = true;
  tf.registerKernel({ kernelName: FORWARD, backendName: "wasm", kernelFunc: forwardKernel });
  tf.registerKernel({ kernelName: BACKWARD, backendName: "wasm", kernelFunc: backwardKernel });
  tf.registerGradient({
    kernelName: FORWARD,
    saveAllInputs: true,
    // h, z and the per-step intermediates; mean and std are not needed.
    outputsToSave: [true, true, false, false, true],
    gradFunc: (dys, saved, attrs) => {
      const a = attrs as unknown as FilterAttrs;
      const nIn = FIXED.length + 2 * a.layers + (a.noisy ? 1 : 0);
      const [act, embed, wz, wi, bi, wh, bhn, wph] = saved;
      const [h, z, savedOut] = saved.slice(nIn);
      const noise = a.noisy ? saved[nIn - 1] : null;
      const [dh, dz, dmean, dstd] = dys as tf.Tensor[];
      const layerIns: Record<string, tf.Tensor> = {};
      layerInputs(saved, a.layers).forEach((l, j) => (layerIns[`w${j}`] = l.w));
      // One call for all input gradients, made here rather than in the per-input closures below: tfjs runs each
      // closure in its own tidy scope, which would dispose the other gradients. Unrequested ones are disposed with
      // the backward pass's scope.
      const grads = tf.engine().runKernel(
        BACKWARD,
        { act, embed, wz, wi, bi, wh, bhn, wph, ...layerIns, ...(noise ? { noise } : {}), h, z, saved: savedOut, dh, dz, dmean, dstd },
        attrs,
      ) as tf.Tensor[];
      const result: Record<string, () => tf.Tensor> = {};
      grads.forEach((g, i) => (result[i] = () => g));
      // The noise is sampled, never a function of parameters; a gradient for it would need another output.
      if (noise) {
        result[nIn - 1] = () => {
          throw new Error("fused posterior filter: no gradient with respect to the noise");
        };
      }
      return result;
    },
  });
}

function checkShape(name: string, t: tf.Tensor, want: number[]): void {
  if (t.dtype !== "float32") throw new Error(`fused posterior filter: '${name}' must be float32 (got ${t.dtype})`);
  if (t.shape.length !== want.length || t.shape.some((d, i) => d !== want[i])) {
    throw new Error(`fused posterior filter: '${name}' has shape [${t.shape}], expected [${want}]`);
  }
}

/**
 * Runs the posterior filter over T steps of B rows (the recurrence of LatentActionModel.observe) as one tape node.
 * Requires `fusedActive("filter")`; throws a clear error on inconsistent shapes.
 */
export function filterSequence(x: FilterInputs): FilterOutputs {
  const { T, B, wz, gru, wph, layers } = x;
  if (!Number.isInteger(T) || !Number.isInteger(B) || T < 1 || B < 1) {
    throw new Error(`fused posterior filter: T and B must be positive integers (got T=${T}, B=${B})`);
  }
  if (!fusedActive("filter")) throw new Error("fused posterior filter: not active (needs the native addon; see blasStatus())");
  if (layers.length < 1) throw new Error("fused posterior filter: the posterior head needs at least one layer after its first");
  if (wz.rank !== 2 || gru.wh.rank !== 2 || wph.rank !== 2) throw new Error("fused posterior filter: wz, wh and wph must be matrices");
  const [S, IN] = wz.shape as number[];
  const D = (gru.wh.shape as number[])[0];
  const R = T * B;
  checkShape("act", x.act, [R, IN]);
  checkShape("wz", wz, [S, IN]);
  checkShape("wi", gru.wi, [IN, 3 * D]);
  checkShape("bi", gru.bi, [3 * D]);
  checkShape("wh", gru.wh, [D, 3 * D]);
  checkShape("bhn", gru.bhn, [D]);
  let width = (wph.shape as number[])[1];
  checkShape("wph", wph, [D, width]);
  checkShape("embed", x.embed, [R, width]);
  layers.forEach((l, j) => {
    const out = j === layers.length - 1 ? 2 * S : (l.w.shape as number[])[1];
    checkShape(`layers[${j}].w`, l.w, [width, out]);
    checkShape(`layers[${j}].b`, l.b, [out]);
    width = out;
  });
  if (x.noise !== null) checkShape("noise", x.noise, [R, S]);
  const inputs = [x.act, x.embed, wz, gru.wi, gru.bi, gru.wh, gru.bhn, wph, ...layers.flatMap((l) => [l.w, l.b])];
  if (x.noise !== null) inputs.push(x.noise);
  const attrs: FilterAttrs = { T, B, minStd: x.minStd, layers: layers.length, noisy: x.noise !== null };
  const [h, z, mean, std, saved] = tf.engine().runKernel(FORWARD, inputs as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as tf.Tensor2D[];
  // The gradient keeps its own reference when a tape records this call.
  saved.dispose();
  return { h, z, mean, std };
}
