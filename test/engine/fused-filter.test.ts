import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { initEngine, liveTensors, tf } from "../../src/engine/tf.js";
import { blasAddon, blasAvailable, blasStatus, configureBlasFromEnv, enableBlas, fusedActive, setFused } from "../../src/engine/blas.js";
import { filterSequence, type FilterInputs, type FilterOutputs } from "../../src/engine/fused-filter.js";
import { gruCell } from "../../src/engine/nn.js";
import { Rng } from "../../src/engine/rng.js";
import { UserError } from "../../src/errors.js";
import { clapPreset as presetConfig, resolveClapConfig as resolveConfig } from "../../src/algorithms/clap/config.js";
import { LatentActionModel, type WindowArrays } from "../../src/models/latent-action-model.js";
import { gradError, randn, relErr } from "../helpers/gradcheck.js";

// Evaluated at load time so tests can declare their skip reason; loading the addon needs no engine.
const noAddon = blasAvailable() ? false : `native addon not built: ${blasStatus().reason}`;

before(async () => {
  await initEngine();
});

after(() => configureBlasFromEnv({}));

interface Case {
  T: number;
  B: number;
  stoch: number;
  deter: number;
  input: number;
  /** Widths after the posterior's first layer up to (excluding) the 2·stoch output. */
  hidden: number[];
  noisy: boolean;
}

/** Random inputs with weights scaled so every activation stays O(1) and both SELU branches occur. */
function makeInputs(c: Case, seed: number): FilterInputs {
  const R = c.T * c.B;
  const D = c.deter;
  const widths = [...c.hidden, 2 * c.stoch];
  let s = seed;
  const r = (shape: number[], scale: number) => randn(shape, s++, scale);
  return {
    T: c.T,
    B: c.B,
    act: r([R, c.input], 1),
    embed: r([R, widths[0]], 1),
    noise: c.noisy ? r([R, c.stoch], 1) : null,
    wz: r([c.stoch, c.input], 0.5),
    gru: { wi: r([c.input, 3 * D], 0.4), bi: r([3 * D], 0.3), wh: r([D, 3 * D], 0.4), bhn: r([D], 0.3) },
    wph: r([D, widths[0]], 0.5),
    layers: widths.slice(1).map((w, j) => ({ w: r([widths[j], w], 0.5), b: r([w], 0.3) })),
    minStd: 0.1,
  };
}

/** The recurrence with tfjs ops, as LatentActionModel.observe's loop computes it. */
function loopFilter(x: FilterInputs): FilterOutputs {
  const { T, B } = x;
  // Slices rather than observe's tf.split: tfjs's SplitV gradient fails for a split into one part (T = 1).
  const step = (v: tf.Tensor, t: number) => tf.slice(v, [t * B, 0], [B, -1]);
  const acts = Array.from({ length: T }, (_, t) => step(x.act, t));
  const embeds = Array.from({ length: T }, (_, t) => step(x.embed, t));
  const noise = x.noise === null ? null : Array.from({ length: T }, (_, t) => step(x.noise as tf.Tensor, t));
  let h: tf.Tensor = tf.zeros([B, x.gru.wh.shape[0]]);
  let z: tf.Tensor | null = null;
  const out: tf.Tensor[][] = [[], [], [], []];
  for (let t = 0; t < T; t++) {
    const pre = z === null ? acts[t] : tf.add(tf.matMul(z as tf.Tensor2D, x.wz as tf.Tensor2D), acts[t]);
    h = gruCell(tf.selu(pre), h, x.gru.wi, x.gru.bi, x.gru.wh, x.gru.bhn);
    let p = tf.add(tf.matMul(h as tf.Tensor2D, x.wph as tf.Tensor2D), embeds[t]);
    for (const l of x.layers) p = tf.add(tf.matMul(tf.selu(p) as tf.Tensor2D, l.w as tf.Tensor2D), l.b);
    const [mean, raw] = tf.split(p, 2, 1);
    const std = tf.add(tf.softplus(raw), x.minStd);
    z = noise === null ? mean : tf.add(mean, tf.mul(std, noise[t]));
    [h, z, mean, std].forEach((v, i) => out[i].push(v));
  }
  const [h2, z2, m2, s2] = out.map((vs) => tf.concat(vs, 0) as tf.Tensor2D);
  return { h: h2, z: z2, mean: m2, std: s2 };
}

/** The differentiable inputs of FilterInputs, in a fixed order, and the inverse. */
function params(x: FilterInputs): tf.Tensor[] {
  return [x.act, x.embed, x.wz, x.gru.wi, x.gru.bi, x.gru.wh, x.gru.bhn, x.wph, ...x.layers.flatMap((l) => [l.w, l.b])];
}

