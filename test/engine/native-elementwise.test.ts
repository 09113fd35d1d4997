import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { initEngine, liveTensors, tf } from "../../src/engine/tf.js";
import { blasAddon, blasAvailable, blasStatus, configureBlasFromEnv, disableBlas, enableBlas, setFused } from "../../src/engine/blas.js";
import { nativeElementwiseActive } from "../../src/engine/native-elementwise.js";
import { Adam } from "../../src/engine/optim.js";
import { MLP } from "../../src/engine/nn.js";
import { Rng } from "../../src/engine/rng.js";
import { clapPreset as presetConfig, resolveClapConfig as resolveConfig } from "../../src/algorithms/clap/config.js";
import { WindowSampler } from "../../src/data/windows.js";
import { LatentActionModel } from "../../src/models/latent-action-model.js";
import { ACT_DIM, OBS_DIM, makeStore } from "../method/synthetic.js";
import { gradError } from "../helpers/gradcheck.js";

// Evaluated at load time so tests can declare their skip reason; loading the addon needs no engine.
const noAddon = blasAvailable() ? false : `native addon not built: ${blasStatus().reason}`;

before(async () => {
  await initEngine();
});

after(() => configureBlasFromEnv({}));

const S = 1.0507009873554805;
const SA = 1.7580993408473768;
const seluRef = (x: number) => (x > 0 ? S * x : SA * Math.expm1(x));

/** The spacing of float32 numbers at |v| (the gap above it). */
function ulp(v: number): number {
  const a = Math.fround(Math.abs(v));
  if (a === 0 || !Number.isFinite(a)) return 2 ** -149;
  return 2 ** (Math.max(Math.floor(Math.log2(a)), -126) - 23);
}

/** Every `stride`-th float32 from `lo` up to `hi` (same sign), by bit pattern; a cheap stand-in for all of them. */
function floatsBetween(lo: number, hi: number, stride: number): number[] {
  const f = new Float32Array(1);
  const bits = new Uint32Array(f.buffer);
  const out: number[] = [];
  f[0] = Math.abs(lo) < Math.abs(hi) ? lo : hi;
  const end = Math.abs(lo) < Math.abs(hi) ? hi : lo;
  for (let b = bits[0]; ; b += stride) {
    bits[0] = b;
    if (Math.abs(f[0]) > Math.abs(end)) break;
    out.push(f[0]);
  }
  return out;
}

const SPECIAL = [-Infinity, -3.4e38, -1e10, -100, -87.5, -87, -50, -20.5, -17, 0, -0, 1e-45, -1e-45, 1e-30, -1e-30, 1e-7, -1e-7, 3e38, Infinity];
/** Special values, a dense sweep of [−20, 20] and a denser one of [−1e-3, 1e-3]. */
const GRID = Float32Array.from([
  ...SPECIAL,
  ...floatsBetween(-0, -20, 4999),
  ...floatsBetween(0, 20, 4999),
  ...floatsBetween(-1e-3, -1e-30, 2999),
  ...floatsBetween(1e-30, 1e-3, 2999),
]);

/** The values of the tensor `f` builds, disposing it and its intermediates. (Returning the values from tf.tidy
 * would make it walk a typed array of millions of entries one by one.) */
function values(f: () => tf.Tensor): Float32Array {
  const t = tf.tidy(f);
  const v = t.dataSync() as Float32Array;
  t.dispose();
  return v;
}

/** Runs a unary tfjs op on GRID (plus a NaN) through whatever kernel is registered now. */
function viaKernel(op: (x: tf.Tensor) => tf.Tensor): { x: Float32Array; y: Float32Array } {
  const x = Float32Array.from([...GRID, NaN]);
  const y = values(() => op(tf.tensor1d(x)));
  return { x, y };
}

interface ErrStats {
  /** Max error in float32 ulps of the reference over x ≥ −10. */
  ulps: number;
  /** The same over x < −10, −∞ included. */
  ulpsFar: number;
  /** Max absolute error over |x| < 1e-3. */
  absNear0: number;
}

