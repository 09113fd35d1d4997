/**
 * Neural-network building blocks: Linear, MLP and the GRU cell (docs/design/engine.md §4.5).
 *
 * Parameters are tfjs Variables owned by a Module. Each Module names its parameters by path ("enc/l0/w"), and
 * `namedParams()` returns them in a fixed order for optimisers and checkpoints. tfjs's own variable names are left
 * automatic because tfjs requires them to be globally unique, which would forbid two agents in one process.
 * Initialisation is explicit and seeded: uniform U(−1/√fan_in, 1/√fan_in) (Equinox Linear default) or LeCun normal.
 */
import { tf } from "./tf.js";
import type { Rng } from "./rng.js";
import { FUSED_MLP_MAX_LAYERS, mlpForward } from "./fused-mlp.js";
import { fusedActive } from "./blas.js";

export type Activation = "selu" | "elu" | "relu" | "tanh" | "none";
export type InitScheme = "uniform" | "lecun";

export function activate(x: tf.Tensor, act: Activation): tf.Tensor {
  switch (act) {
    case "selu":
      return tf.selu(x);
    case "elu":
      return tf.elu(x);
    case "relu":
      return tf.relu(x);
    case "tanh":
      return tf.tanh(x);
    case "none":
      return x;
  }
}

export abstract class Module {
  private readonly own = new Map<string, tf.Variable>();
  private readonly children = new Map<string, Module>();

  protected param(name: string, value: tf.Tensor): tf.Variable {
    if (this.own.has(name) || this.children.has(name)) throw new Error(`duplicate parameter name '${name}'`);
    const v = tf.variable(value, true);
    value.dispose();
    this.own.set(name, v);
    return v;
  }

  protected child<M extends Module>(name: string, m: M): M {
    if (this.own.has(name) || this.children.has(name)) throw new Error(`duplicate module name '${name}'`);
    this.children.set(name, m);
    return m;
  }

  /** All parameters with path names, in construction order. */
  namedParams(prefix = ""): Map<string, tf.Variable> {
    const out = new Map<string, tf.Variable>();
    for (const [n, v] of this.own) out.set(prefix + n, v);
    for (const [n, c] of this.children) for (const [k, v] of c.namedParams(`${prefix}${n}/`)) out.set(k, v);
    return out;
  }

  params(): tf.Variable[] {
    return [...this.namedParams().values()];
  }

  numParams(): number {
    let n = 0;
    for (const v of this.params()) n += v.size;
    return n;
  }

  dispose(): void {
    for (const v of this.params()) v.dispose();
  }
}

function initMatrix(rng: Rng, fanIn: number, size: number, scheme: InitScheme): Float32Array {
  const out = new Float32Array(size);
  if (scheme === "uniform") {
    const bound = 1 / Math.sqrt(fanIn);
    for (let i = 0; i < size; i++) out[i] = rng.uniformRange(-bound, bound);
  } else {
    const std = 1 / Math.sqrt(fanIn);
    for (let i = 0; i < size; i++) out[i] = std * rng.normal();
  }
  return out;
}

export class Linear extends Module {
  readonly w: tf.Variable;
  readonly b: tf.Variable;

  constructor(
    readonly inDim: number,
    readonly outDim: number,
    rng: Rng,
    scheme: InitScheme = "uniform",
  ) {
    super();
    this.w = this.param("w", tf.tensor2d(initMatrix(rng, inDim, inDim * outDim, scheme), [inDim, outDim]));
    const bias = scheme === "uniform" ? initMatrix(rng, inDim, outDim, "uniform") : new Float32Array(outDim);
    this.b = this.param("b", tf.tensor1d(bias));
  }

  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.add(tf.matMul(x, this.w as tf.Tensor2D), this.b);
  }

  /**
   * Rows [from, from + n) of W. For an input that is a concatenation [x₀ | x₁], x·W + b = x₀·W₀ + (x₁·W₁ + b), so a
   * recurrence can compute the part of a loop-invariant block for all steps at once instead of concatenating inside
   * the loop.
   */
  rows(from: number, n: number): tf.Tensor2D {
    return tf.slice(this.w as tf.Tensor2D, [from, 0], [n, -1]);
  }
}

export interface MlpOptions {
  act?: Activation;
  init?: InitScheme;
}

/** Hidden layers with an activation, then a linear output layer (no activation on the output). */
export class MLP extends Module {
  private readonly layers: Linear[] = [];
  readonly act: Activation;