function withParams(x: FilterInputs, ps: tf.Tensor[]): FilterInputs {
  const [act, embed, wz, wi, bi, wh, bhn, wph, ...rest] = ps;
  const layers = x.layers.map((_, j) => ({ w: rest[2 * j], b: rest[2 * j + 1] }));
  return { ...x, act, embed, wz, gru: { wi, bi, wh, bhn }, wph, layers };
}

const OUTPUTS = ["h", "z", "mean", "std"] as const;

/** Σ_k Σ C_k ⊙ output_k over the outputs named in `use`, with fixed random coefficients. */
function lossOf(f: FilterOutputs, use: readonly (typeof OUTPUTS)[number][]): tf.Scalar {
  return tf.addN(use.map((k, i) => tf.sum(tf.mul(f[k], randn(f[k].shape, 900 + i))))) as tf.Scalar;
}

function disposeInputs(x: FilterInputs): void {
  tf.dispose([...params(x), ...(x.noise ? [x.noise] : [])]);
}

const CASES: (Case & { name: string })[] = [
  { name: "T = 1, one later layer, noise", T: 1, B: 3, stoch: 3, deter: 5, input: 4, hidden: [6], noisy: true },
  { name: "T = 6, two later layers, noise", T: 6, B: 4, stoch: 3, deter: 5, input: 4, hidden: [6, 7], noisy: true },
  { name: "T = 5, one later layer, no noise", T: 5, B: 2, stoch: 2, deter: 6, input: 3, hidden: [5], noisy: false },
  { name: "T = 4, two later layers, no noise, one row", T: 4, B: 1, stoch: 4, deter: 3, input: 5, hidden: [4, 6], noisy: false },
];

for (const c of CASES) {
  test(`fused forward equals the tfjs loop (${c.name})`, { skip: noAddon }, () => {
    assert.ok(enableBlas());
    const x = makeInputs(c, 10);
    tf.tidy(() => {
      const fused = filterSequence(x);
      const loop = loopFilter(x);
      for (const k of OUTPUTS) {
        assert.deepEqual(fused[k].shape, loop[k].shape, k);
        const e = relErr(fused[k].dataSync() as Float32Array, loop[k].dataSync() as Float32Array);
        assert.ok(e < 1e-5, `${k}: rel err ${e}`);
      }
      // Without noise z is the mean exactly; with it, it is not.
      const same = relErr(fused.z.dataSync() as Float32Array, fused.mean.dataSync() as Float32Array) === 0;
      assert.equal(same, !c.noisy);
    });
    disposeInputs(x);
  });

  test(`fused input gradients equal the tfjs loop's (${c.name})`, { skip: noAddon }, () => {
    assert.ok(enableBlas());
    const x = makeInputs(c, 20);
    // All four outputs, and a loss on h and std only (z and mean then get zero upstream gradients).
    for (const use of [OUTPUTS, ["h", "std"]] as const) {
      tf.tidy(() => {
        const all = params(x);
        const gf = tf.grads((...ps: tf.Tensor[]) => lossOf(filterSequence(withParams(x, ps)), use))(all);
        // With one step W_z (input 2) never multiplies anything: the loop has no path to it, the fused op gives 0.
        const used = all.map((_, i) => i).filter((i) => c.T > 1 || i !== 2);
        const gl = tf.grads((...ps: tf.Tensor[]) => {
          const full = all.map((t, i) => (used.includes(i) ? ps[used.indexOf(i)] : t));
          return lossOf(loopFilter(withParams(x, full)), use);
        })(used.map((i) => all[i]));
        if (c.T === 1) assert.ok(gf[2].dataSync().every((e) => e === 0), "W_z gets no gradient from one step");
        used.forEach((i, k) => {
          const v = gl[k].dataSync() as Float32Array;
          // …and W_h (input 5) multiplies h₋₁ = 0, so both give zeros there.
          if (c.T > 1 || i !== 5) assert.ok(v.some((e) => e !== 0), `loop gradient ${i} (${use}) is identically zero`);
          const e = relErr(gf[i].dataSync() as Float32Array, v);
          assert.ok(e < 1e-4, `gradient of input ${i} (${use}): rel err ${e}`);
        });
      });
    }
    disposeInputs(x);
  });
}

test("fused gradients agree with finite differences (float32)", { skip: noAddon }, () => {
  assert.ok(enableBlas());
  const x = makeInputs({ T: 3, B: 2, stoch: 2, deter: 3, input: 3, hidden: [4, 3], noisy: true }, 30);
  const f = (...ps: tf.Tensor[]) => lossOf(filterSequence(withParams(x, ps)), OUTPUTS);
  // A small step: SELU's derivative jumps at 0 (s·α against s), and a central difference that straddles a kink
  // anywhere downstream is off by several % (two of these probes do at a step of 3e-3); at 1e-3 none does, and the
  // float32 rounding of the difference stays near 1e-4.
  const err = gradError(f, params(x), { eps: 1e-3, probes: 6 });
  assert.ok(err < 2e-3, `max |fd − analytic| / max |analytic| = ${err}`);
  disposeInputs(x);
});

