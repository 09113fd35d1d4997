import { before, test } from "node:test";
import assert from "node:assert/strict";
import { initEngine, liveTensors, tf } from "../../src/engine/tf.js";
import { setFused } from "../../src/engine/blas.js";
import { Rng } from "../../src/engine/rng.js";
import { clapPreset as presetConfig, resolveClapConfig as resolveConfig } from "../../src/algorithms/clap/config.js";
import type { ClapConfig } from "../../src/algorithms/clap/config.js";
import { WindowSampler, type WindowBatch } from "../../src/data/windows.js";
import { ClapAgent } from "../../src/algorithms/clap/agent.js";
import { policyAction, type ClapNetworks } from "../../src/algorithms/clap/networks.js";
import { ConstrainedPolicy } from "../../src/algorithms/clap/constrained-policy.js";
import { MODEL_LOSS_TERMS, timeMajor } from "../../src/models/latent-action-model.js";
import { ACT_DIM, OBS_DIM, makeStore } from "./synthetic.js";

before(async () => {
  await initEngine();
});

const DIMS = { obsDim: OBS_DIM, actDim: ACT_DIM };

function tinyConfig(edit: (c: ClapConfig) => void = () => {}): ClapConfig {
  const c = presetConfig("tiny");
  c.agent.epsilon = 1;
  edit(c);
  return resolveConfig(c, "synthetic");
}

/** Mean squared error between decoded policy actions at posterior-mean dataset states and the dataset actions. */
function actionMse(nets: ClapNetworks, batch: WindowBatch, seed?: number): number {
  return tf.tidy(() => {
    const { B, T } = batch;
    const N = B * T;
    const obs = tf.tensor2d(timeMajor(batch.obs, B, T, OBS_DIM), [N, OBS_DIM]);
    const prev = tf.tensor2d(timeMajor(batch.prevAct, B, T, ACT_DIM), [N, ACT_DIM]);
    const { h, z } = nets.model.observe(obs, prev, B, T, null);
    const noise = seed === undefined ? undefined : { policy: tf.randomNormal([N, nets.policy.outDim], 0, 1, "float32", seed) };
    const { action } = policyAction(nets, nets.model.features({ h, z }), noise);
    const act = tf.tensor2d(timeMajor(batch.act, B, T, ACT_DIM), [N, ACT_DIM]);
    const m = tf.tensor1d(timeMajor(batch.actMask, B, T, 1));
    const se = tf.mean(tf.square(tf.sub(action, act)), 1);
    return tf.div(tf.sum(tf.mul(se, m)), tf.sum(m)).dataSync()[0];
  });
}

function actionVariance(batch: WindowBatch): number {
  const vals: number[][] = [[], []];
  for (let i = 0; i < batch.B * batch.T; i++) {
    if (batch.actMask[i]) for (let j = 0; j < ACT_DIM; j++) vals[j].push(batch.act[i * ACT_DIM + j]);
  }
  const v = vals.map((xs) => {
    const m = xs.reduce((a, b) => a + b, 0) / xs.length;
    return xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length;
  });
  return (v[0] + v[1]) / 2;
}

