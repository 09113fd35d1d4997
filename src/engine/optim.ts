/**
 * Adam with global-norm gradient clipping and saveable state (docs/design/engine.md §4.5).
 *
 * Written here rather than using tf.train.adam because a checkpoint must restore the moment estimates and step
 * count exactly (resume equivalence), and tfjs's optimiser exposes its slots only through async weight lists with
 * tfjs-generated names; here the state is keyed by the module's parameter paths.
 */
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { tf } from "./tf.js";
import { adamStepAll, nativeElementwiseActive } from "./native-elementwise.js";

export interface AdamOptions {
  lr: number;
  eps?: number;
  beta1?: number;
  beta2?: number;
  /** Global-norm clip; 0 or undefined disables clipping. */
  clip?: number;
}

export interface AdamState {
  step: number;
  m: Record<string, Float32Array>;
  v: Record<string, Float32Array>;
}

export interface StepResult {
  loss: number;
  gradNorm: number;
  terms: Record<string, number>;
}

/**
 * Scales gradients by min(1, c / ‖g‖) where ‖g‖ is the norm over all tensors together. Returns the clipped
 * gradients and the unclipped norm.
 */
export function clipByGlobalNorm(grads: tf.Tensor[], clip: number): { grads: tf.Tensor[]; norm: tf.Scalar } {
  const { norm, scale } = globalNormScale(grads, clip);
  return { grads: grads.map((g) => tf.mul(g, scale)), norm };
}

/** The unclipped global norm and the factor min(1, c / ‖g‖) (1 when clipping is off). */
function globalNormScale(grads: tf.Tensor[], clip: number): { norm: tf.Scalar; scale: tf.Scalar } {
  const norm = tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g))))) as tf.Scalar;
  const scale = (clip > 0 ? tf.minimum(1, tf.div(clip, tf.add(norm, 1e-6))) : tf.scalar(1)) as tf.Scalar;
  return { norm, scale };
}

const ADAM_KERNEL = "ClapRlAdam";

interface AdamAttrs {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
}

/**
 * The Adam update of one parameter as a single kernel: inputs p, m, v, g and the clip factor c; outputs p', m', v'
 * with g ← c·g, m' = β₁m + (1 − β₁)g, v' = β₂v + (1 − β₂)g², p' = p − lr·m' / (√v' + ε). Written by hand because
 * tfjs composes it from ≈ 12 elementwise kernels per parameter, plus a clip multiply and scalar uploads: on the
 * C-LAP model step (60 parameter tensors) that was ≈ 850 dispatches, each costing more than the arithmetic. The loop
 * runs in JS on views of the wasm heap, so nothing is copied. Registered on first use (the wasm backend must be
 * active).
 */
function adamKernel(): void {
  if (tf.getKernel(ADAM_KERNEL, "wasm")) return;
  tf.registerKernel({
    kernelName: ADAM_KERNEL,
    backendName: "wasm",
    kernelFunc: ({ inputs, attrs, backend }) => {
      const wasm = backend as BackendWasm;
      const { p, m, v, g, c } = inputs as Record<"p" | "m" | "v" | "g" | "c", tf.TensorInfo>;
      const { lr, beta1, beta2, eps } = attrs as unknown as AdamAttrs;
      // Allocate first: malloc may grow the wasm memory, which detaches views taken before it.
      const outs = [p, m, v].map((t) => wasm.makeOutput(t.shape, "float32"));
      const view = (t: tf.TensorInfo) => wasm.typedArrayFromHeap(t) as Float32Array;
      const [pv, mv, vv, gv] = [p, m, v, g].map(view);
      const [po, mo, vo] = outs.map(view);
      const scale = view(c)[0];
      for (let i = 0; i < po.length; i++) {
        const gi = gv[i] * scale;
        const mi = beta1 * mv[i] + (1 - beta1) * gi;
        const vi = beta2 * vv[i] + (1 - beta2) * gi * gi;
        mo[i] = mi;
        vo[i] = vi;
        po[i] = pv[i] - (lr * mi) / (Math.sqrt(vi) + eps);
      }
      return outs;
    },
  });
}

