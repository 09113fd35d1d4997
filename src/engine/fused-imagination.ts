/**
 * The agent step's imagined rollout (src/algorithms/clap/imagine.ts: policy, latent action prior, action decoder,
 * transition and state prior, H steps) as one native forward kernel and one native backward kernel
 * (native/blas/src/imagine.c).
 *
 * Why: in tfjs each imagined step runs ≈ 320 kernels on N-row tensors, forward and gradient together, each paying a
 * fixed JS dispatch cost whatever its size: 1,600 of the `small` agent step's 2,270 kernels. Here the tape sees one
 * node, and its backward computes only what the agent step needs: the policy's parameter gradients, through the
 * frozen model's input gradients (none of the model's weight gradients, nothing for the start states).
 *
 * Like the fused MLP (fused-mlp.ts), the op goes through the engine's custom-op entry, so the forward's intermediates
 * are saved tensors rather than outputs (tfjs would hand every unused output a zero-filled gradient made in JS). It
 * runs only while the native BatchMatMul kernel is active and the fused switch is on (`fusedActive("imagination")`,
 * CLAP_RL_FUSED_IMAGINATION); otherwise the tfjs loop runs, which this matches to float32 rounding.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { blasAddon, fusedActive } from "./blas.js";
import type { Activation } from "./nn.js";
import type { MlpLayer } from "./fused-mlp.js";
import type { ImagineDims } from "../../native/blas/index.js";

const FORWARD = "ClapRlImagineForward";
const BACKWARD = "ClapRlImagineBackward";

/** The MLPs of the rollout, named as the addon's operands. */
const NETS = ["policy", "latentPrior", "decoder", "prior"] as const;
type Net = (typeof NETS)[number];

/** One MLP of the rollout: its layers and the activation between them (the kernel implements SELU only). */
export interface ImagineMlp {
  layers: readonly MlpLayer[];
  act: Activation;
}

export interface ImagineInputs {
  /** Start features [h | z] [N, deter + stoch]; no gradient flows to them. */
  start: tf.Tensor;
  /** Standard-normal noise of the policy's samples [H, N, latent] and of the state prior's [H, N, stoch]. */
  noisePolicy: tf.Tensor;
  noisePrior: tf.Tensor;
  /** The constrained policy in mode "box" (constrained-policy.ts): m = meanScale·tanh(m_raw / meanScale),
   * s = softplus(s_raw + stdShift) + minStd, ũ = μ + epsilon·σ ⊙ tanh(y). */
  policy: ImagineMlp & { meanScale: number; stdShift: number; minStd: number; epsilon: number };
  /** The latent action prior p(u | s) and the state prior p(z | h): σ = softplus(raw) + minStd. */
  latentPrior: ImagineMlp & { minStd: number };
  prior: ImagineMlp & { minStd: number };
  /** The action decoder p(a | s, ũ), of which the rollout takes the mean tanh(m). */
  decoder: ImagineMlp;
  /** The transition layer on [z, a] [stoch + action, input] and the GRU (nn.ts gruCell). */
  transition: MlpLayer;
  gru: { wi: tf.Tensor; bi: tf.Tensor; wh: tf.Tensor; bhn: tf.Tensor };
}

export interface ImagineOutputs {
  /** Features [(H+1)·N, deter + stoch], step-major: block 0 the start, block k + 1 the state after step k. */
  feats: tf.Tensor2D;
  /** log π of each step's policy sample [H, N]. */
  logProb: tf.Tensor2D;
}

interface ImagineAttrs {
  dims: ImagineDims;
  /** Layers per MLP, in NETS order. */
  layers: number[];
}

function addon() {
  const lib = blasAddon();
  if (lib === null) throw new Error("fused imagination: the native addon is not available");
  return lib;
}

/** Kernel inputs name the MLPs' tensors policy_w0, policy_b0, …: `named` builds them, `listed` reads them back. */
const named = (net: Net, kind: "w" | "b", xs: readonly tf.Tensor[]): Record<string, tf.Tensor> =>
  Object.fromEntries(xs.map((t, j) => [`${net}_${kind}${j}`, t]));
const listed = <T>(inputs: Record<string, T>, net: Net, kind: "w" | "b", L: number): T[] =>
  Array.from({ length: L }, (_, j) => inputs[`${net}_${kind}${j}`]);