test("model loss falls substantially, and the untrained constrained policy jump-starts at dataset actions", () => {
  // Short windows and a higher learning rate make the latent action carry the behaviour noise within a few hundred
  // steps (before that the decoder ignores u and every policy decodes to the same actions).
  const cfg = tinyConfig((c) => {
    c.data.batch = 16;
    c.data.window = 8;
    c.model.lr = 1e-3;
  });
  const store = makeStore(16, 40, 1);
  const agent = new ClapAgent(cfg, DIMS, new Rng(0));
  const sampler = new WindowSampler(store, { B: 16, T: 8, normalise: true }, new Rng(1));
  const evalBatch = new WindowSampler(store, { B: 16, T: 16, normalise: true }, new Rng(2)).sample();
  const losses: number[] = [];
  let last: Record<string, number> = {};
  for (let i = 0; i < 300; i++) {
    last = agent.modelStep(sampler.sample());
    for (const k of MODEL_LOSS_TERMS) assert.ok(Number.isFinite(last[k]), `term ${k} missing or not finite at step ${i}`);
    losses.push(last.loss);
  }
  const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const first = avg(losses.slice(0, 10));
  const end = avg(losses.slice(-20));
  assert.ok(end < first - 3, `model loss did not fall enough: ${first.toFixed(3)} → ${end.toFixed(3)}`);
  assert.ok(last.kl_u > 0.1, `the latent action carries no information (KL_u = ${last.kl_u}); the comparison below would be vacuous`);

  const variance = actionVariance(evalBatch);
  const modeMse = actionMse(agent.nets, evalBatch);
  const sampleMse = actionMse(agent.nets, evalBatch, 17);
  assert.ok(modeMse < 0.25 * variance, `jump-start (mode): action MSE ${modeMse} vs action variance ${variance}`);
  assert.ok(sampleMse < 0.25 * variance, `jump-start (samples in the ε-box): action MSE ${sampleMse} vs action variance ${variance}`);
  assert.ok(Math.abs(agent.diagnostics({ all: evalBatch, start: evalBatch }).policy_action_mse - modeMse) < 1e-6, "diagnostics report the same jump-start MSE");

  // The no-constraint ablation on the same model, with a wide Gaussian over u: decoded actions are far off.
  const wide = new ConstrainedPolicy({ ...cfg.policy, initStd: 10 }, "none", agent.nets.model.featDim, cfg.model.latentActionDim, 1, new Rng(5));
  const wideMse = actionMse({ ...agent.nets, policy: wide }, evalBatch, 17);
  assert.ok(wideMse > 0.75 * variance, `no-constraint ablation: action MSE ${wideMse} should be of the order of the action variance ${variance}`);
  assert.ok(wideMse > 5 * sampleMse, `no-constraint MSE ${wideMse} vs constrained ${sampleMse}`);
  wide.dispose();
  agent.dispose();
});

test("live tensor count stays flat over model and agent steps", () => {
  const cfg = tinyConfig();
  const store = makeStore(8, 20, 2);
  const agent = new ClapAgent(cfg, DIMS, new Rng(3));
  const sampler = new WindowSampler(store, { B: 4, T: 10, normalise: true }, new Rng(4));
  const diag = sampler.sample();
  for (let i = 0; i < 3; i++) agent.modelStep(sampler.sample());
  const afterModelWarmup = liveTensors();
  for (let i = 0; i < 40; i++) agent.modelStep(sampler.sample());
  assert.equal(liveTensors(), afterModelWarmup, "model steps leak tensors");
  for (let i = 0; i < 3; i++) agent.agentStep(sampler.sample());
  agent.diagnostics({ all: diag, start: diag });
  const afterAgentWarmup = liveTensors();
  for (let i = 0; i < 40; i++) agent.agentStep(sampler.sample());
  agent.diagnostics({ all: diag, start: diag });
  const policy = agent.actingPolicy(null, { stochastic: true, posterior: "sample" });
  policy.reset(1);
  for (let i = 0; i < 20; i++) policy.act(new Float32Array(OBS_DIM).fill(0.1 * i));
  policy.dispose();
  assert.equal(liveTensors(), afterAgentWarmup, "agent steps, diagnostics or acting leak tensors");
  agent.dispose();
});

test("same seed gives the same losses; a different seed does not", () => {
  const run = (seed: number) => {
    const cfg = tinyConfig((c) => (c.seed = seed));
    const store = makeStore(8, 20, 2);
    const agent = new ClapAgent(cfg, DIMS, new Rng(seed));
    const sampler = new WindowSampler(store, { B: 4, T: 10, normalise: true }, new Rng(seed).split("data"));
    const out: number[] = [];
    for (let i = 0; i < 3; i++) out.push(agent.modelStep(sampler.sample()).loss);
    for (let i = 0; i < 3; i++) out.push(agent.agentStep(sampler.sample()).actor_loss);
    agent.dispose();
    return out;
  };
  const a = run(5);
  assert.deepEqual(run(5), a);
  assert.notDeepEqual(run(6), a);
});