function errors(x: Float32Array, y: Float32Array, ref: (v: number) => number): ErrStats {
  const e: ErrStats = { ulps: 0, ulpsFar: 0, absNear0: 0 };
  for (let i = 0; i < x.length; i++) {
    if (Number.isNaN(x[i])) {
      assert.ok(Number.isNaN(y[i]), "NaN propagates");
      continue;
    }
    const r = ref(x[i]);
    if (r === Infinity || r === -Infinity) {
      assert.equal(y[i], r, `f(${x[i]})`);
      continue;
    }
    const d = Math.abs(y[i] - r);
    if (x[i] >= -10) e.ulps = Math.max(e.ulps, d / ulp(r));
    else e.ulpsFar = Math.max(e.ulpsFar, d / ulp(r));
    if (Math.abs(x[i]) < 1e-3) e.absNear0 = Math.max(e.absNear0, d);
  }
  return e;
}

test("native SELU is within 2 ulp of float64 SELU for x ≥ −10, exact to 1e-7 near 0, and propagates NaN", { skip: noAddon }, (t) => {
  assert.ok(enableBlas());
  const { x, y } = viaKernel(tf.selu);
  const e = errors(x, y, seluRef);
  t.diagnostic(`SELU: ${e.ulps.toFixed(2)} ulp (x ≥ −10), ${e.ulpsFar.toFixed(2)} ulp (x < −10), ${e.absNear0.toExponential(1)} abs (|x| < 1e-3)`);
  assert.ok(e.ulps <= 2 && e.ulpsFar <= 2, `max error ${e.ulps} ulp (x ≥ −10), ${e.ulpsFar} ulp (x < −10)`);
  assert.ok(e.absNear0 <= 1e-7, `max error near 0: ${e.absNear0}`);
  assert.equal(y[SPECIAL.indexOf(-Infinity)], Math.fround(-SA));
  assert.equal(y[SPECIAL.indexOf(Infinity)], Infinity);
  // The stock wasm kernel computes eˣ − 1 in float32, which cancels near 0: this is how we know ours ran.
  disableBlas("test: stock kernel");
  const stock = viaKernel(tf.selu);
  assert.ok(errors(stock.x, stock.y, seluRef).ulps > 1000, "the stock kernel is back and inaccurate near 0");
  assert.ok(enableBlas());
});

test("native tanh is within 2.5 ulp of float64 tanh, odd, saturating, and propagates NaN", { skip: noAddon }, (t) => {
  assert.ok(enableBlas());
  const { x, y } = viaKernel(tf.tanh);
  const e = errors(x, y, Math.tanh);
  t.diagnostic(`tanh: ${e.ulps.toFixed(2)} ulp (x ≥ −10), ${e.ulpsFar.toFixed(2)} ulp (x < −10), ${e.absNear0.toExponential(1)} abs (|x| < 1e-3)`);
  assert.ok(e.ulps <= 2.5 && e.ulpsFar <= 1, `max error ${e.ulps} ulp (x ≥ −10), ${e.ulpsFar} ulp (x < −10)`);
  assert.ok(e.absNear0 <= 1e-9, `max error near 0: ${e.absNear0}`);
  const neg = values(() => tf.tanh(tf.neg(tf.tensor1d(x))));
  const odd = x.findIndex((v, i) => !Number.isNaN(v) && !Object.is(neg[i], -y[i]));
  assert.equal(odd, -1, `tanh(−x) = −tanh(x) fails at x = ${x[odd]}`);
  assert.equal(y[SPECIAL.indexOf(Infinity)], 1);
});

