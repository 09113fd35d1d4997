/**
 * PLAS (docs/design/method.md §17.1): the gradients of the VAE and critic losses, the soft clipped double-Q target,
 * the configured latent bound, the VAE's fit, and which parameters each step moves.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { initEngine, tf } from "../../src/engine/tf.js";
import { Rng } from "../../src/engine/rng.js";
import { TransitionSampler } from "../../src/data/transitions.js";
import { buildRunConfig, resolveRunConfig } from "../../src/algorithms/registry.js";
import { PlasAgent } from "../../src/algorithms/plas/agent.js";
import type { PlasConfig } from "../../src/algorithms/plas/config.js";
import { LatentActor, PlasVae, softClippedTarget, TwinCritic } from "../../src/algorithms/plas/networks.js";
import { paramGradError, randn } from "../helpers/gradcheck.js";
import { ACT_DIM, OBS_DIM, makeStore } from "./synthetic.js";

before(async () => {
  await initEngine();
});

function config(...sets: string[]): PlasConfig {
  return resolveRunConfig(buildRunConfig("plas", { preset: "tiny", sets }), "hopper-medium") as PlasConfig;
}

const dims = { obsDim: OBS_DIM, actDim: ACT_DIM };

function pick(params: Map<string, tf.Variable>, names: string[]): tf.Variable[] {
  return names.map((n) => {
    const v = params.get(n);
    assert.ok(v, `parameter ${n}; have ${[...params.keys()].join(", ")}`);
    return v;
  });
}

test("the VAE loss and the critic loss have the gradients finite differences give", () => {
  const c = config("vae.hidden=8", "agent.criticHidden1=8", "agent.criticHidden2=6", "agent.actorHidden1=8", "agent.actorHidden2=6");
  const vae = new PlasVae(c.vae, OBS_DIM, ACT_DIM, new Rng(1));
  const actor = new LatentActor(c.agent, OBS_DIM, ACT_DIM, vae.latentDim, new Rng(2));
  const critic = new TwinCritic(c.agent, OBS_DIM, ACT_DIM, new Rng(3));
  const targetCritic = new TwinCritic(c.agent, OBS_DIM, ACT_DIM, new Rng(4));
  const obs = randn([5, OBS_DIM], 5) as tf.Tensor2D;
  const act = tf.tanh(randn([5, ACT_DIM], 6)) as tf.Tensor2D;
  const noise = randn([5, vae.latentDim], 7) as tf.Tensor2D;
  const next = randn([5, OBS_DIM], 8) as tf.Tensor2D;
  try {
    const vaeErr = paramGradError(pick(vae.namedParams(), ["encoder/l0/w", "encoder/l2/b", "decoder/l1/w", "decoder/l2/w"]), () => vae.loss(obs, act, noise).loss);
    assert.ok(vaeErr < 1e-2, `VAE loss gradient error ${vaeErr}`);
    const target = tf.tidy(() => {
      const [q1, q2] = targetCritic.both(next, actor.action(next, vae));
      return softClippedTarget(tf.tensor1d([1, 0, -1, 0.5, 2]), tf.tensor1d([1, 1, 0, 1, 1]), q1, q2, 0.99, 0.75);
    });
    const criticErr = paramGradError(pick(critic.namedParams(), ["q1/l0/w", "q1/l2/b", "q2/l1/w", "q2/l2/w"]), () => critic.loss(obs, act, target).loss);
    target.dispose();
    assert.ok(criticErr < 1e-2, `critic loss gradient error ${criticErr}`);
  } finally {
    tf.dispose([obs, act, noise, next]);
    for (const m of [vae, actor, critic, targetCritic]) m.dispose();
  }
});

test("the soft clipped double-Q target matches hand-computed values", () => {
  const [y, yMin] = tf.tidy(() => {
    const args = [tf.tensor1d([1, 0.5, -1]), tf.tensor1d([1, 0, 1]), tf.tensor1d([2, 3, -4]), tf.tensor1d([4, 1, -2])] as const;
    return [softClippedTarget(...args, 0.9, 0.75), softClippedTarget(...args, 0.9, 1)].map((t) => Array.from(t.dataSync()));
  });
  // Row 0: 1 + 0.9·(0.75·2 + 0.25·4); row 1 ends the episode: r alone; row 2: −1 + 0.9·(0.75·(−4) + 0.25·(−2)).
  const expected = [3.25, 0.5, -4.15];
  y.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-5, `row ${i}: ${v} vs ${expected[i]}`));
  // λ = 1 is the clipped double-Q minimum of TD3/BCQ.
  [2.8, 0.5, -4.6].forEach((e, i) => assert.ok(Math.abs(yMin[i] - e) < 1e-5, `λ = 1, row ${i}: ${yMin[i]} vs ${e}`));
});

test("the configured max latent action is the bound the actor applies", () => {
  const agent = new PlasAgent(config("agent.maxLatentAction=0.7"), dims, new Rng(1));
  try {
    // Saturate tanh: the last layer's weights × 1000.
    for (const name of ["latent/l2/w", "latent/l2/b"]) {
      const [v] = pick(agent.actor.namedParams(), [name]);
      tf.tidy(() => v.assign(tf.mul(v, 1000)));
    }
    const z = tf.tidy(() => tf.abs(agent.actor.latent(randn([64, OBS_DIM], 3) as tf.Tensor2D)));
    const values = z.dataSync();
    z.dispose();
    const max = Math.max(...values);
    assert.ok(max <= 0.7, `|z| reached ${max} > 0.7`);
    assert.ok(max > 0.69, `|z| only reached ${max}: tanh not saturated, so the bound was not exercised`);
  } finally {
    agent.dispose();
  }
});

test("the VAE's reconstruction error falls over 200 steps", () => {
  const c = config("vae.lr=1e-3");
  const agent = new PlasAgent(c, dims, new Rng(1));
  const sampler = new TransitionSampler(makeStore(8, 30, 2), { B: 64, normalise: true }, new Rng(3));
  try {
    const recon = Array.from({ length: 200 }, () => agent.step("model", sampler.sample()).recon);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const [first, last] = [mean(recon.slice(0, 20)), mean(recon.slice(-20))];
    assert.ok(last < 0.5 * first, `reconstruction MSE ${first} → ${last}`);
  } finally {
    agent.dispose();
  }
});

/** Every parameter's values by "<group>/<name>". */
function snapshot(agent: PlasAgent): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [group, g] of Object.entries(agent.groups())) for (const [k, v] of g.params) out.set(`${group}/${k}`, v.dataSync().slice() as Float32Array);
  return out;
}