export class Adam {
  private readonly names: string[];
  private readonly vars: tf.Variable[];
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];
  private step = 0;
  readonly lr: number;
  readonly eps: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly clip: number;

  constructor(params: Map<string, tf.Variable>, opts: AdamOptions) {
    this.names = [...params.keys()];
    this.vars = [...params.values()];
    // tidy disposes the zerosLike temporaries (a Variable keeps its own reference to the data).
    this.m = this.vars.map((p) => tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
    this.v = this.vars.map((p) => tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
    this.lr = opts.lr;
    this.eps = opts.eps ?? 1e-5;
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.clip = opts.clip ?? 0;
  }

  get steps(): number {
    return this.step;
  }

  /**
   * Differentiates `lossFn` with respect to this optimiser's parameters only (everything else acts as a constant,
   * which is how a frozen model is used), clips, and applies one Adam update. `terms` are extra scalars for logging.
   */
  minimize(lossFn: () => { loss: tf.Scalar; terms?: Record<string, tf.Scalar> }): StepResult {
    return this.minimizeSum(1, lossFn);
  }

  /**
   * One Adam update for a loss that is the sum of `parts` losses, each evaluated under its own tape so that peak
   * memory is one part's tape (gradient accumulation). Gradients and logged terms are summed over the parts, then
   * clipped and applied once. With one part this is exactly `minimize`.
   */
  minimizeSum(parts: number, lossFn: (part: number) => { loss: tf.Scalar; terms?: Record<string, tf.Scalar> }): StepResult {
    let termNames: string[] = [];
    let grads: tf.Tensor[] | null = null;
    let sums: tf.Tensor | null = null;
    for (let k = 0; k < parts; k++) {
      let termTensors: tf.Scalar[] = [];
      const prevGrads: tf.Tensor[] | null = grads;
      const prevSums: tf.Tensor | null = sums;
      const next: { g: tf.Tensor[]; s: tf.Tensor } = tf.tidy(() => {
        const { value, grads: g } = tf.variableGrads(() => {
          const r = lossFn(k);
          termNames = Object.keys(r.terms ?? {});
          termTensors = termNames.map((n) => tf.keep(r.terms![n]));
          return r.loss;
        }, this.vars);
        const list = this.vars.map((p) => g[p.name] ?? tf.zerosLike(p));
        const s = tf.stack([value, ...termTensors]);
        return { g: prevGrads ? list.map((x, i) => tf.add(prevGrads[i], x)) : list, s: prevSums ? tf.add(prevSums, s) : s };
      });
      tf.dispose(termTensors);
      if (prevGrads) tf.dispose(prevGrads);
      if (prevSums) prevSums.dispose();
      grads = next.g;
      sums = next.s;
    }
    if (!grads || !sums) throw new Error("minimizeSum: parts must be at least 1");
    const total = sums;
    const accumulated = grads;
    const out = tf.tidy(() => {
      const norm = this.apply(accumulated);
      return tf.concat([tf.slice(total, [0], [1]), tf.reshape(norm, [1]), tf.slice(total, [1])]);
    });
    const values = out.dataSync();
    tf.dispose([out, total, ...accumulated]);
    const terms: Record<string, number> = {};
    termNames.forEach((n, i) => (terms[n] = values[2 + i]));
    return { loss: values[0], gradNorm: values[1], terms };
  }

  /**
   * One clipped Adam step with `grads`; returns the unclipped global norm. On the native path (see
   * native-elementwise.ts) the norm, the clip and every parameter's update are one kernel; otherwise the norm comes
   * from tfjs ops and each parameter gets its own JS kernel. The two agree to float32 rounding; each is
   * deterministic, so a resumed run continues bitwise on the path it ran on.
   */
  private apply(grads: tf.Tensor[]): tf.Scalar {
    this.step += 1;
    const b1 = this.beta1;
    const b2 = this.beta2;
    // Bias correction folded into the step size; eps scaled to match the textbook form eps/(√v̂ + eps).
    const attrs: AdamAttrs = {
      lr: (this.lr * Math.sqrt(1 - b2 ** this.step)) / (1 - b1 ** this.step),
      beta1: b1,
      beta2: b2,
      eps: this.eps * Math.sqrt(1 - b2 ** this.step),
    };
    if (nativeElementwiseActive()) {
      const next = adamStepAll(this.vars, this.m, this.v, grads, { ...attrs, clip: this.clip });
      for (let i = 0; i < this.vars.length; i++) {
        this.m[i].assign(next.m[i]);
        this.v[i].assign(next.v[i]);
        this.vars[i].assign(next.p[i]);
      }
      return next.norm;
    }
    adamKernel();
    const { norm, scale } = globalNormScale(grads, this.clip);
    for (let i = 0; i < this.vars.length; i++) {
      const inputs = { p: this.vars[i], m: this.m[i], v: this.v[i], g: grads[i], c: scale };
      const [p, m, v] = tf.engine().runKernel(ADAM_KERNEL, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
      this.m[i].assign(m);
      this.v[i].assign(v);
      this.vars[i].assign(p);
    }
    return norm;
  }

  getState(): AdamState {
    const m: Record<string, Float32Array> = {};
    const v: Record<string, Float32Array> = {};
    this.names.forEach((n, i) => {
      m[n] = this.m[i].dataSync() as Float32Array;
      v[n] = this.v[i].dataSync() as Float32Array;
    });
    return { step: this.step, m, v };
  }

  setState(state: AdamState): void {
    this.names.forEach((n, i) => {
      for (const [slot, vars] of [
        ["m", this.m],
        ["v", this.v],
      ] as const) {
        const data = state[slot][n];
        if (!data) throw new Error(`optimiser state has no '${slot}' entry for parameter '${n}'`);
        if (data.length !== vars[i].size) {
          throw new Error(`optimiser state '${slot}/${n}' has ${data.length} values, expected ${vars[i].size}`);
        }
        tf.tidy(() => vars[i].assign(tf.tensor(data, vars[i].shape)));
      }
    });
    this.step = state.step;
  }

  dispose(): void {
    for (const t of [...this.m, ...this.v]) t.dispose();
  }
}
