import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { initEngine, liveTensors, tf } from "../../src/engine/tf.js";
import { blasAddon, blasAvailable, blasStatus, configureBlasFromEnv, enableBlas, fusedActive, setFused } from "../../src/engine/blas.js";
import { mlpForward, type MlpLayer } from "../../src/engine/fused-mlp.js";
import { MLP, activate, type Activation } from "../../src/engine/nn.js";
import { Rng } from "../../src/engine/rng.js";
import { UserError } from "../../src/errors.js";
import { clapPreset as presetConfig, resolveClapConfig as resolveConfig } from "../../src/algorithms/clap/config.js";
import { WindowSampler } from "../../src/data/windows.js";
import { ClapAgent } from "../../src/algorithms/clap/agent.js";
import { ACT_DIM, OBS_DIM, makeStore } from "../method/synthetic.js";
import { gradError, randn, relErr } from "../helpers/gradcheck.js";

// Evaluated at load time so tests can declare their skip reason; loading the addon needs no engine.
const noAddon = blasAvailable() ? false : `native addon not built: ${blasStatus().reason}`;

before(async () => {
  await initEngine();
});

after(() => configureBlasFromEnv({}));

/** Random layers in → widths[0] → … with weights scaled so pre-activations are O(1) and both SELU branches occur. */
function makeLayers(inDim: number, widths: number[], seed: number): MlpLayer[] {
  const dims = [inDim, ...widths];
  return widths.map((w, j) => ({ w: randn([dims[j], w], seed + 2 * j, 1 / Math.sqrt(dims[j])), b: randn([w], seed + 2 * j + 1, 0.3) }));
}

/** The MLP with one tfjs op per matmul, bias and activation, independent of nn.ts. */
function reference(x: tf.Tensor, layers: MlpLayer[], act: Activation, activateInput: boolean): tf.Tensor {
  let h = x;
  layers.forEach((l, j) => {
    if (j > 0 || activateInput) h = activate(h, act);
    h = tf.add(tf.matMul(h as tf.Tensor2D, l.w as tf.Tensor2D), l.b);
  });
  return h;
}

const flat = (layers: MlpLayer[]) => layers.flatMap((l) => [l.w, l.b]);
const unflat = (ps: tf.Tensor[]): MlpLayer[] => Array.from({ length: ps.length / 2 }, (_, j) => ({ w: ps[2 * j], b: ps[2 * j + 1] }));

/** Σ C ⊙ y with fixed random coefficients C. */
function lossOf(y: tf.Tensor): tf.Scalar {
  return tf.sum(tf.mul(y, randn(y.shape, 99))) as tf.Scalar;
}

type Net = (x: tf.Tensor, layers: MlpLayer[]) => tf.Tensor;

/** The loss's gradients with respect to x and every layer tensor, through `net`. */
function gradsOf(net: Net, x: tf.Tensor, layers: MlpLayer[]): Float32Array[] {
  return tf.tidy(() => {
    const g = tf.grads((xi: tf.Tensor, ...ps: tf.Tensor[]) => lossOf(net(xi, unflat(ps))))([x, ...flat(layers)]);
    return g.map((t) => t.dataSync() as Float32Array);
  });
}

function assertClose(got: Float32Array[], want: Float32Array[], tol: number, what: string): void {
  assert.equal(got.length, want.length);
  want.forEach((w, i) => {
    assert.ok(w.some((v) => v !== 0), `${what}: reference ${i} is identically zero`);
    const e = relErr(got[i], w);
    assert.ok(e < tol, `${what}: entry ${i}: rel err ${e}`);
  });
}