/** The prefixes ("model/vae", "agent/actor", …) of the parameters that differ between two snapshots. */
function moved(a: Map<string, Float32Array>, b: Map<string, Float32Array>): string[] {
  const out = new Set<string>();
  for (const [k, v] of a) if (v.some((x, i) => x !== b.get(k)![i])) out.add(k.split("/").slice(0, 2).join("/"));
  return [...out].sort();
}

test("the critic step moves only the critics, the actor step only the actor, and the targets follow by Polyak averaging", () => {
  const c = config("agent.perturbation=0.05");
  const agent = new PlasAgent(c, dims, new Rng(1));
  const sampler = new TransitionSampler(makeStore(8, 30, 2), { B: 32, normalise: true }, new Rng(3));
  try {
    const s0 = snapshot(agent);
    agent.criticStep(sampler.sample());
    const s1 = snapshot(agent);
    assert.deepEqual(moved(s0, s1), ["agent/critic"]);
    agent.actorStep(sampler.sample());
    const s2 = snapshot(agent);
    assert.deepEqual(moved(s1, s2), ["agent/actor"]);

    // A whole agent step: the targets (copies of the online networks at the start) move by τ towards them.
    agent.step("agent", sampler.sample());
    const s3 = snapshot(agent);
    const tau = c.agent.tau;
    let worst = 0;
    for (const [k, online] of s3) {
      const m = /^agent\/(actor|critic)\/(.*)$/.exec(k);
      if (!m) continue;
      const before = s0.get(`agent/target_${m[1]}/${m[2]}`)!;
      const after = s3.get(`agent/target_${m[1]}/${m[2]}`)!;
      assert.deepEqual(before, s0.get(k), `${k}: the target starts as a copy`);
      online.forEach((x, i) => (worst = Math.max(worst, Math.abs(after[i] - (tau * x + (1 - tau) * before[i])))));
    }
    assert.ok(worst < 1e-6, `target update off by ${worst}`);
  } finally {
    agent.dispose();
  }
});

test("PLAS+P's perturbation stays within φ of the decoded action and inside the action box", () => {
  const agent = new PlasAgent(config("agent.perturbation=0.05"), dims, new Rng(1));
  try {
    const [action, decoded] = tf.tidy(() => {
      const obs = randn([64, OBS_DIM], 4, 3) as tf.Tensor2D;
      return [agent.actor.action(obs, agent.vae), agent.vae.decode(obs, agent.actor.latent(obs))].map((t) => t.dataSync());
    });
    let shift = 0;
    action.forEach((a, i) => {
      assert.ok(Math.abs(a) <= 1, `action ${a} outside [−1, 1]`);
      shift = Math.max(shift, Math.abs(a - decoded[i]));
    });
    assert.ok(shift > 0 && shift <= 0.05 + 1e-6, `perturbation ${shift}`);
  } finally {
    agent.dispose();
  }
});
