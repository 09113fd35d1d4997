import { before, test } from "node:test";
import assert from "node:assert/strict";
import { initEngine, tf } from "../../src/engine/tf.js";
import { Rng } from "../../src/engine/rng.js";
import { SacActor, SacAgent, TwinQ, resolveSacConfig } from "../../src/algorithms/sac.js";
import { UserError } from "../../src/errors.js";
import { variablesToArrays, type NamedArray } from "../../src/engine/serialize.js";
import { randn } from "../helpers/gradcheck.js";

before(async () => {
  await initEngine();
});

/** Plain-JS forward pass of a ReLU MLP stored as `<prefix>l<i>/{w,b}` ([in,out] weights). */
function mlpForward(arrays: Map<string, NamedArray>, prefix: string, x: number[]): number[] {
  let h = x;
  for (let i = 0; arrays.has(`${prefix}l${i}/w`); i++) {
    const w = arrays.get(`${prefix}l${i}/w`)!;
    const b = arrays.get(`${prefix}l${i}/b`)!;
    const [fin, fout] = w.shape;
    const out = new Array<number>(fout).fill(0);
    for (let o = 0; o < fout; o++) {
      let s = b.data[o];
      for (let k = 0; k < fin; k++) s += h[k] * w.data[k * fout + o];
      out[o] = s;
    }
    h = arrays.has(`${prefix}l${i + 1}/w`) ? out.map((v) => Math.max(0, v)) : out;
  }
  return h;
}

test("critic target matches a hand computation on a tiny batch", () => {
  const obsDim = 3;
  const actDim = 2;
  const agent = new SacAgent(obsDim, actDim, new Rng(3), { hidden: [5, 4], initAlpha: 0.7, gamma: 0.9 });
  const B = 3;
  const nextObs = [0.5, -1, 0.2, 1.5, 0.3, -0.7, -0.2, 0.9, 1.1];
  const rew = [1, -0.5, 2];
  const terminal = [0, 1, 0];
  const seed = 1234;
  const y = agent.targetValue({ rew: tf.tensor1d(rew), nextObs: tf.tensor2d(nextObs, [B, obsDim]), terminal: tf.tensor1d(terminal) }, seed);
  const got = Array.from(y.dataSync());
  // The reparameterisation noise the target draws: Normal.rsample uses tf.randomNormal(shape, 0, 1, seed).
  const eps = tf.randomNormal([B, actDim], 0, 1, "float32", seed).dataSync();
  const arrays = variablesToArrays(agent.group().params);
  for (let i = 0; i < B; i++) {
    const s = nextObs.slice(i * obsDim, (i + 1) * obsDim);
    const out = mlpForward(arrays, "actor/", s);
    const a: number[] = [];
    let logPi = 0;
    for (let j = 0; j < actDim; j++) {
      const logStd = Math.min(2, Math.max(-20, out[actDim + j]));
      const e = eps[i * actDim + j];
      const pre = out[j] + Math.exp(logStd) * e;
      a.push(Math.tanh(pre));
      logPi += -0.5 * e * e - logStd - 0.5 * Math.log(2 * Math.PI) - Math.log(1 - Math.tanh(pre) ** 2 + 1e-6);
    }
    const q1 = mlpForward(arrays, "critic_target/q1/", [...s, ...a])[0];
    const q2 = mlpForward(arrays, "critic_target/q2/", [...s, ...a])[0];
    const expected = rew[i] + 0.9 * (1 - terminal[i]) * (Math.min(q1, q2) - 0.7 * logPi);
    assert.ok(Math.abs(got[i] - expected) < 1e-4 * (1 + Math.abs(expected)), `row ${i}: ${got[i]} vs ${expected}`);
  }
  assert.equal(got[1], -0.5, "a terminal transition does not bootstrap");
  agent.dispose();
});

function randomBatch(rng: Rng, B: number, obsDim: number, actDim: number) {
  const f = (n: number, scale = 1) => Float32Array.from({ length: n }, () => scale * rng.normal());
  return { obs: f(B * obsDim), act: f(B * actDim).map(Math.tanh), rew: f(B), nextObs: f(B * obsDim), terminal: new Float32Array(B) };
}