const IN = 7;
for (const L of [1, 2, 3]) {
  for (const activateInput of [false, true]) {
    for (const rows of [1, 512]) {
      test(`fused forward and every gradient equal the tfjs ops (L = ${L}, activateInput = ${activateInput}, ${rows} rows)`, { skip: noAddon }, () => {
        assert.ok(enableBlas());
        const layers = makeLayers(IN, [9, 6, 5].slice(3 - L), 10 * L);
        const x = randn([rows, IN], 3, 1.2);
        try {
          tf.tidy(() => {
            const fused = mlpForward(x, layers, "selu", activateInput);
            const ref = reference(x, layers, "selu", activateInput);
            assert.deepEqual(fused.shape, ref.shape);
            const e = relErr(fused.dataSync() as Float32Array, ref.dataSync() as Float32Array);
            assert.ok(e < 1e-5, `forward: rel err ${e}`);
          });
          const fusedGrads = gradsOf((xi, ls) => mlpForward(xi, ls, "selu", activateInput), x, layers);
          const refGrads = gradsOf((xi, ls) => reference(xi, ls, "selu", activateInput), x, layers);
          assertClose(fusedGrads, refGrads, 1e-4, "gradients");
        } finally {
          tf.dispose([x, ...flat(layers)]);
        }
      });
    }
  }
}

for (const act of ["tanh", "relu", "elu", "none"] as const) {
  test(`fused MLP matches the tfjs ops with ${act} (forward and gradients)`, { skip: noAddon }, () => {
    assert.ok(enableBlas());
    const layers = makeLayers(IN, [9, 8, 5], 40);
    const x = randn([33, IN], 4, 1.2);
    try {
      for (const activateInput of [false, true]) {
        tf.tidy(() => {
          const e = relErr(mlpForward(x, layers, act, activateInput).dataSync() as Float32Array, reference(x, layers, act, activateInput).dataSync() as Float32Array);
          assert.ok(e < 1e-5, `forward (activateInput ${activateInput}): rel err ${e}`);
        });
        const fusedGrads = gradsOf((xi, ls) => mlpForward(xi, ls, act, activateInput), x, layers);
        assertClose(fusedGrads, gradsOf((xi, ls) => reference(xi, ls, act, activateInput), x, layers), 1e-4, `${act}, activateInput ${activateInput}`);
      }
    } finally {
      tf.dispose([x, ...flat(layers)]);
    }
  });
}

test("fused gradients agree with finite differences (float32)", { skip: noAddon }, () => {
  assert.ok(enableBlas());
  const layers = makeLayers(4, [5, 6, 3], 50);
  const x = randn([6, 4], 5, 1.2);
  // A small step: SELU's derivative jumps at 0, and a central difference that straddles that kink is off by
  // several %; at 1e-3 none of these probes does, and the float32 rounding of the difference stays near 1e-4.
  const err = gradError((xi, ...ps) => lossOf(mlpForward(xi, unflat(ps), "selu", true)), [x, ...flat(layers)], { eps: 1e-3, probes: 6 });
  assert.ok(err < 2e-3, `max |fd − analytic| / max |analytic| = ${err}`);
  tf.dispose([x, ...flat(layers)]);
});

/** The loss's gradients with respect to `wrt` only (the others are constants), and the fused gradient kernels run. */
async function partialGrads(net: Net, x: tf.Tensor, layers: MlpLayer[], wrt: "x" | "weights"): Promise<{ grads: Float32Array[]; gradKernels: number }> {
  let grads: Float32Array[] = [];
  const prof = await tf.profile(() => {
    tf.tidy(() => {
      const g =
        wrt === "x"
          ? tf.grads((xi: tf.Tensor) => lossOf(net(xi, layers)))([x])
          : tf.grads((...ps: tf.Tensor[]) => lossOf(net(x, unflat(ps))))(flat(layers));
      grads = g.map((t) => t.dataSync() as Float32Array);
    });
  });
  return { grads, gradKernels: prof.kernels.filter((k) => k.name === "ClapRlMlpGrads").length };
}

test("gradients of only the input or only the weights are right, and the pruned products are skipped", { skip: noAddon }, async () => {
  assert.ok(enableBlas());
  const layers = makeLayers(IN, [9, 8, 5], 60);
  const x = randn([40, IN], 6, 1.2);
  const fused: Net = (xi, ls) => mlpForward(xi, ls, "selu", true);
  const ref: Net = (xi, ls) => reference(xi, ls, "selu", true);
  try {
    const onlyX = await partialGrads(fused, x, layers, "x");
    assertClose(onlyX.grads, (await partialGrads(ref, x, layers, "x")).grads, 1e-4, "only dX");
    assert.equal(onlyX.gradKernels, 1, "dX alone is one product, no weight gradient");
    const onlyW = await partialGrads(fused, x, layers, "weights");
    assertClose(onlyW.grads, (await partialGrads(ref, x, layers, "weights")).grads, 1e-4, "only the weights");
    assert.equal(onlyW.gradKernels, 3, "one product per weight, none for dX");
  } finally {
    tf.dispose([x, ...flat(layers)]);
  }
});

