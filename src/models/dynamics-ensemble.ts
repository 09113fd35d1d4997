/**
 * The probabilistic dynamics ensemble of MOPO and MOBILE (docs/design/method.md §17.2, §17.3): E Gaussian MLPs, each
 * predicting a diagonal Gaussian over y = [Δobservation | reward] from x = [observation | action].
 *
 * - All members are one set of batched matmuls: layer l holds W [E, in, out] and b [E, 1, out], and a forward pass
 *   maps [E, B, in] to [E, B, out] (the native BatchMatMul kernel runs each member's product as one sgemm).
 * - Swish hidden layers; the output layer gives the mean and the log-variance of y.
 * - Learned log-variance bounds, shared by the members: logvar = max − softplus(max − raw), then
 *   min + softplus(logvar − min), with 0.01 · (Σ max − Σ min) added to the loss so the bounds tighten around the
 *   data (the PETS/MBPO recipe MOPO's code inherits). The bounds are soft: the lower clamp can lift a value above max
 *   by log(1 + e^−(max − min)), ≈ 3e-5 at the initial bounds (0.5, −10).
 * - Inputs and targets are standardised with the training data's mean and std (`setStats`), so every target
 *   dimension weighs the same in the likelihood; means and stds are mapped back to raw units on the way out.
 * - Loss per member: mean over rows and dimensions of (μ − y)² e^{−logvar} + logvar, summed over members, plus
 *   weight decay ½ Σ_l wd_l ‖W_l‖² per layer.
 *
 * Holdout selection (which snapshot of each member to keep, which members are elites) is `EnsembleSelection` below.
 */
import { tf } from "../engine/tf.js";
import { Module } from "../engine/nn.js";
import type { Rng } from "../engine/rng.js";
import type { NamedArray } from "../engine/serialize.js";

export interface EnsembleDims {
  obsDim: number;
  actDim: number;
}

export interface EnsembleOptions {
  members: number;
  elites: number;
  hidden: number[];
  /** One weight-decay coefficient per layer (hidden layers, then the output layer). */
  weightDecay: number[];
  /** Coefficient of the log-variance bound term (Σ max − Σ min). */
  logVarBoundCoef: number;
}

/** Standardisation of inputs x = [obs | act] and targets y = [Δobs | reward]. */
export interface EnsembleStats {
  inMean: Float32Array;
  inStd: Float32Array;
  outMean: Float32Array;
  outStd: Float32Array;
}

/** Per-member predictions in raw units: mean and std of [Δobs | reward], each [E, B, obsDim + 1]. */
export interface EnsemblePrediction {
  mean: tf.Tensor3D;
  std: tf.Tensor3D;
}

const swish = (x: tf.Tensor): tf.Tensor => tf.mul(x, tf.sigmoid(x));

/** Mean and std of the columns of a row-major [n, d] matrix; a constant column gets std 1 (it carries nothing). */
export function columnStats(data: Float32Array, d: number): { mean: Float32Array; std: Float32Array } {
  const n = data.length / d;
  const mean = new Float64Array(d);
  const sq = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += data[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const c = data[i * d + j] - mean[j];
      sq[j] += c * c;
    }
  }
  const std = Float32Array.from(sq, (s) => {
    const v = Math.sqrt(s / n);
    return v > 1e-12 ? v : 1;
  });
  return { mean: Float32Array.from(mean), std };
}

export class DynamicsEnsemble extends Module {
  readonly inDim: number;
  readonly outDim: number;
  private readonly layers: { w: tf.Variable; b: tf.Variable }[] = [];
  readonly maxLogVar: tf.Variable;
  readonly minLogVar: tf.Variable;
  /** Standardisation constants; not trained, saved with the parameters (they are part of what the model computes). */
  private readonly inMean: tf.Variable;
  private readonly inStd: tf.Variable;
  private readonly outMean: tf.Variable;
  private readonly outStd: tf.Variable;
  /** 1 for the elite members (all members until a selection sets them); a parameter so that checkpoints keep it. */
  private readonly eliteMask: tf.Variable;

