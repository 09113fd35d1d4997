import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { initEngine, liveTensors, tf } from "../../src/engine/tf.js";
import { blasAddon, blasAvailable, blasStatus, configureBlasFromEnv, enableBlas, fusedActive, setFused } from "../../src/engine/blas.js";
import { imagineRollout, type ImagineInputs } from "../../src/engine/fused-imagination.js";
import { Rng } from "../../src/engine/rng.js";
import { UserError } from "../../src/errors.js";
import { clapPreset, resolveClapConfig, type ClapConfig } from "../../src/algorithms/clap/config.js";
import { buildNetworks, type ClapNetworks } from "../../src/algorithms/clap/networks.js";
import { fusedImagination, imagine, type StepNoise } from "../../src/algorithms/clap/imagine.js";
import { ClapAgent } from "../../src/algorithms/clap/agent.js";
import { WindowSampler } from "../../src/data/windows.js";
import type { LatentState } from "../../src/models/latent-action-model.js";
import { gradError, randn, relErr } from "../helpers/gradcheck.js";
import { ACT_DIM, OBS_DIM, makeStore } from "./synthetic.js";

// Evaluated at load time so tests can declare their skip reason; loading the addon needs no engine.
const noAddon = blasAvailable() ? false : `native addon not built: ${blasStatus().reason}`;

before(async () => {
  await initEngine();
});

after(() => configureBlasFromEnv({}));

const DIMS = { obsDim: OBS_DIM, actDim: ACT_DIM };

interface Case {
  name: string;
  H: number;
  /** Start states. */
  N: number;
  /** Hidden layers of the model's MLPs and of the policy. */
  layers: number;
  policyLayers: number;
}

const CASES: Case[] = [
  { name: "H = 1", H: 1, N: 6, layers: 1, policyLayers: 1 },
  { name: "H = 3", H: 3, N: 5, layers: 2, policyLayers: 2 },
  { name: "H = 5, heads without hidden layers", H: 5, N: 4, layers: 0, policyLayers: 0 },
];

/** A tiny C-LAP config with distinct sizes everywhere, so a mixed-up dimension fails a shape check. */
function config(c: Pick<Case, "H" | "layers" | "policyLayers">, edit: (cfg: ClapConfig) => void = () => {}): ClapConfig {
  const cfg = clapPreset("tiny");
  cfg.agent.epsilon = 1.5;
  cfg.agent.horizon = c.H;
  cfg.model = { ...cfg.model, hidden: 7, embed: 6, deter: 5, stoch: 3, latentActionDim: 4, layers: c.layers };
  // A random mean head, so the policy's mean is not 0 at initialisation and every parameter matters.
  cfg.policy = { ...cfg.policy, hidden: 6, layers: c.policyLayers, initMean: "random" };
  edit(cfg);
  return resolveClapConfig(cfg, "synthetic");
}

/** Networks, start states and per-step noise (as agentStep draws it) for one case. */
function setup(c: Case, seed: number): { nets: ClapNetworks; start: LatentState; noise: StepNoise[] } {
  const cfg = config(c);
  const nets = buildNetworks(cfg, DIMS, new Rng(seed));
  const start = { h: randn([c.N, cfg.model.deter], seed + 1, 0.7) as tf.Tensor2D, z: randn([c.N, cfg.model.stoch], seed + 2) as tf.Tensor2D };
  const noise = Array.from({ length: c.H }, (_, k) => ({
    policy: randn([c.N, nets.policy.outDim], seed + 10 + 2 * k),
    prior: randn([c.N, cfg.model.stoch], seed + 11 + 2 * k),
  }));
  return { nets, start, noise };
}

function dispose(s: ReturnType<typeof setup>): void {
  tf.dispose([s.start.h, s.start.z, ...s.noise.flatMap((n) => [n.policy, n.prior])]);
  s.nets.model.dispose();
  s.nets.policy.dispose();
  s.nets.value.dispose();
}

/** Σ C₁ ⊙ feats + Σ C₂ ⊙ log π with fixed random coefficients: every output matters to every gradient. */
function lossOf(r: { feats: tf.Tensor; logProbs: tf.Tensor }): tf.Scalar {
  return tf.add(tf.sum(tf.mul(r.feats, randn(r.feats.shape, 900))), tf.sum(tf.mul(r.logProbs, randn(r.logProbs.shape, 901)))) as tf.Scalar;
}