test("repeated fused forward + backward leaves no tensors behind", { skip: noAddon }, () => {
  assert.ok(enableBlas());
  const layers = makeLayers(IN, [9, 8, 5], 70);
  const x = randn([20, IN], 7);
  const counts: number[] = [];
  for (let i = 0; i < 5; i++) {
    const all = tf.valueAndGrads((xi: tf.Tensor, ...ps: tf.Tensor[]) => lossOf(mlpForward(xi, unflat(ps), "selu")))([x, ...flat(layers)]);
    tf.dispose([all.value, ...all.grads]);
    // Only some inputs differentiated: the unrequested gradients must not leak either.
    const part = tf.valueAndGrads((xi: tf.Tensor) => lossOf(mlpForward(xi, layers, "selu")))([x]);
    tf.dispose([part.value, ...part.grads]);
    // Outside any tidy scope the caller owns exactly the output.
    mlpForward(x, layers, "selu", true).dispose();
    counts.push(liveTensors());
  }
  assert.deepEqual(counts, new Array(5).fill(counts[0]));
  tf.dispose([x, ...flat(layers)]);
});

test("MLP.apply and applyFromFirst run one fused kernel when it is on and the tfjs kernels when it is off", { skip: noAddon }, async () => {
  assert.ok(enableBlas());
  const net = new MLP(IN, [9, 8], 5, new Rng(1));
  const x = randn([12, IN], 8) as tf.Tensor2D;
  // applyFromFirst takes the first layer's output.
  const pre = tf.tidy(() => net.first.apply(x));
  const run = async (on: boolean) => {
    setFused("mlp", on);
    assert.equal(fusedActive("mlp"), on);
    let out: Float32Array[] = [];
    const prof = await tf.profile(() => {
      tf.tidy(() => {
        out = [net.apply(x), net.applyFromFirst(pre)].map((t) => t.dataSync() as Float32Array);
      });
    });
    return { out, names: prof.kernels.map((k) => k.name) };
  };
  try {
    const on = await run(true);
    const off = await run(false);
    // The profile lists the op itself too, under its scope's name, as it does for tf.customGrad ops.
    assert.deepEqual(on.names.filter((k) => k !== "unnamed scope"), ["ClapRlMlpForward", "ClapRlMlpForward"]);
    assert.ok(!off.names.some((k) => k.startsWith("ClapRlMlp")) && off.names.length >= 10, `tfjs path ran ${off.names}`);
    on.out.forEach((o, i) => assert.ok(relErr(o, off.out[i]) < 1e-5, `output ${i}: rel err ${relErr(o, off.out[i])}`));
    // apply(x) is applyFromFirst of the first layer's output.
    assert.ok(relErr(on.out[0], on.out[1]) < 1e-6);
  } finally {
    setFused("mlp", true);
    tf.dispose([x, pre]);
    net.dispose();
  }
});

test("CLAP_RL_FUSED_MLP and CLAP_RL_BLAS switch the fused MLP", () => {
  try {
    assert.throws(() => configureBlasFromEnv({ CLAP_RL_FUSED_MLP: "yes" }), UserError);
    assert.equal(configureBlasFromEnv({ CLAP_RL_BLAS: "0" }).fusedMlp, false);
    assert.equal(fusedActive("mlp"), false);
    assert.throws(() => configureBlasFromEnv({ CLAP_RL_BLAS: "0", CLAP_RL_FUSED_MLP: "1" }), /CLAP_RL_FUSED_MLP=1 requires/);
    if (noAddon) return;
    assert.equal(configureBlasFromEnv({ CLAP_RL_FUSED_MLP: "0" }).fusedMlp, false);
    assert.equal(configureBlasFromEnv({ CLAP_RL_FUSED_MLP: "0" }).fusedFilter, true, "the switches are independent");
    assert.equal(configureBlasFromEnv({}).fusedMlp, true);
    assert.equal(configureBlasFromEnv({ CLAP_RL_FUSED_MLP: "1" }).fusedMlp, true);
  } finally {
    configureBlasFromEnv({});
  }
});

