/**
 * An MLP (nn.ts: Linear layers with an activation between them) as one native forward kernel, with a gradient that
 * runs one native kernel for the backward chain and one per input gradient that autodiff asks for
 * (native/blas/src/mlp.c).
 *
 * Why: in tfjs a 3-layer MLP costs ≈ 8 forward kernels (matmul, bias add, activation per layer) and ≈ 15–20 gradient
 * kernels, each paying a fixed JS dispatch cost whatever its size; the C-LAP model step runs 8 such MLPs on 512 rows
 * and the agent step 4–6 per imagined step.
 *
 * Why the gradient is split: tfjs prunes the inputs that do not lead from the differentiated tensors, but only by
 * not calling their gradient closures; the backward function itself cannot tell which ones will be called. So it
 * runs the part every input gradient needs (the deltas of all layers, and the cheap bias gradients) once, and each
 * closure runs the one product it needs. The agent step differentiates the policy through the frozen world model:
 * there the model's MLPs cost the chain plus dX, and their weight gradients are never computed (the stock matmul
 * gradient computes both operands' eagerly).
 *
 * The kernels read and write the wasm heap in place, like the BatchMatMul kernel. They run only while the native
 * BatchMatMul kernel is active and the fused-MLP switch is on (`fusedActive("mlp")`, CLAP_RL_FUSED_MLP); otherwise
 * MLP keeps its tfjs kernels, which this matches to float32 rounding.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { blasAddon, fusedActive } from "./blas.js";
import type { Activation } from "./nn.js";
import type { MlpDims } from "../../native/blas/index.js";


/** The most layers one fused call takes (MAX_LAYERS in mlp.c); longer MLPs stay on tfjs kernels. */
export const FUSED_MLP_MAX_LAYERS = 64;

const FORWARD = "ClapRlMlpForward";
const BACKWARD = "ClapRlMlpBackward";
const GRADS = "ClapRlMlpGrads";

export interface MlpLayer {
  w: tf.Tensor;
  b: tf.Tensor;
}

interface MlpAttrs {
  act: Activation;
  activateInput: boolean;
  layers: number;
}

/** Which gradient a GRADS call computes: −1 for the input, j for layer j's weight. */
interface GradAttrs extends MlpAttrs {
  which: number;
}

type Named = Record<string, tf.TensorInfo>;

/** Kernel inputs name the layers' tensors w0, b0, w1, …: `named` builds such entries, `listed` reads them back. */
const named = <T>(prefix: string, xs: T[]): Record<string, T> => Object.fromEntries(xs.map((t, j) => [`${prefix}${j}`, t]));
const listed = <T>(inputs: Record<string, T>, prefix: string, L: number): T[] => Array.from({ length: L }, (_, j) => inputs[`${prefix}${j}`]);

function addon() {
  const lib = blasAddon();
  if (lib === null) throw new Error("fused MLP: the native addon is not available");
  return lib;
}

/** The sizes of a call on `rows` rows, from the weights w0, w1, … among the kernel's inputs. */
function dimsOf(rows: number, inputs: Named, a: MlpAttrs): { dims: MlpDims; ws: tf.TensorInfo[] } {
  const ws = listed(inputs, "w", a.layers);
  const widths = [ws[0].shape[0], ...ws.map((w) => w.shape[1])];
  return { dims: { rows, widths, act: a.act, activateInput: a.activateInput }, ws };
}

/** Elements of the forward's saved activations and of the backward's deltas (layouts in native/blas/index.d.ts). */
function extents(d: MlpDims): { saved: number; deltas: number } {
  let hidden = 0;
  for (let j = 1; j + 1 < d.widths.length; j++) hidden += d.widths[j];
  return { saved: d.rows * (hidden + (d.activateInput ? d.widths[0] : 0)), deltas: d.rows * hidden };
}

function view(wasm: BackendWasm, t: tf.TensorInfo): Float32Array {
  return wasm.typedArrayFromHeap(t) as Float32Array;
}