test("the temperature rises when the entropy target is above the policy's entropy and falls when below", () => {
  const rng = new Rng(5);
  const batch = randomBatch(rng, 16, 4, 2);
  const alphaAfter = (targetEntropy: number) => {
    const agent = new SacAgent(4, 2, new Rng(1), { hidden: [8, 8], batchSize: 16, targetEntropy, lr: 0.01 });
    const before = agent.alpha;
    let last = before;
    for (let k = 0; k < 3; k++) last = (agent.update(batch, new Rng(k)), agent.alpha);
    agent.dispose();
    return { before, after: last };
  };
  const high = alphaAfter(50);
  const low = alphaAfter(-50);
  assert.ok(high.after > high.before, `target entropy 50: alpha ${high.before} -> ${high.after} should rise`);
  assert.ok(low.after < low.before, `target entropy -50: alpha ${low.before} -> ${low.after} should fall`);
});

test("MOBILE's reading: the deterministic backup drops the entropy term, the floor clamps the target, α can stay fixed", () => {
  const obsDim = 3;
  const actDim = 2;
  const B = 4;
  const batch = { rew: tf.tensor1d([1, -30, 2, -40]), nextObs: randn([B, obsDim], 6) as tf.Tensor2D, terminal: tf.tensor1d([0, 1, 0, 0]) };
  const make = (cfg: Record<string, unknown>) => new SacAgent(obsDim, actDim, new Rng(3), { hidden: [5, 4], initAlpha: 0.7, gamma: 0.9, ...cfg });
  const soft = make({});
  const det = make({ deterministicBackup: true });
  const floored = make({ deterministicBackup: true, targetFloor: 0 });
  const [ys, yd, yf] = [soft, det, floored].map((a) => Array.from(a.targetValue(batch, 77).dataSync()));
  // The same sampled next action (same seed), so the difference is exactly γ (1 − d) α log π(a'|s').
  const dist = soft.policy(batch.nextObs);
  const { x, y } = dist.rsample(77);
  const logPi = dist.logProbPre(y, x).dataSync();
  const terminal = [0, 1, 0, 0];
  for (let i = 0; i < B; i++) {
    const expected = ys[i] + 0.9 * (1 - terminal[i]) * 0.7 * logPi[i];
    assert.ok(Math.abs(yd[i] - expected) < 1e-4 * (1 + Math.abs(expected)), `row ${i}: deterministic ${yd[i]} vs ${expected}`);
    assert.equal(yf[i], Math.max(0, yd[i]), `row ${i}: floored at 0`);
  }
  assert.ok(yd.some((v) => v < 0), "the floor has something to clamp");
  const fixed = make({ autoAlpha: false, lr: 0.01, batchSize: B });
  const alphaBefore = fixed.alpha;
  fixed.update(randomBatch(new Rng(8), 16, obsDim, actDim), new Rng(1));
  assert.equal(fixed.alpha, alphaBefore, "autoAlpha off: α does not move");
  tf.dispose([batch.rew, batch.nextObs, batch.terminal, x, y]);
  for (const a of [soft, det, floored, fixed]) a.dispose();
});

test("per-part learning rates reach their optimisers and bad values are refused", () => {
  const cfg = resolveSacConfig({ lr: 3e-4, actorLr: 1e-4, alphaLr: 1e-4 });
  assert.deepEqual([cfg.actorLr, cfg.criticLr, cfg.alphaLr], [1e-4, null, 1e-4]);
  assert.throws(() => resolveSacConfig({ criticLr: -1 }), /criticLr must be a positive number/);
  assert.throws(() => resolveSacConfig({ targetFloor: Number.NaN }), /targetFloor must be a number or null/);
  const agent = new SacAgent(3, 1, new Rng(1), { hidden: [4], actorLr: 1e-4, criticLr: 3e-4, alphaLr: 2e-4 });
  const lrs = Object.values(agent.group().optimisers).map((o) => o.lr);
  assert.deepEqual(lrs, [1e-4, 3e-4, 2e-4]);
  agent.dispose();
});