  constructor(
    readonly inDim: number,
    hidden: number[],
    readonly outDim: number,
    rng: Rng,
    opts: MlpOptions = {},
  ) {
    super();
    this.act = opts.act ?? "selu";
    const dims = [inDim, ...hidden, outDim];
    for (let i = 0; i + 1 < dims.length; i++) {
      this.layers.push(this.child(`l${i}`, new Linear(dims[i], dims[i + 1], rng, opts.init ?? "uniform")));
    }
  }

  apply(x: tf.Tensor2D): tf.Tensor2D {
    return this.run(x, this.layers, false);
  }

  get first(): Linear {
    return this.layers[0];
  }

  /** Every layer, first to last (what `apply` runs). */
  get linears(): readonly Linear[] {
    return this.layers;
  }

  /** The layers after the first, each preceded by the activation (what `applyFromFirst` runs). */
  get later(): readonly Linear[] {
    return this.layers.slice(1);
  }

  /** The rest of the network given the first layer's output x·W₀ + b₀ (computed by the caller, see Linear.rows). */
  applyFromFirst(pre: tf.Tensor2D): tf.Tensor2D {
    return this.run(pre, this.layers.slice(1), true);
  }

  /**
   * `layers` applied to x, with the activation before every layer but the first, and before the first too when
   * `activateInput`. The one place that picks the path: the fused native op (src/engine/fused-mlp.ts) when it is
   * active, else one tfjs kernel per matmul, bias add and activation.
   */
  private run(x: tf.Tensor2D, layers: readonly Linear[], activateInput: boolean): tf.Tensor2D {
    if (layers.length === 0) return x;
    if (fusedActive("mlp") && layers.length <= FUSED_MLP_MAX_LAYERS) return mlpForward(x, layers, this.act, activateInput);
    let h = x;
    layers.forEach((l, i) => {
      h = l.apply((i > 0 || activateInput ? activate(h, this.act) : h) as tf.Tensor2D);
    });
    return h;
  }
}

/**
 * GRU cell, PyTorch/Equinox convention:
 *   r = σ(W_ir x + b_ir + W_hr h),  z = σ(W_iz x + b_iz + W_hz h),
 *   n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)),  h' = (1 − z) ⊙ n + z ⊙ h.
 * The three input projections are one matmul and the three recurrent projections another.
 */
export class GRUCell extends Module {
  readonly wi: tf.Variable;
  readonly bi: tf.Variable;
  readonly wh: tf.Variable;
  readonly bhn: tf.Variable;

  constructor(
    readonly inDim: number,
    readonly hidden: number,
    rng: Rng,
  ) {
    super();
    const H = hidden;
    // PyTorch initialises every GRU weight and bias with U(−1/√H, 1/√H).
    this.wi = this.param("wi", tf.tensor2d(initMatrix(rng, H, inDim * 3 * H, "uniform"), [inDim, 3 * H]));
    this.bi = this.param("bi", tf.tensor1d(initMatrix(rng, H, 3 * H, "uniform")));
    this.wh = this.param("wh", tf.tensor2d(initMatrix(rng, H, H * 3 * H, "uniform"), [H, 3 * H]));
    this.bhn = this.param("bhn", tf.tensor1d(initMatrix(rng, H, H, "uniform")));
  }

  apply(x: tf.Tensor2D, h: tf.Tensor2D): tf.Tensor2D {
    return gruCell(x, h, this.wi, this.bi, this.wh, this.bhn);
  }
}

/** The GRU update as a pure function of its inputs and weights (wi [in,3H], bi [3H], wh [H,3H], bhn [H]). */
export function gruCell(x: tf.Tensor, h: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor, wh: tf.Tensor, bhn: tf.Tensor): tf.Tensor2D {
  const gi = tf.add(tf.matMul(x as tf.Tensor2D, wi as tf.Tensor2D), bi);
  const gh = tf.matMul(h as tf.Tensor2D, wh as tf.Tensor2D);
  const [ir, iz, inn] = tf.split(gi, 3, 1);
  const [hr, hz, hn] = tf.split(gh, 3, 1);
  const r = tf.sigmoid(tf.add(ir, hr));
  const z = tf.sigmoid(tf.add(iz, hz));
  const n = tf.tanh(tf.add(inn, tf.mul(r, tf.add(hn, bhn))));
  // h' = n + z ⊙ (h − n): one fewer elementwise op than (1 − z) ⊙ n + z ⊙ h.
  return tf.add(n, tf.mul(z, tf.sub(h, n))) as tf.Tensor2D;
}