test("repeated fused forward + backward leaves no tensors behind", { skip: noAddon }, () => {
  assert.ok(enableBlas());
  const x = makeInputs(CASES[1], 40);
  const counts: number[] = [];
  for (let i = 0; i < 5; i++) {
    const { value, grads } = tf.valueAndGrads((...ps: tf.Tensor[]) => lossOf(filterSequence(withParams(x, ps)), OUTPUTS))(params(x));
    tf.dispose([value, ...grads]);
    // Outside any tidy scope the caller owns exactly the four outputs.
    const out = filterSequence(x);
    tf.dispose([out.h, out.z, out.mean, out.std]);
    counts.push(liveTensors());
  }
  assert.deepEqual(counts, new Array(5).fill(counts[0]));
  disposeInputs(x);
});

/** A tiny model with two posterior hidden layers, and a random window batch. */
function tinyModel(latentAction: boolean): { model: LatentActionModel; batch: WindowArrays } {
  const c = presetConfig("tiny");
  c.agent.epsilon = 1;
  c.model = { ...c.model, hidden: 12, embed: 10, deter: 9, stoch: 4, latentActionDim: 3, layers: 2, latentAction };
  const cfg = resolveConfig(c, "synthetic");
  const dims = { obsDim: 5, actDim: 2 };
  const model = new LatentActionModel(cfg.model, dims, new Rng(3));
  const B = 3;
  const T = 7;
  const rng = new Rng(4);
  const fill = (n: number, f: () => number) => Float32Array.from({ length: n }, f);
  const N = B * T;
  const isFirst = new Float32Array(N);
  for (let b = 0; b < B; b++) isFirst[b * T] = 1;
  const batch: WindowArrays = {
    B,
    T,
    obs: fill(N * dims.obsDim, () => rng.normal()),
    act: fill(N * dims.actDim, () => Math.tanh(rng.normal())),
    prevAct: fill(N * dims.actDim, () => Math.tanh(rng.normal())),
    actMask: fill(N, () => (rng.uniform() < 0.9 ? 1 : 0)),
    rew: fill(N, () => rng.normal()),
    cont: new Float32Array(N).fill(1),
    isFirst,
    mask: fill(N, () => (rng.uniform() < 0.9 ? 1 : 0)),
  };
  return { model, batch };
}

/** The model loss and the gradients of every parameter, on the fused path or the loop. */
function modelLossAndGrads(model: LatentActionModel, batch: WindowArrays, fused: boolean): Float32Array[] {
  setFused("filter", fused);
  assert.equal(fusedActive("filter"), fused);
  const names = [...model.namedParams().keys()];
  return tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => model.loss(batch, { posterior: 11, latentAction: 12 }).loss, model.params());
    return [value, ...names.map((n) => grads[model.namedParams().get(n)!.name])].map((t) => t.dataSync() as Float32Array);
  });
}

for (const latentAction of [true, false]) {
  test(`model loss and gradients match between the fused path and the loop (latentAction=${latentAction})`, { skip: noAddon }, () => {
    assert.ok(enableBlas());
    const { model, batch } = tinyModel(latentAction);
    try {
      const fused = modelLossAndGrads(model, batch, true);
      const loop = modelLossAndGrads(model, batch, false);
      const names = [...model.namedParams().keys()];
      assert.ok(relErr(fused[0], loop[0]) < 1e-5, `loss: ${fused[0][0]} vs ${loop[0][0]}`);
      for (let i = 1; i < loop.length; i++) {
        const e = relErr(fused[i], loop[i]);
        assert.ok(e < 1e-4, `gradient of ${names[i - 1]}: rel err ${e}`);
      }
      assert.ok(names.some((n, i) => n.startsWith("gru/") && loop[i + 1].some((v) => v !== 0)), "the GRU gets a gradient");
    } finally {
      setFused("filter", true);
      model.dispose();
    }
  });
}

test("observe runs one fused kernel when it is on and the tfjs loop when it is off", { skip: noAddon }, async () => {
  assert.ok(enableBlas());
  const { model, batch } = tinyModel(true);
  const { B, T } = batch;
  const obs = tf.tensor2d(batch.obs, [B * T, 5]);
  const prev = tf.tensor2d(batch.prevAct, [B * T, 2]);
  const run = async (fused: boolean) => {
    setFused("filter", fused);
    let hz: Float32Array[] = [];
    const prof = await tf.profile(() => {
      tf.tidy(() => {
        const { h, z } = model.observe(obs, prev, B, T, null);
        hz = [h.dataSync() as Float32Array, z.dataSync() as Float32Array];
      });
    });
    return { names: prof.kernelNames, count: prof.kernels.length, hz };
  };
  try {
    const on = await run(true);
    const off = await run(false);
    assert.ok(on.names.includes("ClapRlFilterForward"));
    assert.ok(!off.names.includes("ClapRlFilterForward"));
    assert.ok(off.count > on.count + 10 * T, `kernels: fused ${on.count}, loop ${off.count}`);
    assert.ok(relErr(on.hz[0], off.hz[0]) < 1e-5 && relErr(on.hz[1], off.hz[1]) < 1e-5, "posterior-mean h and z agree");
  } finally {
    setFused("filter", true);
    tf.dispose([obs, prev]);
    model.dispose();
  }
});