test("agent.chunk only bounds memory: a chunked agent step equals the unchunked one", () => {
  const store = makeStore(8, 20, 2);
  const run = (chunk: number) => {
    const agent = new ClapAgent(tinyConfig((c) => (c.agent.chunk = chunk)), DIMS, new Rng(1));
    const sampler = new WindowSampler(store, { B: 4, T: 10, normalise: true }, new Rng(2));
    for (let i = 0; i < 5; i++) agent.modelStep(sampler.sample());
    const logs = [agent.agentStep(sampler.sample()), agent.agentStep(sampler.sample())];
    const params = [...agent.groups().agent.params.values()].map((v) => Array.from(v.dataSync()));
    agent.dispose();
    return { logs, params };
  };
  const whole = run(0);
  const chunked = run(7); // 40 start states → chunks of 7, 7, 7, 7, 7, 5
  whole.logs.forEach((log, i) => {
    for (const [k, v] of Object.entries(log)) {
      assert.ok(Math.abs(chunked.logs[i][k] - v) <= 1e-5 * Math.max(1, Math.abs(v)), `step ${i} ${k}: ${chunked.logs[i][k]} vs ${v}`);
    }
  });
  whole.params.forEach((p, i) => p.forEach((x, j) => assert.ok(Math.abs(chunked.params[i][j] - x) < 1e-5, `parameter ${i}[${j}]`)));
});

test("ablations run end to end with finite losses: no-constraint and no-latent-action", () => {
  for (const edit of [(c: ClapConfig) => (c.policy.constraint = "none"), (c: ClapConfig) => (c.model.latentAction = false)]) {
    const cfg = tinyConfig(edit);
    const store = makeStore(8, 20, 2);
    const agent = new ClapAgent(cfg, DIMS, new Rng(1));
    const sampler = new WindowSampler(store, { B: 4, T: 10, normalise: true }, new Rng(2));
    for (let i = 0; i < 4; i++) {
      const m = agent.modelStep(sampler.sample());
      for (const [k, v] of Object.entries(m)) assert.ok(Number.isFinite(v), `model term ${k} = ${v}`);
    }
    for (let i = 0; i < 4; i++) {
      const a = agent.agentStep(sampler.sample());
      for (const [k, v] of Object.entries(a)) assert.ok(Number.isFinite(v), `agent term ${k} = ${v}`);
    }
    const names = [...agent.groups().model.params.keys()];
    if (!cfg.model.latentAction) {
      assert.ok(!names.some((n) => n.startsWith("u_prior") || n.startsWith("u_post") || n.startsWith("act_dec")), "plain RSSM has no latent-action parts");
      assert.ok(!("act" in agent.modelStep(sampler.sample())), "plain RSSM has no action reconstruction term");
    } else {
      assert.ok(names.some((n) => n.startsWith("u_prior")));
    }
    const p = agent.actingPolicy(null, { stochastic: false, posterior: "mean" });
    p.reset(0);
    const a = p.act(new Float32Array(OBS_DIM).fill(0.5));
    assert.equal(a.length, ACT_DIM);
    assert.ok(a.every((x) => Number.isFinite(x) && Math.abs(x) <= 1));
    p.dispose();
    agent.dispose();
  }
});

test("agent switches: λ-return, discount weighting, sampled imagined actions and a slow value target", () => {
  const store = makeStore(8, 20, 2);
  const cfg = tinyConfig((c) => {
    c.agent.returnTarget = "lambda";
    c.agent.weighting = "discount";
    c.agent.imaginedAction = "sample";
    c.agent.valueTarget = "slow";
    c.agent.slowEvery = 2;
  });
  const agent = new ClapAgent(cfg, DIMS, new Rng(1));
  const sampler = new WindowSampler(store, { B: 4, T: 10, normalise: true }, new Rng(2));
  const values = () => [...agent.groups().agent.params].filter(([k]) => k.startsWith("value/")).map(([, v]) => Array.from(v.dataSync()));
  const slow = () => [...agent.groups().agent.params].filter(([k]) => k.startsWith("slow_value/")).map(([, v]) => Array.from(v.dataSync()));
  assert.deepEqual(slow(), values(), "the slow copy starts equal to the value network");
  for (let i = 0; i < 3; i++) agent.modelStep(sampler.sample());
  const log = agent.agentStep(sampler.sample());
  for (const [k, v] of Object.entries(log)) assert.ok(Number.isFinite(v), `${k} = ${v}`);
  assert.notDeepEqual(slow(), values(), "after one step the slow copy lags");
  agent.agentStep(sampler.sample());
  assert.deepEqual(slow(), values(), "every slowEvery value steps the slow copy is refreshed");
  agent.dispose();
});