/** The rollout's outputs and the loss's gradients with respect to every policy parameter, on one path. */
function rolloutAndGrads(s: ReturnType<typeof setup>, fused: boolean): { feats: Float32Array; logProbs: Float32Array; grads: Float32Array[] } {
  setFused("imagination", fused);
  try {
    assert.equal(fusedImagination(s.nets, s.noise), fused);
    return tf.tidy(() => {
      const r = imagine(s.nets, s.start, s.noise);
      const params = s.nets.policy.params();
      const { grads } = tf.variableGrads(() => lossOf(imagine(s.nets, s.start, s.noise)), params);
      return {
        feats: r.feats.dataSync() as Float32Array,
        logProbs: r.logProbs.dataSync() as Float32Array,
        grads: params.map((p) => grads[p.name].dataSync() as Float32Array),
      };
    });
  } finally {
    setFused("imagination", true);
  }
}

for (const c of CASES) {
  test(`the fused rollout and its policy gradients equal the tfjs loop's (${c.name})`, { skip: noAddon }, () => {
    assert.ok(enableBlas());
    const s = setup(c, 10);
    try {
      const fused = rolloutAndGrads(s, true);
      const loop = rolloutAndGrads(s, false);
      const F = s.nets.model.featDim;
      assert.equal(fused.feats.length, (c.H + 1) * c.N * F);
      assert.equal(fused.logProbs.length, c.H * c.N);
      assert.ok(relErr(fused.feats, loop.feats) < 1e-5, `features: rel err ${relErr(fused.feats, loop.feats)}`);
      assert.ok(relErr(fused.logProbs, loop.logProbs) < 1e-5, `log π: rel err ${relErr(fused.logProbs, loop.logProbs)}`);
      const names = [...s.nets.policy.namedParams().keys()];
      loop.grads.forEach((g, i) => {
        assert.ok(g.some((v) => v !== 0), `the loop's gradient of ${names[i]} is identically zero`);
        const e = relErr(fused.grads[i], g);
        assert.ok(e < 1e-4, `gradient of ${names[i]}: rel err ${e}`);
      });
    } finally {
      dispose(s);
    }
  });
}

/** The fused op's inputs for a setup, with the policy's layers taken from `ps` (w₀, b₀, w₁, b₁, …). */
function fusedInputs(s: ReturnType<typeof setup>, ps: tf.Tensor[]): ImagineInputs {
  const policy = s.nets.policy.imaginationNet();
  return {
    start: s.nets.model.features(s.start),
    noisePolicy: tf.stack(s.noise.map((n) => n.policy)),
    noisePrior: tf.stack(s.noise.map((n) => n.prior)),
    policy: { ...policy, layers: policy.layers.map((_, j) => ({ w: ps[2 * j], b: ps[2 * j + 1] })) },
    ...s.nets.model.imaginationNets(),
  };
}

test("the fused op's policy gradients agree with finite differences (float32)", { skip: noAddon }, () => {
  assert.ok(enableBlas());
  const s = setup({ name: "fd", H: 3, N: 3, layers: 1, policyLayers: 1 }, 30);
  try {
    const ps = s.nets.policy.imaginationNet().layers.flatMap((l) => [l.w, l.b]);
    const f = (...xs: tf.Tensor[]) => {
      const r = imagineRollout(fusedInputs(s, xs));
      return lossOf({ feats: r.feats, logProbs: r.logProb });
    };
    // A small step, as for the fused filter (test/engine/fused-filter.test.ts): a central difference that straddles
    // a SELU kink downstream is off by several %.
    const err = gradError(f, ps, { eps: 1e-3, probes: 6 });
    assert.ok(err < 3e-3, `max |fd − analytic| / max |analytic| = ${err}`);
  } finally {
    dispose(s);
  }
});

/** One agent after a few model steps, then two agent steps on batches with some entries masked out. */
function agentRun(c: { H: number; chunk: number }, fused: boolean): { logs: Record<string, number>[]; params: Float32Array } {
  setFused("imagination", fused);
  const store = makeStore(8, 20, 2);
  const cfg = config({ H: c.H, layers: 2, policyLayers: 2 }, (x) => (x.agent.chunk = c.chunk));
  const agent = new ClapAgent(cfg, DIMS, new Rng(1));
  try {
    const sampler = new WindowSampler(store, { B: 4, T: 10, normalise: true }, new Rng(2));
    for (let i = 0; i < 3; i++) agent.modelStep(sampler.sample());
    const logs = [0, 1].map(() => {
      const batch = sampler.sample();
      // Padded entries, as at the ends of episodes: weighted 0 in every loss.
      for (let i = 0; i < batch.mask.length; i += 3) batch.mask[i] = 0;
      return agent.agentStep(batch);
    });
    const params = Float32Array.from([...agent.nets.policy.params()].flatMap((v) => Array.from(v.dataSync())));
    return { logs, params };
  } finally {
    agent.dispose();
    setFused("imagination", true);
  }
}