test("a frozen critic passes the same input gradient as the trainable one", () => {
  const q = new TwinQ(5, [7, 6], new Rng(2));
  const x = tf.randomNormal([4, 5], 0, 1, "float32", 9) as tf.Tensor2D;
  const gFrozen = tf.grad((xi: tf.Tensor) => tf.sum(q.apply(xi as tf.Tensor2D, true)))(x).dataSync();
  const gPlain = tf.grad((xi: tf.Tensor) => tf.sum(q.apply(xi as tf.Tensor2D, false)))(x).dataSync();
  const vFrozen = q.apply(x, true).dataSync();
  const vPlain = q.apply(x, false).dataSync();
  for (let i = 0; i < gPlain.length; i++) assert.ok(Math.abs(gFrozen[i] - gPlain[i]) < 1e-5);
  for (let i = 0; i < vPlain.length; i++) assert.ok(Math.abs(vFrozen[i] - vPlain[i]) < 1e-6);
  assert.ok(gPlain.some((g) => Math.abs(g) > 1e-3), "the gradient is not trivially zero");
  q.dispose();
});

test("SAC learns a contextual bandit: the greedy action approaches the rewarded one", () => {
  // Reward −(a − 0.5·tanh(obs₀))² with γ = 0: the optimal action is 0.5·tanh(obs₀).
  const rng = new Rng(11);
  const agent = new SacAgent(2, 1, new Rng(4), { hidden: [32, 32], batchSize: 64, gamma: 0, lr: 3e-3, initAlpha: 0.05 });
  const best = (o: number) => 0.5 * Math.tanh(o);
  const error = () => {
    let e = 0;
    for (let k = 0; k < 20; k++) {
      const o = -2 + (4 * k) / 19;
      e += Math.abs(agent.act([o, 1], null).action[0] - best(o));
    }
    return e / 20;
  };
  const before = error();
  const policyRng = new Rng(8);
  for (let step = 0; step < 400; step++) {
    const B = 64;
    const obs = new Float32Array(B * 2);
    const act = new Float32Array(B);
    const rew = new Float32Array(B);
    for (let i = 0; i < B; i++) {
      obs[2 * i] = rng.uniformRange(-2, 2);
      obs[2 * i + 1] = 1;
      act[i] = agent.act(obs.subarray(2 * i, 2 * i + 2), policyRng).action[0];
      rew[i] = -((act[i] - best(obs[2 * i])) ** 2);
    }
    agent.update({ obs, act, rew, nextObs: obs, terminal: new Float32Array(B) }, rng);
  }
  const after = error();
  agent.dispose();
  assert.ok(after < 0.1 && after < before / 2, `mean action error ${before.toFixed(3)} -> ${after.toFixed(3)}`);
});

test("actor files round-trip and sampled log-probabilities match the tanh-Gaussian density", () => {
  const agent = new SacAgent(3, 2, new Rng(6), { hidden: [8, 8] });
  const actor = SacActor.fromArrays(agent.policyArrays(), "memory");
  const obs = [0.1, -0.4, 0.9];
  assert.deepEqual(Array.from(actor.act(obs, null).action), Array.from(agent.act(obs, null).action));
  const s = agent.act(obs, new Rng(3));
  const lp = tf.tidy(() => agent.policy(tf.tensor2d([obs])).logProb(tf.tensor2d([Array.from(s.action)])).dataSync()[0]);
  assert.ok(Math.abs(lp - s.logProb) < 1e-3 * (1 + Math.abs(lp)), `${lp} vs ${s.logProb}`);
  actor.net.dispose();
  agent.dispose();
  assert.throws(() => SacActor.fromArrays(new Map(), "empty.bin"), UserError);
  assert.throws(() => resolveSacConfig({ gamma: 2 }), /gamma/);
});