  constructor(
    readonly dims: EnsembleDims,
    readonly opts: EnsembleOptions,
    rng: Rng,
  ) {
    super();
    const E = opts.members;
    if (!(Number.isInteger(E) && E >= 1)) throw new Error(`DynamicsEnsemble: members must be a positive integer, got ${E}`);
    if (!(Number.isInteger(opts.elites) && opts.elites >= 1 && opts.elites <= E)) throw new Error(`DynamicsEnsemble: elites must be in [1, ${E}], got ${opts.elites}`);
    if (opts.weightDecay.length !== opts.hidden.length + 1) {
      throw new Error(`DynamicsEnsemble: weightDecay needs ${opts.hidden.length + 1} entries (hidden layers, then output), got ${opts.weightDecay.length}`);
    }
    this.inDim = dims.obsDim + dims.actDim;
    this.outDim = dims.obsDim + 1;
    const sizes = [this.inDim, ...opts.hidden, 2 * this.outDim];
    for (let l = 0; l + 1 < sizes.length; l++) {
      const [fanIn, fanOut] = [sizes[l], sizes[l + 1]];
      // Truncated-normal-free variant of the usual 1/(2√fan_in) std init of these models, drawn per member.
      const std = 1 / (2 * Math.sqrt(fanIn));
      const w = new Float32Array(E * fanIn * fanOut);
      for (let i = 0; i < w.length; i++) w[i] = std * rng.normal();
      this.layers.push({
        w: this.param(`l${l}/w`, tf.tensor3d(w, [E, fanIn, fanOut])),
        b: this.param(`l${l}/b`, tf.zeros([E, 1, fanOut])),
      });
    }
    this.maxLogVar = this.param("maxLogVar", tf.fill([1, 1, this.outDim], 0.5));
    this.minLogVar = this.param("minLogVar", tf.fill([1, 1, this.outDim], -10));
    this.inMean = this.param("stats/inMean", tf.zeros([this.inDim]));
    this.inStd = this.param("stats/inStd", tf.ones([this.inDim]));
    this.outMean = this.param("stats/outMean", tf.zeros([this.outDim]));
    this.outStd = this.param("stats/outStd", tf.ones([this.outDim]));
    this.eliteMask = this.param("eliteMask", tf.ones([E]));
  }

  /** Indices of the elite members, ascending. */
  get elites(): number[] {
    return Array.from(this.eliteMask.dataSync()).flatMap((m, i) => (m > 0 ? [i] : []));
  }

  set elites(ids: number[]) {
    const E = this.opts.members;
    if (ids.length === 0 || ids.some((i) => !(Number.isInteger(i) && i >= 0 && i < E))) throw new Error(`elites must be member indices in [0, ${E}), got [${ids}]`);
    this.eliteMask.assign(tf.tensor1d(Array.from({ length: E }, (_, i) => (ids.includes(i) ? 1 : 0))));
  }

  /** The parameters an optimiser trains (the standardisation constants and the elite mask excluded). */
  trainableParams(): Map<string, tf.Variable> {
    return new Map([...this.namedParams()].filter(([name]) => !name.startsWith("stats/") && name !== "eliteMask"));
  }

  setStats(s: EnsembleStats): void {
    this.inMean.assign(tf.tensor1d(s.inMean));
    this.inStd.assign(tf.tensor1d(s.inStd));
    this.outMean.assign(tf.tensor1d(s.outMean));
    this.outStd.assign(tf.tensor1d(s.outStd));
  }

  /** Standardised mean and bounded log-variance of every member: x [E, B, in] raw → each [E, B, outDim]. */
  forward(x: tf.Tensor3D): { mean: tf.Tensor3D; logVar: tf.Tensor3D } {
    return tf.tidy(() => {
      let h: tf.Tensor = tf.div(tf.sub(x, this.inMean), this.inStd);
      this.layers.forEach(({ w, b }, l) => {
        h = tf.add(tf.matMul(h as tf.Tensor3D, w as tf.Tensor3D), b);
        if (l + 1 < this.layers.length) h = swish(h);
      });
      const [mean, raw] = tf.split(h, 2, 2);
      const upper = tf.sub(this.maxLogVar, tf.softplus(tf.sub(this.maxLogVar, raw)));
      const logVar = tf.add(this.minLogVar, tf.softplus(tf.sub(upper, this.minLogVar)));
      return { mean: mean as tf.Tensor3D, logVar: logVar as tf.Tensor3D };
    });
  }