test("native SELU gradient: dy·SELU'(x) from the output, against float64, with the JS kernel's choice at ±0", { skip: noAddon }, (t) => {
  assert.ok(enableBlas());
  const lib = blasAddon()!;
  const x = GRID.filter((v) => v !== 0);
  const y = new Float32Array(x.length);
  lib.selu(x, y);
  const dy = Float32Array.from(x, (_, i) => (i % 3 === 0 ? 1 : Math.sin(i) * 3));
  // Through the registered gradient kernel, as the tape runs it.
  const grad = () => values(() => tf.engine().runKernel("ClapRlSeluGrad", { dy: tf.tensor1d(dy), y: tf.tensor1d(y) }) as tf.Tensor);
  const dx = grad();
  let worst = 0;
  x.forEach((v, i) => {
    const d = v > 0 ? S : SA * Math.exp(v);
    // y carries ≤ 2 ulp of SELU's error, so y + s·α is good to a few ulp of s·α in absolute terms.
    worst = Math.max(worst, Math.abs(dx[i] - dy[i] * d) / Math.max(1, Math.abs(dy[i])));
  });
  t.diagnostic(`SELU gradient: max |dx − dy·SELU'(x)| / max(1, |dy|) = ${worst.toExponential(2)}`);
  assert.ok(worst <= 3.6e-7, `max |dx − dy·SELU'(x)| / max(1, |dy|) = ${worst}`);
  const edge = new Float32Array(4);
  lib.seluGrad(new Float32Array([2, 2, 2, 2]), new Float32Array([0, -0, NaN, Infinity]), edge);
  assert.deepEqual([...edge.slice(0, 2)], [Math.fround(2 * S), Math.fround(2 * SA)]);
  assert.ok(Number.isNaN(edge[2]) && edge[3] === Math.fround(2 * S), `NaN and +∞: ${edge.slice(2)}`);
  // The JS kernel (pure-wasm path) computes the same derivative in double precision.
  disableBlas("test: JS kernel");
  const js = grad();
  assert.ok(enableBlas());
  let diff = 0;
  // Except at y = +∞, where the JS kernel's branch-free formula gives 0·∞ = NaN. (Where SELU saturates, y + s·α
  // is 0 here and ≈ 2e-8 there: the JS loop adds the double s·α to the float32 y.)
  js.forEach((v, i) => y[i] === Infinity || (diff = Math.max(diff, Math.abs(v - dx[i]) / Math.max(1, Math.abs(dy[i])))));
  // Native rounds s·α, y + s·α and the product in float32; the JS loop rounds once.
  assert.ok(diff <= 2.5e-7, `native and JS SELU gradients differ by ${diff}·max(1, |dy|)`);
});

test("native SELU gradient agrees with finite differences", { skip: noAddon }, () => {
  assert.ok(enableBlas());
  // Away from 0 by more than the step, so no difference straddles the kink.
  const xs = Array.from({ length: 40 }, (_, i) => (i % 2 ? 1 : -1) * (0.05 + 0.1 * i));
  const x = tf.tensor1d(xs);
  const c = tf.tensor1d(xs.map((_, i) => Math.cos(i)));
  const f = (v: tf.Tensor) => tf.sum(tf.mul(c, tf.selu(v))) as tf.Scalar;
  const err = gradError(f, [x], { eps: 1e-2, probes: 40 });
  assert.ok(err < 1e-3, `max |fd − analytic| / max |analytic| = ${err}`);
  tf.dispose([x, c]);
});

/** Two parameter tensors and a quadratic loss Σ wₖ·(p − t)² with its float64 gradient. */
const INIT = [
  [4, -3, 0.5, 2, -1],
  [2, -6, 1, 0.25, -0.5, 3],
];
const TARGET = [
  [1, 1, -1, 0.5, 0],
  [0, 0.5, 2, -1, 1, -2],
];
const WEIGHT = [
  [1, 2, 0.5, 1, 3],
  [0.5, 1, 1, 2, 1, 0.25],
];

function quadLoss(ps: tf.Tensor[]): tf.Scalar {
  return tf.addN(ps.map((p, k) => tf.sum(tf.mul(tf.tensor(WEIGHT[k], p.shape), tf.square(tf.sub(p, tf.tensor(TARGET[k], p.shape))))))) as tf.Scalar;
}

/** The two parameters at INIT; tidy disposes the initial values (each variable keeps its own reference). */
function makeVars(): tf.Variable[] {
  return tf.tidy(() => [tf.variable(tf.tensor1d(INIT[0])), tf.variable(tf.tensor2d(INIT[1], [2, 3]))]);
}