test("CLAP_RL_FUSED_FILTER and CLAP_RL_BLAS switch the fused kernel", () => {
  assert.throws(() => configureBlasFromEnv({ CLAP_RL_FUSED_FILTER: "on" }), UserError);
  assert.equal(configureBlasFromEnv({ CLAP_RL_BLAS: "0" }).fusedFilter, false);
  assert.equal(fusedActive("filter"), false);
  assert.throws(() => configureBlasFromEnv({ CLAP_RL_BLAS: "0", CLAP_RL_FUSED_FILTER: "1" }), /CLAP_RL_FUSED_FILTER=1 requires/);
  if (noAddon) return;
  assert.equal(configureBlasFromEnv({ CLAP_RL_FUSED_FILTER: "0" }).fusedFilter, false);
  assert.equal(configureBlasFromEnv({}).fusedFilter, true);
  assert.equal(configureBlasFromEnv({ CLAP_RL_FUSED_FILTER: "1" }).fusedFilter, true);
});

test("bad sizes give clear errors, not a crash", { skip: noAddon }, () => {
  assert.ok(enableBlas());
  const c = CASES[1];
  const x = makeInputs(c, 50);
  const wrong = tf.zeros([c.T * c.B + 1, c.hidden[0]]);
  const short = tf.zeros([c.hidden[0], 2 * c.stoch + 1]);
  try {
    assert.throws(() => filterSequence({ ...x, embed: wrong }), /'embed' has shape \[25,6\], expected \[24,6\]/);
    assert.throws(() => filterSequence({ ...x, T: c.T + 1 }), /'act' has shape/);
    assert.throws(() => filterSequence({ ...x, T: 0 }), /T and B must be positive integers/);
    assert.throws(() => filterSequence({ ...x, layers: [{ w: short, b: x.layers[1].b }] }), /'layers\[0\].w' has shape \[6,7\], expected \[6,6\]/);
    assert.throws(() => filterSequence({ ...x, layers: [] }), /at least one layer/);
    setFused("filter", false);
    assert.throws(() => filterSequence(x), /not active/);
    setFused("filter", true);

    // The addon itself checks every extent before writing anything.
    const lib = blasAddon()!;
    const R = c.T * c.B;
    const dims = { T: c.T, B: c.B, stoch: c.stoch, deter: c.deter, input: c.input, widths: [6, 7, 6], minStd: 0.1 };
    const f = (n: number) => new Float32Array(n);
    const ops = () => ({
      act: f(R * c.input),
      embed: f(R * 6),
      noise: null,
      wz: f(c.stoch * c.input),
      wi: f(c.input * 3 * c.deter),
      bi: f(3 * c.deter),
      wh: f(c.deter * 3 * c.deter),
      bhn: f(c.deter),
      wph: f(c.deter * 6),
      layers: [
        { w: f(6 * 7), b: f(7) },
        { w: f(7 * 6), b: f(6) },
      ],
      h: f(R * c.deter),
      z: f(R * c.stoch),
      mean: f(R * c.stoch),
      std: f(R * c.stoch),
      saved: f(R * lib.filterSavedWidth(dims)),
    });
    assert.doesNotThrow(() => lib.filterForward(dims, ops()));
    const bad = ops();
    bad.h = f(R * c.deter - 1);
    bad.z.fill(7);
    assert.throws(() => lib.filterForward(dims, bad), (e: Error) => e instanceof RangeError && /'h' has 119 elements, expected 120/.test(e.message));
    assert.ok(bad.z.every((v) => v === 7), "nothing was written");
    assert.throws(() => lib.filterForward({ ...dims, widths: [6, 7, 5] }, ops()), RangeError);
    assert.throws(() => lib.filterForward({ ...dims, B: -1 }, ops()), RangeError);
    assert.throws(() => lib.filterForward(dims, { ...ops(), wi: new Float64Array(c.input * 3 * c.deter) as unknown as Float32Array }), TypeError);
    const { wz: _, ...missing } = ops();
    assert.throws(() => lib.filterForward(dims, missing as unknown as ReturnType<typeof ops>), /missing 'wz'/);
  } finally {
    tf.dispose([wrong, short]);
    disposeInputs(x);
  }
});