  /** Targets y [E, B, outDim] raw → standardised. */
  private standardise(y: tf.Tensor3D): tf.Tensor3D {
    return tf.div(tf.sub(y, this.outMean), this.outStd) as tf.Tensor3D;
  }

  /**
   * The training loss on one batch per member (x [E, B, in], y [E, B, outDim], raw units); `nll` (summed over members)
   * is logged beside it.
   */
  loss(x: tf.Tensor3D, y: tf.Tensor3D): { loss: tf.Scalar; terms: { nll: tf.Scalar } } {
    return tf.tidy(() => {
      const { mean, logVar } = this.forward(x);
      const err = tf.square(tf.sub(mean, this.standardise(y)));
      const perMember = tf.mean(tf.add(tf.mul(err, tf.exp(tf.neg(logVar))), logVar), [1, 2]);
      const nll = tf.sum(perMember) as tf.Scalar;
      const bound = tf.mul(this.opts.logVarBoundCoef, tf.sub(tf.sum(this.maxLogVar), tf.sum(this.minLogVar)));
      const decay = this.layers.map(({ w }, l) => tf.mul(0.5 * this.opts.weightDecay[l], tf.sum(tf.square(w))));
      const loss = tf.addN([nll, bound, ...decay]) as tf.Scalar;
      return { loss, terms: { nll } };
    });
  }

  /** Mean squared error of each member's mean on held-out rows (standardised units): x [N, in], y [N, outDim] → [E]. */
  holdoutMse(x: tf.Tensor2D, y: tf.Tensor2D): Float32Array {
    const t = tf.tidy(() => {
      const E = this.opts.members;
      const tile = (a: tf.Tensor2D) => tf.tile(tf.expandDims(a, 0), [E, 1, 1]) as tf.Tensor3D;
      const { mean } = this.forward(tile(x));
      return tf.mean(tf.square(tf.sub(mean, this.standardise(tile(y)))), [1, 2]);
    });
    const out = t.dataSync() as Float32Array;
    t.dispose();
    return Float32Array.from(out);
  }

  /** Every member's Gaussian over [Δobs | reward] in raw units for the same rows: obs [B, obsDim], act [B, actDim]. */
  predict(obs: tf.Tensor2D, act: tf.Tensor2D): EnsemblePrediction {
    return tf.tidy(() => {
      const x = tf.tile(tf.expandDims(tf.concat([obs, act], 1), 0), [this.opts.members, 1, 1]) as tf.Tensor3D;
      const { mean, logVar } = this.forward(x);
      return {
        mean: tf.add(tf.mul(mean, this.outStd), this.outMean) as tf.Tensor3D,
        std: tf.mul(tf.exp(tf.mul(logVar, 0.5)), this.outStd) as tf.Tensor3D,
      };
    });
  }

  /**
   * Next observations sampled from the elites (MOBILE's `num_samples` draws, docs/design/method.md §17.3):
   * [samples, elites, B, obsDim], row-major, next = obs + Δ with Δ ~ N(μ_i, σ_i²) from `rng`.
   */
  sampleNext(obs: tf.Tensor2D, act: tf.Tensor2D, samples: number, rng: Rng): Float32Array {
    const { mean, std } = this.predict(obs, act);
    const m = mean.dataSync() as Float32Array;
    const sd = std.dataSync() as Float32Array;
    const o = obs.dataSync() as Float32Array;
    tf.dispose([mean, std]);
    const B = obs.shape[0];
    const d = this.dims.obsDim;
    const w = this.outDim;
    const out = new Float32Array(samples * this.elites.length * B * d);
    const elites = this.elites;
    let k = 0;
    for (let s = 0; s < samples; s++) {
      for (const e of elites) {
        for (let b = 0; b < B; b++) {
          const at = (e * B + b) * w;
          for (let j = 0; j < d; j++) out[k++] = o[b * d + j] + m[at + j] + sd[at + j] * rng.normal();
        }
      }
    }
    return out;
  }