/** Runs `steps` Adam steps on the quadratic; returns the parameters and the reported norms per step. */
function runAdam(clip: number, steps: number): { params: number[][]; norms: number[] } {
  const vars = makeVars();
  const opt = new Adam(new Map(vars.map((v, k) => [`p${k}`, v])), { lr: 0.05, eps: 1e-8, clip });
  const norms: number[] = [];
  for (let t = 0; t < steps; t++) norms.push(opt.minimize(() => ({ loss: quadLoss(vars) })).gradNorm);
  const params = vars.map((v) => [...v.dataSync()]);
  opt.dispose();
  tf.dispose(vars);
  return { params, norms };
}

/** The same steps in float64, textbook form: bias-corrected moments, ε outside the square root. */
function textbookAdam(clip: number, steps: number): { params: number[][]; norms: number[] } {
  const p = INIT.map((x) => [...x]);
  const m = INIT.map((x) => x.map(() => 0));
  const v = INIT.map((x) => x.map(() => 0));
  const norms: number[] = [];
  for (let t = 1; t <= steps; t++) {
    const g = p.map((x, k) => x.map((pi, i) => 2 * WEIGHT[k][i] * (pi - TARGET[k][i])));
    const norm = Math.hypot(...g.flat());
    norms.push(norm);
    const c = clip > 0 ? Math.min(1, clip / (norm + 1e-6)) : 1;
    p.forEach((x, k) =>
      x.forEach((_, i) => {
        const gi = c * g[k][i];
        m[k][i] = 0.9 * m[k][i] + 0.1 * gi;
        v[k][i] = 0.999 * v[k][i] + 0.001 * gi * gi;
        x[i] -= (0.05 * (m[k][i] / (1 - 0.9 ** t))) / (Math.sqrt(v[k][i] / (1 - 0.999 ** t)) + 1e-8);
      }),
    );
  }
  return { params: p, norms };
}

function maxRelDiff(a: number[], b: number[]): number {
  const scale = Math.max(...b.map(Math.abs), 1e-30);
  return Math.max(...a.map((x, i) => Math.abs(x - b[i]))) / scale;
}

for (const clip of [3, 100, 0]) {
  test(`native Adam matches a float64 textbook Adam (clip ${clip}), and the JS kernel to 1e-6`, { skip: noAddon }, (t) => {
    const steps = 6;
    const ref = textbookAdam(clip, steps);
    // Clip 3 is below every step's norm, 100 above all of them.
    if (clip === 3) assert.ok(ref.norms.every((n) => n > clip));
    if (clip === 100) assert.ok(ref.norms.every((n) => n < clip));
    const before = liveTensors();
    assert.ok(enableBlas());
    const native = runAdam(clip, steps);
    disableBlas("test: JS Adam");
    const js = runAdam(clip, steps);
    assert.ok(enableBlas());
    assert.equal(liveTensors(), before, "no tensors left behind");
    const vsRef = [0, 1].map((k) => maxRelDiff(native.params[k], ref.params[k]));
    const vsJs = [0, 1].map((k) => maxRelDiff(native.params[k], js.params[k]));
    t.diagnostic(`rel diff vs textbook ${Math.max(...vsRef).toExponential(1)}, vs JS ${Math.max(...vsJs).toExponential(1)}`);
    vsRef.forEach((e, k) => assert.ok(e < 1e-6, `tensor ${k} vs textbook: rel err ${e}`));
    vsJs.forEach((d, k) => assert.ok(d < 1e-6, `tensor ${k} native vs JS: rel diff ${d}`));
    const en = maxRelDiff(native.norms, ref.norms);
    assert.ok(en < 1e-6, `reported norms: rel err ${en}`);
  });
}