/** Inputs x, w0, b0, w1, b1, …; outputs y and the saved activations. */
const forwardKernel: tf.KernelFunc = ({ inputs, attrs, backend }) => {
  const a = attrs as unknown as MlpAttrs;
  const x = inputs.x as tf.TensorInfo;
  const { dims, ws } = dimsOf(x.shape[0], inputs as Named, a);
  const bs = listed(inputs as Named, "b", a.layers);
  const wasm = backend as BackendWasm;
  // Allocate first: malloc may grow the wasm memory, which detaches every view taken before it.
  const y = wasm.makeOutput([dims.rows, dims.widths[a.layers]], "float32");
  const saved = wasm.makeOutput([extents(dims).saved], "float32");
  const v = (t: tf.TensorInfo) => view(wasm, t);
  addon().mlpForward(dims, { x: v(x), w: ws.map(v), b: bs.map(v), y: v(y), saved: v(saved) });
  return [y, saved];
};

/** Inputs dy, saved, w0…; outputs the deltas and every bias gradient. */
const backwardKernel: tf.KernelFunc = ({ inputs, attrs, backend }) => {
  const a = attrs as unknown as MlpAttrs;
  const x = inputs as Named;
  const { dims, ws } = dimsOf(x.dy.shape[0], x, a);
  const wasm = backend as BackendWasm;
  const deltas = wasm.makeOutput([extents(dims).deltas], "float32");
  const db = ws.map((w) => wasm.makeOutput([w.shape[1]], "float32"));
  const v = (t: tf.TensorInfo) => view(wasm, t);
  addon().mlpBackward(dims, { w: ws.map(v), saved: v(x.saved), dy: v(x.dy), deltas: v(deltas), db: db.map(v) });
  return [deltas, ...db];
};

/** Inputs x, saved, dy, deltas, w0…; output dX or one dW_j (attrs.which). */
const gradsKernel: tf.KernelFunc = ({ inputs, attrs, backend }) => {
  const a = attrs as unknown as GradAttrs;
  const x = inputs as Named;
  const { dims, ws } = dimsOf(x.x.shape[0], x, a);
  const wasm = backend as BackendWasm;
  const out = wasm.makeOutput(a.which < 0 ? x.x.shape : ws[a.which].shape, "float32");
  const v = (t: tf.TensorInfo) => view(wasm, t);
  const dw: (Float32Array | null)[] = new Array(a.layers).fill(null);
  if (a.which >= 0) dw[a.which] = v(out);
  addon().mlpGrads(dims, {
    x: v(x.x),
    w0: v(ws[0]),
    saved: v(x.saved),
    dy: v(x.dy),
    deltas: v(x.deltas),
    dx: a.which < 0 ? v(out) : null,
    dw,
  });
  return out;
};

/**
 * The engine's entry point for an op with its own forward and backward functions (what tf.customGrad calls; private
 * in tfjs's typings). Used directly for two things customGrad lacks: the backward returns one closure per input, so
 * tfjs calls only those of inputs it did not prune, and the forward saves tensors that are not outputs. A registered
 * gradient can only save outputs, and tfjs hands every output that nothing downstream uses a zero-filled gradient
 * made in JS and copied to the heap: ≈ 0.35 ms per call for the saved activations of 512 rows × 256.
 */
interface CustomOpEngine {
  runKernelFunc(op: {
    forwardFunc: (backend: unknown, save: (tensors: tf.Tensor[]) => void) => tf.Tensor;
    backwardsFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => Record<string, () => tf.Tensor>;
    inputs: tf.NamedTensorMap;
  }): tf.Tensor;
}