  /** Member i's slice of every parameter (for snapshots): name → values. */
  memberArrays(i: number): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    this.layers.forEach(({ w, b }, l) => {
      for (const [name, v] of [
        [`l${l}/w`, w],
        [`l${l}/b`, b],
      ] as const) {
        const per = v.size / this.opts.members;
        out.set(name, (v.dataSync() as Float32Array).slice(i * per, (i + 1) * per));
      }
    });
    return out;
  }

  /** Writes member i's slice of every layer (from `memberArrays`). */
  setMemberArrays(i: number, arrays: Map<string, Float32Array>): void {
    this.layers.forEach(({ w, b }, l) => {
      for (const [name, v] of [
        [`l${l}/w`, w],
        [`l${l}/b`, b],
      ] as const) {
        const src = arrays.get(name);
        const per = v.size / this.opts.members;
        if (!src || src.length !== per) throw new Error(`setMemberArrays: '${name}' must hold ${per} values`);
        const all = Float32Array.from(v.dataSync() as Float32Array);
        all.set(src, i * per);
        v.assign(tf.tensor(all, v.shape));
      }
    });
  }
}

/**
 * Holdout selection while an ensemble trains (docs/design/method.md §17.2): after each epoch, a member whose holdout
 * error improved on its best by more than `minImprovement` (relative) is snapshotted; training stops once no member
 * has improved for `patience` epochs. `finish` restores every member's best snapshot and makes the `elites` members
 * with the lowest best errors the elites.
 */
export class EnsembleSelection {
  private readonly best: Float64Array;
  private readonly snapshots: (Map<string, Float32Array> | null)[];
  private sinceImproved = 0;

  constructor(
    private readonly ensemble: DynamicsEnsemble,
    private readonly patience = 5,
    private readonly minImprovement = 0.01,
  ) {
    this.best = new Float64Array(ensemble.opts.members).fill(Infinity);
    this.snapshots = new Array(ensemble.opts.members).fill(null);
  }

  /** Records one epoch's holdout errors; true when training should stop. */
  update(holdout: Float32Array): boolean {
    let improved = false;
    holdout.forEach((e, i) => {
      if ((this.best[i] - e) / this.best[i] > this.minImprovement || this.best[i] === Infinity) {
        this.best[i] = e;
        this.snapshots[i] = this.ensemble.memberArrays(i);
        improved = true;
      }
    });
    this.sinceImproved = improved ? 0 : this.sinceImproved + 1;
    return this.sinceImproved >= this.patience;
  }

  /** The selection's state as named arrays (a checkpoint's, for an exact resume mid-training). */
  toArrays(): Map<string, NamedArray> {
    const out = new Map<string, NamedArray>();
    out.set("best", { shape: [this.best.length], data: Float32Array.from(this.best) });
    out.set("sinceImproved", { shape: [1], data: Float32Array.of(this.sinceImproved) });
    this.snapshots.forEach((snap, i) => {
      for (const [name, data] of snap ?? []) out.set(`member${i}/${name}`, { shape: [data.length], data });
    });
    return out;
  }

  /** Restores `toArrays()`'s state. */
  setArrays(arrays: Map<string, NamedArray>): void {
    const best = arrays.get("best");
    const since = arrays.get("sinceImproved");
    if (!best || best.data.length !== this.best.length || !since) throw new Error("ensemble selection state: missing or wrong-sized 'best' / 'sinceImproved'");
    this.best.set(best.data);
    this.sinceImproved = since.data[0];
    this.snapshots.forEach((_, i) => {
      const prefix = `member${i}/`;
      const snap = new Map([...arrays].filter(([k]) => k.startsWith(prefix)).map(([k, a]) => [k.slice(prefix.length), a.data]));
      this.snapshots[i] = snap.size > 0 ? snap : null;
    });
  }

  /** Restores the best snapshots, sets the elites, and returns each member's best holdout error and the elites. */
  finish(): { holdout: number[]; elites: number[] } {
    this.snapshots.forEach((s, i) => {
      if (s) this.ensemble.setMemberArrays(i, s);
    });
    const order = Array.from(this.best.keys()).sort((a, b) => this.best[a] - this.best[b]);
    this.ensemble.elites = order.slice(0, this.ensemble.opts.elites);
    return { holdout: Array.from(this.best), elites: this.ensemble.elites };
  }
}