const forwardKernel: tf.KernelFunc = ({ inputs, attrs, backend }) => {
  const x = inputs as Record<string, tf.TensorInfo>;
  const { dims, layers } = attrs as unknown as ImagineAttrs;
  const lib = addon();
  const wasm = backend as BackendWasm;
  const { rows: N, horizon: H, deter, stoch } = dims;
  // Allocate first: malloc may grow the wasm memory, which detaches every view taken before it.
  const out = [
    wasm.makeOutput([(H + 1) * N, deter + stoch], "float32"),
    wasm.makeOutput([H, N], "float32"),
    wasm.makeOutput([lib.imagineSavedSize(dims)], "float32"),
  ];
  const v = (t: tf.TensorInfo) => wasm.typedArrayFromHeap(t) as Float32Array;
  const params = (net: Net, i: number) => ({ w: listed(x, net, "w", layers[i]).map(v), b: listed(x, net, "b", layers[i]).map(v) });
  const [feats, logp, saved] = out.map(v);
  lib.imagineForward(dims, {
    start: v(x.start),
    noisePolicy: v(x.noisePolicy),
    noisePrior: v(x.noisePrior),
    policy: params("policy", 0),
    latentPrior: params("latentPrior", 1),
    decoder: params("decoder", 2),
    prior: params("prior", 3),
    wt: v(x.wt),
    bt: v(x.bt),
    wi: v(x.wi),
    bi: v(x.bi),
    wh: v(x.wh),
    bhn: v(x.bhn),
    feats,
    logp,
    saved,
  });
  return out;
};

/** Inputs: the forward's noise, weights, feats and saved, and dfeats, dlogp; outputs dW_j, db_j of the policy. */
const backwardKernel: tf.KernelFunc = ({ inputs, attrs, backend }) => {
  const x = inputs as Record<string, tf.TensorInfo>;
  const { dims, layers } = attrs as unknown as ImagineAttrs;
  const wasm = backend as BackendWasm;
  const ws = listed(x, "policy", "w", layers[0]);
  const out = ws.flatMap((w) => [wasm.makeOutput(w.shape, "float32"), wasm.makeOutput([w.shape[1]], "float32")]);
  const v = (t: tf.TensorInfo) => wasm.typedArrayFromHeap(t) as Float32Array;
  const weights = (net: Net, i: number) => ({ w: listed(x, net, "w", layers[i]).map(v) });
  const g = out.map(v);
  addon().imagineBackward(dims, {
    noisePolicy: v(x.noisePolicy),
    noisePrior: v(x.noisePrior),
    policy: weights("policy", 0),
    latentPrior: weights("latentPrior", 1),
    decoder: weights("decoder", 2),
    prior: weights("prior", 3),
    wt: v(x.wt),
    wi: v(x.wi),
    wh: v(x.wh),
    feats: v(x.feats),
    saved: v(x.saved),
    dfeats: v(x.dfeats),
    dlogp: v(x.dlogp),
    dw: g.filter((_, i) => i % 2 === 0),
    db: g.filter((_, i) => i % 2 === 1),
  });
  return out;
};

let installed = false;

/** Registers the two kernels (wasm backend). Idempotent. */
export function installFusedImaginationKernels(): void {
  if (installed) return;
  installed = true;
  tf.registerKernel({ kernelName: FORWARD, backendName: "wasm", kernelFunc: forwardKernel });
  tf.registerKernel({ kernelName: BACKWARD, backendName: "wasm", kernelFunc: backwardKernel });
}

/** The engine's custom-op entry (see fused-mlp.ts CustomOpEngine), with several outputs. */
interface CustomOpEngine {
  runKernelFunc(op: {
    forwardFunc: (backend: unknown, save: (tensors: tf.Tensor[]) => void) => tf.Tensor[];
    backwardsFunc: (dys: tf.Tensor[], saved: tf.Tensor[]) => Record<string, () => tf.Tensor>;
    inputs: tf.NamedTensorMap;
  }): tf.Tensor[];
}

function matrix(name: string, t: tf.Tensor): [number, number] {
  if (t.dtype !== "float32") throw new Error(`fused imagination: '${name}' must be float32 (got ${t.dtype})`);
  if (t.rank !== 2) throw new Error(`fused imagination: '${name}' must be a matrix (got shape [${t.shape}])`);
  return t.shape as [number, number];
}

function checkShape(name: string, t: tf.Tensor, want: number[]): void {
  if (t.dtype !== "float32") throw new Error(`fused imagination: '${name}' must be float32 (got ${t.dtype})`);
  if (t.shape.length !== want.length || t.shape.some((d, i) => d !== want[i])) {
    throw new Error(`fused imagination: '${name}' has shape [${t.shape}], expected [${want}]`);
  }
}

/** The widths of an MLP, after checking that its layers chain and that it is a SELU MLP. */
function widthsOf(name: Net, m: ImagineMlp): number[] {
  if (m.act !== "selu") throw new Error(`fused imagination: '${name}' must use SELU (got ${m.act})`);
  if (m.layers.length < 1) throw new Error(`fused imagination: '${name}' has no layers`);
  const widths = [matrix(`${name}.layers[0].w`, m.layers[0].w)[0]];
  m.layers.forEach((l, j) => {
    const out = matrix(`${name}.layers[${j}].w`, l.w)[1];
    checkShape(`${name}.layers[${j}].w`, l.w, [widths[j], out]);
    checkShape(`${name}.layers[${j}].b`, l.b, [out]);
    widths.push(out);
  });
  return widths;
}