/** The tape's backward for one call: the deltas now, each input's gradient when tfjs asks for it. */
function backward(dy: tf.Tensor, saved: tf.Tensor[], a: MlpAttrs): Record<string, () => tf.Tensor> {
  const L = a.layers;
  const [x, act, ...ws] = saved;
  const wIns = named("w", ws);
  // Outside the closures, so the deltas live until the backward pass's scope ends: tfjs runs each closure in its
  // own tidy scope, which would dispose them after the first. Unused bias gradients go with that scope.
  const [deltas, ...db] = tf.engine().runKernel(BACKWARD, { dy, saved: act, ...wIns }, a as unknown as tf.NamedAttrMap) as tf.Tensor[];
  const grad = (which: number) => () =>
    tf.engine().runKernel(GRADS, { x, saved: act, dy, deltas, ...wIns }, { ...a, which } as unknown as tf.NamedAttrMap) as tf.Tensor;
  const result: Record<string, () => tf.Tensor> = { x: grad(-1) };
  for (let j = 0; j < L; j++) {
    result[`w${j}`] = grad(j);
    result[`b${j}`] = () => db[j];
  }
  return result;
}

let installed = false;

/** Registers the three kernels (wasm backend). Idempotent. */
export function installFusedMlpKernels(): void {
  if (installed) return;
  installed = true;
  tf.registerKernel({ kernelName: FORWARD, backendName: "wasm", kernelFunc: forwardKernel });
  tf.registerKernel({ kernelName: BACKWARD, backendName: "wasm", kernelFunc: backwardKernel });
  tf.registerKernel({ kernelName: GRADS, backendName: "wasm", kernelFunc: gradsKernel });
}

function checkShape(name: string, t: tf.Tensor, want: number[]): void {
  if (t.dtype !== "float32") throw new Error(`fused MLP: '${name}' must be float32 (got ${t.dtype})`);
  if (t.shape.length !== want.length || t.shape.some((d, i) => d !== want[i])) {
    throw new Error(`fused MLP: '${name}' has shape [${t.shape}], expected [${want}]`);
  }
}

/**
 * y = layers applied to x, each after the first preceded by `act`, and the first too when `activateInput`
 * (MLP.applyFromFirst), as one tape node. Requires `fusedActive("mlp")`; throws a clear error on inconsistent shapes.
 */
export function mlpForward(x: tf.Tensor, layers: readonly MlpLayer[], act: Activation, activateInput = false): tf.Tensor2D {
  if (!fusedActive("mlp")) throw new Error("fused MLP: not active (needs the native addon; see blasStatus())");
  const L = layers.length;
  if (L < 1 || L > FUSED_MLP_MAX_LAYERS) throw new Error(`fused MLP: needs 1 to ${FUSED_MLP_MAX_LAYERS} layers (got ${L})`);
  const matrix = (name: string, t: tf.Tensor): number[] => {
    if (t.rank !== 2) throw new Error(`fused MLP: '${name}' must be a matrix (got shape [${t.shape}])`);
    return t.shape as number[];
  };
  const [rows, inDim] = matrix("x", x);
  checkShape("x", x, [rows, inDim]);
  let width = inDim;
  layers.forEach((l, j) => {
    const out = matrix(`layers[${j}].w`, l.w)[1];
    checkShape(`layers[${j}].w`, l.w, [width, out]);
    checkShape(`layers[${j}].b`, l.b, [out]);
    width = out;
  });
  const inputs: Record<string, tf.Tensor> = { x, ...named("w", layers.map((l) => l.w)), ...named("b", layers.map((l) => l.b)) };
  const attrs: MlpAttrs = { act, activateInput, layers: L };
  return (tf.engine() as unknown as CustomOpEngine).runKernelFunc({
    forwardFunc: (_, save) => {
      const [y, saved] = tf.engine().runKernel(FORWARD, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
      // A no-op unless a tape records this call; tfjs disposes `saved` itself (the op runs in a tidy scope).
      save([x, saved, ...layers.map((l) => l.w)]);
      return y;
    },
    backwardsFunc: (dy, saved) => backward(dy, saved, attrs),
    inputs,
  }) as tf.Tensor2D;
}