test("the native path runs one Adam kernel per step and no per-parameter norm kernels", { skip: noAddon }, async () => {
  const vars = makeVars();
  const opt = new Adam(new Map(vars.map((v, k) => [`p${k}`, v])), { lr: 0.05, clip: 1 });
  const names = async () => (await tf.profile(() => void opt.minimize(() => ({ loss: quadLoss(vars) })))).kernels.map((k) => k.name);
  try {
    assert.ok(enableBlas());
    const native = await names();
    disableBlas("test: JS Adam");
    const js = await names();
    assert.ok(enableBlas());
    const count = (ks: string[], k: string) => ks.filter((n) => n === k).length;
    assert.equal(count(native, "ClapRlAdamAll"), 1);
    assert.equal(count(native, "ClapRlAdam"), 0);
    assert.equal(count(js, "ClapRlAdam"), 2);
    assert.equal(count(js, "ClapRlAdamAll"), 0);
    // The loss sums 2 terms; the JS clip norm adds a Square and a Sum per parameter.
    assert.equal(count(native, "Sum") + 2, count(js, "Sum"));
  } finally {
    opt.dispose();
    tf.dispose(vars);
  }
});

test("the addon's Adam checks every operand before writing anything", { skip: noAddon }, () => {
  const lib = blasAddon()!;
  const hyper = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, clip: 1 };
  const f = (n: number, v = 0) => new Float32Array(n).fill(v);
  const pair = (v = 0) => [f(3, v), f(2, v)];
  const ops = () => ({ p: pair(1), m: pair(), v: pair(), g: pair(2), pOut: pair(7), mOut: pair(), vOut: pair() });
  const good = ops();
  const norm = Math.sqrt(20);
  assert.ok(Math.abs(lib.adam(hyper, good) - norm) < 1e-12);
  // From m = v = 0: m' = (1 − β₁)·c·g, v' = (1 − β₂)·(c·g)², so m'/√v' = (1 − β₁)/√(1 − β₂) whatever c·g is.
  const g = 2 / (norm + 1e-6);
  const want = [1 - 0.1 * (0.1 * g) / (Math.sqrt(0.001 * g * g) + 1e-8), 0.1 * g, 0.001 * g * g];
  [good.pOut, good.mOut, good.vOut].forEach((outs, r) =>
    outs.forEach((a) => a.forEach((x) => assert.ok(Math.abs(x - want[r]) < 1e-6 * Math.abs(want[r]), `${x} vs ${want[r]}`))),
  );
  const short = ops();
  short.g[1] = f(1, 2);
  assert.throws(() => lib.adam(hyper, short), (e: Error) => e instanceof RangeError && /'g\[1\]' has 1 elements, 'p\[1\]' 2/.test(e.message));
  assert.ok(short.pOut[0].every((x) => x === 7), "nothing was written");
  const overlap = ops();
  overlap.pOut[0] = overlap.p[0];
  assert.throws(() => lib.adam(hyper, overlap), /'pOut\[0\]' overlaps 'p\[0\]'/);
  const fewer = ops();
  fewer.vOut = [fewer.vOut[0]];
  assert.throws(() => lib.adam(hyper, fewer), /'vOut' lists 1 tensors, 'p' 2/);
  const { m: _, ...missing } = ops();
  assert.throws(() => lib.adam(hyper, missing as unknown as ReturnType<typeof ops>), TypeError);
  assert.throws(() => lib.adam({ ...hyper, lr: NaN }, ops()), /'lr' must be a finite number/);
  assert.throws(() => lib.adam({ ...hyper, clip: -1 }, ops()), RangeError);
  assert.throws(() => lib.adam(hyper, { ...ops(), g: [new Float64Array(3), f(2)] as unknown as Float32Array[] }), /'g\[0\]' must be a Float32Array/);
  assert.throws(() => lib.selu(f(3), f(4)), /'y' has 4 elements, 'x' 3/);
  assert.throws(() => lib.seluGrad(f(3), f(3), new Float64Array(3) as unknown as Float32Array), TypeError);
});