test("bad shapes give clear errors, not a crash", { skip: noAddon }, () => {
  assert.ok(enableBlas());
  const layers = makeLayers(IN, [9, 5], 80);
  const x = randn([4, IN], 9);
  const wrong = tf.zeros([8, 5]);
  const vec = tf.zeros([IN]);
  const ints = tf.zeros([4, IN], "int32");
  try {
    assert.throws(() => mlpForward(vec, layers, "selu"), /fused MLP: 'x' must be a matrix \(got shape \[7\]\)/);
    assert.throws(() => mlpForward(ints, layers, "selu"), /'x' must be float32/);
    assert.throws(() => mlpForward(x, [layers[0], { w: wrong, b: layers[1].b }], "selu"), /'layers\[1\].w' has shape \[8,5\], expected \[9,5\]/);
    assert.throws(() => mlpForward(x, [layers[0], { w: layers[1].w, b: layers[0].b }], "selu"), /'layers\[1\].b' has shape \[9\], expected \[5\]/);
    assert.throws(() => mlpForward(x, [], "selu"), /needs 1 to 64 layers/);
    setFused("mlp", false);
    assert.throws(() => mlpForward(x, layers, "selu"), /not active/);
    setFused("mlp", true);

    // The addon itself checks every extent before writing anything.
    const lib = blasAddon()!;
    const dims = { rows: 4, widths: [IN, 9, 5], act: "selu" as const, activateInput: true };
    const f = (n: number) => new Float32Array(n);
    const ops = () => ({ x: f(4 * IN), w: [f(IN * 9), f(9 * 5)], b: [f(9), f(5)], y: f(4 * 5), saved: f(4 * (IN + 9)) });
    assert.doesNotThrow(() => lib.mlpForward(dims, ops()));
    const bad = { ...ops(), saved: f(4 * 9) };
    bad.y.fill(7);
    assert.throws(() => lib.mlpForward(dims, bad), (e: Error) => e instanceof RangeError && /'saved' has 36 elements, expected 64/.test(e.message));
    assert.ok(bad.y.every((v) => v === 7), "nothing was written");
    assert.throws(() => lib.mlpForward({ ...dims, widths: [IN, 9, 6] }, ops()), /'w\[1\]' has 45 elements, expected 54/);
    assert.throws(() => lib.mlpForward({ ...dims, act: "gelu" as "selu" }, ops()), /'act' must be one of/);
    assert.throws(() => lib.mlpForward({ ...dims, rows: -1 }, ops()), RangeError);
    assert.throws(() => lib.mlpForward({ ...dims, widths: [IN] }, ops()), RangeError);
    assert.throws(() => lib.mlpForward(dims, { ...ops(), b: [f(9)] }), /'b' must be an array of 2 arrays/);
    assert.throws(() => lib.mlpForward(dims, { ...ops(), x: new Float64Array(4 * IN) as unknown as Float32Array }), TypeError);
    const { y: _, ...missing } = ops();
    assert.throws(() => lib.mlpForward(dims, missing as unknown as ReturnType<typeof ops>), /missing 'y'/);
    const back = { w: [f(IN * 9), f(9 * 5)], saved: f(4 * (IN + 9)), dy: f(4 * 5), deltas: f(4 * 9), db: [f(9), f(5)] };
    assert.doesNotThrow(() => lib.mlpBackward(dims, back));
    assert.throws(() => lib.mlpBackward(dims, { ...back, deltas: f(4 * 9 + 1) }), /'deltas' has 37 elements, expected 36/);
    const grads = { x: f(4 * IN), w0: f(IN * 9), saved: back.saved, dy: back.dy, deltas: back.deltas, dx: null, dw: [null, f(9 * 5)] };
    assert.doesNotThrow(() => lib.mlpGrads(dims, grads));
    assert.throws(() => lib.mlpGrads(dims, { ...grads, dw: [null, f(9 * 4)] }), /'dw\[1\]' has 36 elements, expected 45/);
    assert.throws(() => lib.mlpGrads(dims, { ...grads, dx: f(3) }), /'dx' has 3 elements/);
  } finally {
    setFused("mlp", true);
    tf.dispose([x, wrong, vec, ints, ...flat(layers)]);
  }
});