for (const c of [
  { H: 1, chunk: 0 },
  { H: 3, chunk: 7 }, // 40 start states → chunks of 7, 7, 7, 7, 7, 5
  { H: 5, chunk: 0 },
]) {
  test(`agent steps on the fused path match the tfjs path (H = ${c.H}, chunk ${c.chunk}, masked entries)`, { skip: noAddon }, () => {
    assert.ok(enableBlas());
    const fused = agentRun(c, true);
    const loop = agentRun(c, false);
    fused.logs.forEach((log, i) => {
      for (const [k, v] of Object.entries(loop.logs[i])) {
        assert.ok(Math.abs(log[k] - v) <= 1e-4 * Math.max(1e-3, Math.abs(v)), `step ${i} ${k}: ${log[k]} vs ${v}`);
      }
    });
    assert.ok(relErr(fused.params, loop.params) < 1e-5, `policy parameters: rel err ${relErr(fused.params, loop.params)}`);
  });
}

test("fused agent steps are deterministic for a seed", { skip: noAddon }, () => {
  assert.ok(enableBlas());
  const a = agentRun({ H: 3, chunk: 7 }, true);
  const b = agentRun({ H: 3, chunk: 7 }, true);
  assert.deepEqual(a.logs, b.logs);
  assert.deepEqual(a.params, b.params);
});

test("the fused kernel runs for the box constraint with mean actions, the tfjs loop otherwise", { skip: noAddon }, async () => {
  assert.ok(enableBlas());
  const c = CASES[1];
  const s = setup(c, 40);
  const kernels = async (noise: StepNoise[], nets = s.nets) =>
    (await tf.profile(() => tf.tidy(() => void imagine(nets, s.start, noise).feats.dataSync()))).kernelNames;
  try {
    assert.ok((await kernels(s.noise)).includes("ClapRlImagineForward"));
    // agent.imaginedAction "sample": decoder noise.
    const sampled = s.noise.map((n) => ({ ...n, decoder: randn([c.N, ACT_DIM], 41) }));
    assert.equal(fusedImagination(s.nets, sampled), false);
    assert.ok(!(await kernels(sampled)).includes("ClapRlImagineForward"));
    tf.dispose(sampled.map((n) => n.decoder));
    // policy.constraint "none" and model.latentAction false.
    for (const edit of [(x: ClapConfig) => (x.policy.constraint = "none"), (x: ClapConfig) => (x.model.latentAction = false)]) {
      const nets = buildNetworks(config(c, edit), DIMS, new Rng(42));
      const noise = s.noise.map((n) => ({ policy: randn([c.N, nets.policy.outDim], 43), prior: n.prior }));
      assert.equal(fusedImagination(nets, noise), false);
      const names = await kernels(noise, nets);
      assert.ok(!names.includes("ClapRlImagineForward") && names.length > 0);
      tf.dispose(noise.map((n) => n.policy));
      [nets.model, nets.policy, nets.value].forEach((m) => m.dispose());
    }
    setFused("imagination", false);
    assert.ok(!(await kernels(s.noise)).includes("ClapRlImagineForward"));
  } finally {
    setFused("imagination", true);
    dispose(s);
  }
});

test("repeated fused forward + backward leaves no tensors behind", { skip: noAddon }, () => {
  assert.ok(enableBlas());
  const s = setup(CASES[1], 50);
  try {
    const counts: number[] = [];
    for (let i = 0; i < 4; i++) {
      const { value, grads } = tf.variableGrads(() => lossOf(imagine(s.nets, s.start, s.noise)), s.nets.policy.params());
      tf.dispose([value, ...Object.values(grads)]);
      counts.push(liveTensors());
    }
    assert.deepEqual(counts, new Array(4).fill(counts[0]));
  } finally {
    dispose(s);
  }
});

test("gradients with respect to anything but the policy are refused with a clear error", { skip: noAddon }, () => {
  assert.ok(enableBlas());
  const s = setup(CASES[0], 60);
  try {
    const x = fusedInputs(s, s.nets.policy.imaginationNet().layers.flatMap((l) => [l.w, l.b]));
    assert.throws(() => tf.grads((start: tf.Tensor) => tf.sum(imagineRollout({ ...x, start }).feats))([x.start]), /no gradient with respect to 'start'/);
    tf.dispose([x.start, x.noisePolicy, x.noisePrior]);
  } finally {
    dispose(s);
  }
});