test("CLAP_RL_BLAS switches the elementwise kernels and the status lists them", { skip: noAddon }, () => {
  const on = configureBlasFromEnv({});
  assert.deepEqual(on.nativeElementwise, ["Selu", "Tanh", "ClapRlSeluGrad", "ClapRlAdamAll"]);
  assert.ok(nativeElementwiseActive());
  const off = configureBlasFromEnv({ CLAP_RL_BLAS: "0" });
  assert.deepEqual(off.nativeElementwise, []);
  assert.ok(!nativeElementwiseActive());
  // tfjs's selu takes int32 inputs too; they go to the stock kernel on either path.
  for (const env of [{}, { CLAP_RL_BLAS: "0" }]) {
    configureBlasFromEnv(env);
    const y = tf.tidy(() => tf.selu(tf.tensor1d([-1, 2], "int32")));
    assert.equal(y.dtype, "int32");
    assert.deepEqual([...y.dataSync()], [-1, 2], "SELU truncated to int32");
    y.dispose();
  }
  configureBlasFromEnv({});
});

/** Model loss and every parameter's gradient on the method's synthetic windows, on the active path. */
function modelLossAndGrads(): Float32Array[] {
  const c = presetConfig("tiny");
  c.agent.epsilon = 1;
  const cfg = resolveConfig(c, "synthetic");
  const model = new LatentActionModel(cfg.model, { obsDim: OBS_DIM, actDim: ACT_DIM }, new Rng(3));
  const sampler = new WindowSampler(makeStore(8, 20, 2), { B: 4, T: 10, normalise: true }, new Rng(4));
  const batch = sampler.sample();
  const names = [...model.namedParams().keys()];
  try {
    return tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => model.loss(batch, { posterior: 11, latentAction: 12 }).loss, model.params());
      return [value, ...names.map((n) => grads[model.namedParams().get(n)!.name])].map((t) => t.dataSync() as Float32Array);
    });
  } finally {
    model.dispose();
  }
}

test("native and pure-wasm paths give the same model loss and gradients on the synthetic windows", { skip: noAddon }, async (t) => {
  // The fused filter stays off on both paths, so the recurrence's SELUs run through the kernels under test.
  setFused("filter", false);
  try {
    assert.ok(enableBlas());
    let native: Float32Array[] = [];
    const prof = await tf.profile(() => void (native = modelLossAndGrads()));
    assert.ok(prof.kernelNames.includes("Selu") && prof.kernelNames.includes("ClapRlSeluGrad"));
    disableBlas("test: pure wasm");
    const wasm = modelLossAndGrads();
    assert.ok(enableBlas());
    const rel = (a: Float32Array, b: Float32Array) => maxRelDiff([...a], [...b]);
    assert.ok(rel(native[0], wasm[0]) < 1e-5, `loss ${native[0][0]} vs ${wasm[0][0]}`);
    let worst = 0;
    for (let i = 1; i < wasm.length; i++) {
      assert.ok(wasm[i].some((v) => v !== 0), `gradient ${i} is not identically zero`);
      worst = Math.max(worst, rel(native[i], wasm[i]));
    }
    t.diagnostic(`loss rel diff ${rel(native[0], wasm[0]).toExponential(1)}, max gradient rel diff ${worst.toExponential(1)}`);
    assert.ok(worst < 1e-5, `max gradient rel diff ${worst}`);
  } finally {
    setFused("filter", true);
  }
});

test("training an MLP with SELU and tanh on the native path leaves no tensors behind", { skip: noAddon }, () => {
  assert.ok(enableBlas());
  const net = new MLP(6, [16, 16], 2, new Rng(7));
  const opt = new Adam(net.namedParams(), { lr: 1e-2, clip: 1 });
  const x = tf.randomNormal([32, 6], 0, 1, "float32", 1) as tf.Tensor2D;
  const loss = () => ({ loss: tf.mean(tf.square(tf.tanh(net.apply(x)))) as tf.Scalar });
  const counts: number[] = [];
  const losses: number[] = [];
  for (let i = 0; i < 6; i++) {
    losses.push(opt.minimize(loss).loss);
    counts.push(liveTensors());
  }
  assert.deepEqual(counts, new Array(6).fill(counts[0]));
  assert.ok(losses[5] < losses[0], `loss ${losses[0]} → ${losses[5]}`);
  opt.dispose();
  net.dispose();
  x.dispose();
});