/** A tiny C-LAP agent on the method tests' synthetic data, and one window batch of it. */
function tinyAgent() {
  const c = presetConfig("tiny");
  c.agent.epsilon = 1;
  const cfg = resolveConfig(c, "synthetic");
  const agent = new ClapAgent(cfg, { obsDim: OBS_DIM, actDim: ACT_DIM }, new Rng(5));
  const batch = new WindowSampler(makeStore(16, 40, 1), { B: 8, T: 8, normalise: true }, new Rng(6)).sample();
  return { agent, batch };
}

/** Runs `f` under tf.profile and checks that the fused MLP kernels ran exactly when the fused path is on. */
async function onPath<T>(fused: boolean, f: () => T): Promise<T> {
  setFused("mlp", fused);
  let out: T | undefined;
  const prof = await tf.profile(() => {
    out = f();
  });
  const ran = ["ClapRlMlpForward", "ClapRlMlpBackward", "ClapRlMlpGrads"].filter((k) => prof.kernelNames.includes(k));
  assert.deepEqual(ran, fused ? ["ClapRlMlpForward", "ClapRlMlpBackward", "ClapRlMlpGrads"] : []);
  return out as T;
}

/** The model loss and every model parameter's gradient, on the fused path or the tfjs one. */
function modelLossAndGrads(fused: boolean): Promise<Float32Array[]> {
  const { agent, batch } = tinyAgent();
  const model = agent.nets.model;
  return onPath(fused, () =>
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => model.loss(batch, { posterior: 11, latentAction: 12 }).loss, model.params());
      return [value, ...model.params().map((p) => grads[p.name])].map((t) => t.dataSync() as Float32Array);
    }),
  ).finally(() => agent.dispose());
}

test("the model loss and gradients match between the fused MLP and the tfjs path", { skip: noAddon }, async () => {
  assert.ok(enableBlas());
  try {
    const fused = await modelLossAndGrads(true);
    const plain = await modelLossAndGrads(false);
    assert.ok(relErr(fused[0], plain[0]) < 1e-5, `loss: ${fused[0][0]} vs ${plain[0][0]}`);
    assertClose(fused.slice(1), plain.slice(1), 1e-4, "model gradients");
  } finally {
    setFused("mlp", true);
  }
});

/** One model step then one agent step: their logs and the policy and value parameters after them. */
function agentResults(fused: boolean): Promise<{ logs: Record<string, number>; params: Float32Array[] }> {
  const { agent, batch } = tinyAgent();
  return onPath(fused, () => {
    const logs = { ...agent.modelStep(batch), ...agent.agentStep(batch) };
    const params = [...agent.nets.policy.params(), ...agent.nets.value.params()].map((p) => p.dataSync() as Float32Array);
    return { logs, params };
  }).finally(() => agent.dispose());
}

test("one agent step gives the same results on the fused MLP and the tfjs path", { skip: noAddon }, async () => {
  assert.ok(enableBlas());
  try {
    const fused = await agentResults(true);
    const plain = await agentResults(false);
    assert.deepEqual(Object.keys(fused.logs), Object.keys(plain.logs));
    for (const [k, v] of Object.entries(plain.logs)) {
      assert.ok(Math.abs(fused.logs[k] - v) <= 1e-4 * Math.max(1, Math.abs(v)), `${k}: ${fused.logs[k]} vs ${v}`);
    }
    assert.ok(fused.params.length > 0);
    fused.params.forEach((p, i) => assert.ok(relErr(p, plain.params[i]) < 1e-5, `parameter ${i}: rel err ${relErr(p, plain.params[i])}`));
  } finally {
    setFused("mlp", true);
  }
});