test("CLAP_RL_FUSED_IMAGINATION and CLAP_RL_BLAS switch the fused rollout", () => {
  assert.throws(() => configureBlasFromEnv({ CLAP_RL_FUSED_IMAGINATION: "yes" }), UserError);
  assert.equal(configureBlasFromEnv({ CLAP_RL_BLAS: "0" }).fusedImagination, false);
  assert.equal(fusedActive("imagination"), false);
  assert.throws(() => configureBlasFromEnv({ CLAP_RL_BLAS: "0", CLAP_RL_FUSED_IMAGINATION: "1" }), /CLAP_RL_FUSED_IMAGINATION=1 requires/);
  if (noAddon) return;
  assert.equal(configureBlasFromEnv({ CLAP_RL_FUSED_IMAGINATION: "0" }).fusedImagination, false);
  assert.equal(configureBlasFromEnv({ CLAP_RL_FUSED_IMAGINATION: "0" }).fusedMlp, true, "the switches are independent");
  assert.equal(configureBlasFromEnv({}).fusedImagination, true);
  assert.equal(configureBlasFromEnv({ CLAP_RL_FUSED_IMAGINATION: "1" }).fusedImagination, true);
});

test("bad sizes give clear errors, not a crash", { skip: noAddon }, () => {
  assert.ok(enableBlas());
  const c = CASES[1];
  const s = setup(c, 70);
  const x = fusedInputs(s, s.nets.policy.imaginationNet().layers.flatMap((l) => [l.w, l.b]));
  const wrong = tf.zeros([c.H, c.N + 1, 3]);
  try {
    assert.throws(() => imagineRollout({ ...x, noisePrior: wrong }), /'noisePrior' has shape \[3,6,3\], expected \[3,5,3\]/);
    assert.throws(() => imagineRollout({ ...x, noisePolicy: tf.zeros([c.N, 4]) }), /the noise must be \[H, N, ·\]/);
    assert.throws(() => imagineRollout({ ...x, decoder: { ...x.decoder, act: "relu" } }), /'decoder' must use SELU/);
    const layers = x.prior.layers;
    const swapped = { ...x.prior, layers: [layers[1], layers[0], layers[2]] };
    assert.throws(() => imagineRollout({ ...x, prior: swapped }), /'prior.layers\[1\].w' has shape \[5,7\], expected \[7,7\]/);
    setFused("imagination", false);
    assert.throws(() => imagineRollout(x), /not active/);
    setFused("imagination", true);

    // The addon itself checks every extent before writing anything.
    const lib = blasAddon()!;
    const { N, H } = c;
    const [D, S, U, A, IN] = [5, 3, 4, ACT_DIM, 7];
    const F = D + S;
    const net = (widths: number[]) => ({ widths });
    const dims = {
      rows: N,
      horizon: H,
      deter: D,
      stoch: S,
      latent: U,
      action: A,
      input: IN,
      policy: net([F, 6, 2 * U]),
      latentPrior: net([F, 7, 2 * U]),
      decoder: net([F + U, 7, 2 * A]),
      prior: net([D, 7, 2 * S]),
      meanScale: 5,
      stdShift: 0.5,
      policyMinStd: 1e-4,
      epsilon: 1.5,
      latentMinStd: 0.1,
      stateMinStd: 0.1,
    };
    const f = (n: number) => new Float32Array(n);
    const params = (w: number[]) => ({ w: [f(w[0] * w[1]), f(w[1] * w[2])], b: [f(w[1]), f(w[2])] });
    const ops = () => ({
      start: f(N * F),
      noisePolicy: f(H * N * U),
      noisePrior: f(H * N * S),
      policy: params(dims.policy.widths),
      latentPrior: params(dims.latentPrior.widths),
      decoder: params(dims.decoder.widths),
      prior: params(dims.prior.widths),
      wt: f((S + A) * IN),
      bt: f(IN),
      wi: f(IN * 3 * D),
      bi: f(3 * D),
      wh: f(D * 3 * D),
      bhn: f(D),
      feats: f((H + 1) * N * F),
      logp: f(H * N),
      saved: f(lib.imagineSavedSize(dims)),
    });
    assert.doesNotThrow(() => lib.imagineForward(dims, ops()));
    const bad = ops();
    bad.logp = f(H * N - 1);
    bad.feats.fill(7);
    assert.throws(() => lib.imagineForward(dims, bad), (e: Error) => e instanceof RangeError && /'logp' has 14 elements, expected 15/.test(e.message));
    assert.ok(bad.feats.every((v) => v === 7), "nothing was written");
    assert.throws(() => lib.imagineForward({ ...dims, decoder: net([F, 7, 2 * A]) }, ops()), /'decoder.widths' must run from 12 to 4/);
    assert.throws(() => lib.imagineForward(dims, { ...ops(), policy: { ...ops().policy, b: [f(6)] } }), /'policy.b' must be an array of 2 arrays/);
    assert.throws(() => lib.imagineForward({ ...dims, epsilon: Number.NaN }, ops()), /'epsilon' must be a finite number/);
    const { wh: _, ...missing } = ops();
    assert.throws(() => lib.imagineForward(dims, missing as unknown as ReturnType<typeof ops>), /missing 'wh'/);
  } finally {
    tf.dispose([wrong, x.start, x.noisePolicy, x.noisePrior]);
    dispose(s);
  }
});