/**
 * Runs the H-step rollout of N start states as one tape node; H is the noise's first axis. Requires
 * `fusedActive("imagination")`; throws a clear error on inconsistent shapes (the addon checks the widths against
 * each other).
 */
export function imagineRollout(x: ImagineInputs): ImagineOutputs {
  if (!fusedActive("imagination")) throw new Error("fused imagination: not active (needs the native addon; see blasStatus())");
  const [N, F] = matrix("start", x.start);
  const deter = matrix("gru.wh", x.gru.wh)[0];
  const stoch = F - deter;
  const [SA, input] = matrix("transition.w", x.transition.w);
  if (x.noisePolicy.rank !== 3 || x.noisePrior.rank !== 3) throw new Error("fused imagination: the noise must be [H, N, ·]");
  const [H, , latent] = x.noisePolicy.shape;
  checkShape("noisePrior", x.noisePrior, [H, N, stoch]);
  checkShape("noisePolicy", x.noisePolicy, [H, N, latent]);
  checkShape("transition.b", x.transition.b, [input]);
  checkShape("gru.wi", x.gru.wi, [input, 3 * deter]);
  checkShape("gru.bi", x.gru.bi, [3 * deter]);
  checkShape("gru.wh", x.gru.wh, [deter, 3 * deter]);
  checkShape("gru.bhn", x.gru.bhn, [deter]);
  const nets: Record<Net, ImagineMlp> = { policy: x.policy, latentPrior: x.latentPrior, decoder: x.decoder, prior: x.prior };
  const widths = Object.fromEntries(NETS.map((n) => [n, widthsOf(n, nets[n])])) as Record<Net, number[]>;
  const dims: ImagineDims = {
    rows: N,
    horizon: H,
    deter,
    stoch,
    latent,
    action: SA - stoch,
    input,
    policy: { widths: widths.policy },
    latentPrior: { widths: widths.latentPrior },
    decoder: { widths: widths.decoder },
    prior: { widths: widths.prior },
    meanScale: x.policy.meanScale,
    stdShift: x.policy.stdShift,
    policyMinStd: x.policy.minStd,
    epsilon: x.policy.epsilon,
    latentMinStd: x.latentPrior.minStd,
    stateMinStd: x.prior.minStd,
  };
  const attrs: ImagineAttrs = { dims, layers: NETS.map((n) => nets[n].layers.length) };
  const weights: Record<string, tf.Tensor> = {};
  for (const n of NETS) {
    Object.assign(weights, named(n, "w", nets[n].layers.map((l) => l.w)), named(n, "b", nets[n].layers.map((l) => l.b)));
  }
  const fixed = { wt: x.transition.w, bt: x.transition.b, wi: x.gru.wi, bi: x.gru.bi, wh: x.gru.wh, bhn: x.gru.bhn };
  const inputs: tf.NamedTensorMap = { start: x.start, noisePolicy: x.noisePolicy, noisePrior: x.noisePrior, ...fixed, ...weights };
  // What the backward reads, in this order: the weights (biases are not read), then feats and saved.
  const backwardNames = ["noisePolicy", "noisePrior", "wt", "wi", "wh", ...NETS.flatMap((n) => nets[n].layers.map((_, j) => `${n}_w${j}`))];
  const [feats, logProb] = (tf.engine() as unknown as CustomOpEngine).runKernelFunc({
    forwardFunc: (_, save) => {
      const [f, lp, saved] = tf.engine().runKernel(FORWARD, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
      // A no-op unless a tape records this call; tfjs disposes `saved` itself (the op runs in a tidy scope).
      save([...backwardNames.map((k) => inputs[k]), f, saved]);
      return [f, lp];
    },
    backwardsFunc: ([dfeats, dlogp], saved) => {
      const ins: Record<string, tf.Tensor> = Object.fromEntries(backwardNames.map((k, i) => [k, saved[i]]));
      const [f, s] = saved.slice(backwardNames.length);
      // One call for every policy gradient, made here rather than in the closures below: tfjs runs each closure in
      // its own tidy scope, which would dispose the others. Unrequested ones go with the backward pass's scope.
      const grads = tf.engine().runKernel(BACKWARD, { ...ins, feats: f, saved: s, dfeats, dlogp }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
      const result: Record<string, () => tf.Tensor> = {};
      for (const name of Object.keys(inputs)) {
        result[name] = () => {
          throw new Error(`fused imagination: no gradient with respect to '${name}' (the agent step optimises the policy alone)`);
        };
      }
      x.policy.layers.forEach((_, j) => {
        result[`policy_w${j}`] = () => grads[2 * j];
        result[`policy_b${j}`] = () => grads[2 * j + 1];
      });
      return result;
    },
    inputs,
  });
  return { feats: feats as tf.Tensor2D, logProb: logProb as tf.Tensor2D };
}