test("termination head off gives c ≡ 1 and no termination term; free nats and balance switches change the KL term", () => {
  const store = makeStore(8, 20, 2);
  const batch = new WindowSampler(store, { B: 4, T: 10, normalise: true }, new Rng(2)).sample();
  const terms = (edit: (c: ClapConfig) => void) => {
    const agent = new ClapAgent(tinyConfig(edit), DIMS, new Rng(1));
    const r = tf.tidy(() => {
      const { terms } = agent.nets.model.loss(batch, { posterior: 1, latentAction: 2 });
      return Object.fromEntries(Object.entries(terms).map(([k, v]) => [k, v.dataSync()[0]]));
    });
    agent.dispose();
    return r;
  };
  const base = terms(() => {});
  assert.ok("cont" in base);
  assert.ok(!("cont" in terms((c) => (c.model.termination = false))));
  const free = terms((c) => (c.model.kl.freeNats = 50));
  assert.equal(free.kl_s, 50);
  assert.equal(free.obs, base.obs);
  // Balancing splits the same KL value into two halves of equal value (it changes gradients, not the value).
  const bal = terms((c) => (c.model.kl.balance = 0.8));
  assert.ok(Math.abs(bal.kl_s - base.kl_s) < 1e-4);
});

test("windows of length 1 train on both the tfjs loop and the fused filter", () => {
  const store = makeStore(8, 20, 2);
  const batch = new WindowSampler(store, { B: 4, T: 1, normalise: true }, new Rng(2)).sample();
  const losses: number[] = [];
  for (const fused of [false, true]) {
    setFused("filter", fused);
    try {
      const agent = new ClapAgent(tinyConfig(), DIMS, new Rng(1));
      const log = agent.modelStep(batch);
      assert.ok(Number.isFinite(log.loss) && Number.isFinite(log.grad_norm) && log.grad_norm > 0, JSON.stringify(log));
      losses.push(log.loss);
      agent.dispose();
    } finally {
      setFused("filter", true);
    }
  }
  assert.ok(Math.abs(losses[0] - losses[1]) < 1e-4 * Math.abs(losses[0]), `${losses}`);
});

test("value warm-up: the value regresses on the data's returns-to-go while the actor waits, then both train", () => {
  const cfg = tinyConfig((c) => {
    c.agent.valueWarmup = 30;
    c.agent.lr = 3e-3;
  });
  const store = makeStore(8, 20, 2);
  const agent = new ClapAgent(cfg, DIMS, new Rng(3));
  const sampler = new WindowSampler(store, { B: 4, T: 10, normalise: true, returnsToGo: 0.99 }, new Rng(4));
  const snapshot = (m: { namedParams(): Map<string, tf.Variable> }) => [...m.namedParams().values()].map((v) => Array.from(v.dataSync()));
  const policy0 = snapshot(agent.nets.policy);
  const value0 = snapshot(agent.nets.value);
  const warm: Record<string, number>[] = [];
  // One batch throughout, so the falling loss measures the fit rather than the batches' spread of returns.
  const batch = sampler.sample();
  for (let i = 0; i < 30; i++) warm.push(agent.agentStep(batch));
  assert.ok(warm.every((w) => w.actor_loss === undefined && typeof w.value_target === "number"), "warm-up steps do not step the actor");
  assert.deepEqual(snapshot(agent.nets.policy), policy0, "the policy moved during the warm-up");
  assert.notDeepEqual(snapshot(agent.nets.value), value0);
  const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  assert.ok(avg(warm.slice(-5).map((w) => w.value_loss)) < 0.7 * avg(warm.slice(0, 5).map((w) => w.value_loss)), `the value does not fit the returns: ${warm.map((w) => w.value_loss.toFixed(1)).join(" ")}`);
  const after = agent.agentStep(sampler.sample());
  assert.equal(typeof after.actor_loss, "number", "the actor trains after the warm-up");
  assert.notDeepEqual(snapshot(agent.nets.policy), policy0);
  agent.dispose();
  const fresh = new ClapAgent(cfg, DIMS, new Rng(3));
  assert.throws(() => fresh.agentStep(new WindowSampler(store, { B: 4, T: 10 }, new Rng(4)).sample()), /needs window batches with returns-to-go/);
  fresh.dispose();
});
