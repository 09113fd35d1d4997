import { before, test } from "node:test";
import assert from "node:assert/strict";
import { initEngine, tf } from "../../src/engine/tf.js";
import { Rng } from "../../src/engine/rng.js";
import { clapPreset as presetConfig } from "../../src/algorithms/clap/config.js";
import { LatentActionModel, timeMajor } from "../../src/models/latent-action-model.js";
import { makeEnv } from "../../src/envs/registry.js";
import type { MujocoEnv } from "../../src/envs/mujoco-env.js";
import {
  actionCheck,
  compareSegments,
  contactSegments,
  filteredFeatures,
  fitNormal,
  fixedSegments,
  floorContacts,
  klNormal1d,
  nearestNeighbours,
  perStepStats,
} from "../../src/report/action-check.js";
import { makeStore } from "../method/synthetic.js";
import { EpisodeStore } from "../../src/data/store.js";
import type { Episode } from "../../src/data/episode.js";

before(async () => {
  await initEngine();
});

test("nearestNeighbours: exact k nearest, nearest first, lower index on ties", () => {
  // Points on a line at x = 0, 1, …, 9 (2-D, y = 0), shuffled.
  const xs = [7, 2, 9, 0, 4, 1, 8, 3, 6, 5];
  const points = Float32Array.from(xs.flatMap((x) => [x, 0]));
  const queries = Float32Array.from([3.2, 0, -5, 0, 4.5, 1]);
  const nn = nearestNeighbours(points, queries, 2, 3);
  const at = (q: number) => Array.from(nn.subarray(q * 3, q * 3 + 3), (i) => xs[i]);
  assert.deepEqual(at(0), [3, 4, 2]);
  assert.deepEqual(at(1), [0, 1, 2]);
  // 4.5 is equally far from 4 (index 4) and 5 (index 9): the lower index comes first.
  assert.deepEqual(at(2), [4, 5, 3]);
  // Against a sort of all distances on random data.
  const rng = new Rng(3);
  const P = Float32Array.from({ length: 200 * 3 }, () => rng.normal());
  const Q = Float32Array.from({ length: 5 * 3 }, () => rng.normal());
  const got = nearestNeighbours(P, Q, 3, 20);
  for (let q = 0; q < 5; q++) {
    const d = Array.from({ length: 200 }, (_, p) => [p, (P[p * 3] - Q[q * 3]) ** 2 + (P[p * 3 + 1] - Q[q * 3 + 1]) ** 2 + (P[p * 3 + 2] - Q[q * 3 + 2]) ** 2]);
    d.sort((a, b) => a[1] - b[1] || a[0] - b[0]);
    assert.deepEqual(Array.from(got.subarray(q * 20, q * 20 + 20)), d.slice(0, 20).map((x) => x[0]));
  }
  assert.throws(() => nearestNeighbours(P, Q, 3, 201), /exceeds/);
});

test("Normal fits and KL", () => {
  const f = fitNormal([1, 2, 3, 4]);
  assert.equal(f.mean, 2.5);
  assert.ok(Math.abs(f.std - Math.sqrt(1.25)) < 1e-12);
  // KL(N(0,1) ‖ N(1,2)) = ln 2 + (1 + 1)/8 − 1/2.
  assert.ok(Math.abs(klNormal1d({ mean: 0, std: 1 }, { mean: 1, std: 2 }) - (Math.log(2) + 0.25 - 0.5)) < 1e-12);
  assert.equal(klNormal1d({ mean: 0.3, std: 0.2 }, { mean: 0.3, std: 0.2 }), 0);
  // Degenerate stds are floored, so KL stays finite.
  assert.ok(Number.isFinite(klNormal1d({ mean: 1, std: 0 }, { mean: 0, std: 0 })));
});

test("segments: contact runs and fixed blocks", () => {
  assert.deepEqual(contactSegments([false, false, true, true, true, false]), [
    { start: 0, end: 2, kind: "flight" },
    { start: 2, end: 5, kind: "stance" },
    { start: 5, end: 6, kind: "flight" },
  ]);
  assert.deepEqual(
    fixedSegments(7, 3).map((s) => [s.start, s.end]),
    [
      [0, 3],
      [3, 6],
      [6, 7],
    ],
  );
});

test("segment and per-step statistics pool the right entries", () => {
  // L = 4 steps, k = 2 neighbours, A = 2 dims; value = 100·step + 10·neighbour + dim.
  const L = 4;
  const k = 2;
  const A = 2;
  const data = new Float32Array(L * k * A);
  for (let t = 0; t < L; t++) for (let j = 0; j < k; j++) for (let d = 0; d < A; d++) data[(t * k + j) * A + d] = 100 * t + 10 * j + d;
  const gen = data.map((v) => v + 1);
  const segs = compareSegments(data, gen, k, A, [
    { start: 0, end: 1, kind: "fixed" },
    { start: 1, end: 4, kind: "fixed" },
  ]);
  assert.equal(segs[0].dims[1].data.mean, 6); // dim 1 at step 0: 1, 11
  assert.equal(segs[0].dims[1].data.std, 5);
  assert.equal(segs[1].dims[0].data.mean, 205); // dim 0 at steps 1–3: 100, 110, 200, 210, 300, 310
  assert.equal(segs[1].dims[0].generated.mean, 206);
  const s = perStepStats(data, L, k, A);
  assert.deepEqual(s.mean[1], [6, 106, 206, 306]);
  assert.deepEqual(s.std[0], [5, 5, 5, 5]);
});

test("floor contacts: a hopper standing on the floor touches it, one lifted 0.5 m does not", async () => {
  const env = (await makeEnv("hopper")) as MujocoEnv;
  const { nq, nv } = env.sim;
  const q0 = env.sim.qpos0();
  env.close();
  // rootz = 1.25 puts the foot just above the floor; lowered by 0.05 it rests on it.
  const qpos = Float32Array.from([...q0.map((v, i) => (i === 1 ? v - 0.05 : v)), ...q0.map((v, i) => (i === 1 ? v + 0.5 : v))]);
  const qvel = new Float32Array(2 * nv);
  const c = await floorContacts("hopper", { cols: nq, perEpisode: [qpos] }, { cols: nv, perEpisode: [qvel] }, 0, 2);
  assert.deepEqual(c, [true, false]);
  assert.equal(await floorContacts("hopper", { cols: nq + 1, perEpisode: [qpos] }, { cols: nv, perEpisode: [qvel] }, 0, 1), null);
});

function tinyModel(obsDim: number, actDim: number): LatentActionModel {
  const cfg = { ...presetConfig("tiny").model, hidden: 16, embed: 16, deter: 16, stoch: 4, latentActionDim: 2 };
  return new LatentActionModel(cfg, { obsDim, actDim }, new Rng(5));
}

test("filtered features equal the model's own posterior filter over the episode", () => {
  const store = makeStore(4, 12, 2);
  const model = tinyModel(store.obsSize, store.actDim);
  try {
    // Requests in several episodes at different steps: the batch shrinks as episodes reach their last step.
    const requests = [
      { episode: 2, step: 11 },
      { episode: 0, step: 3 },
      { episode: 2, step: 0 },
      { episode: 1, step: 7 },
    ];
    const F = model.featDim;
    const got = filteredFeatures(model, store, null, requests);
    for (const [i, r] of requests.entries()) {
      const ep = store.episodes[r.episode];
      const T = r.step + 1;
      const D = store.obsSize;
      const A = store.actDim;
      const prev = new Float32Array(T * A);
      prev.set(ep.act.subarray(0, (T - 1) * A), A);
      const want = tf.tidy(() => {
        const o = model.observe(tf.tensor2d(timeMajor(ep.obs.slice(0, T * D) as Float32Array, 1, T, D), [T, D]), tf.tensor2d(prev, [T, A]), 1, T, null);
        return tf.slice(tf.concat([o.h, o.z], 1), [r.step, 0], [1, F]).dataSync();
      });
      for (let j = 0; j < F; j++) assert.ok(Math.abs(got[i * F + j] - want[j]) < 1e-5, `request ${i} feature ${j}: ${got[i * F + j]} vs ${want[j]}`);
    }
  } finally {
    model.dispose();
  }
});

test("action check: neighbours' dataset actions follow the behaviour policy; shapes and segments are consistent", async () => {
  // The synthetic behaviour is a near-deterministic function of the state, so neighbours' actions sit close to
  // the query's own action: the check must find them (a wrong index mapping would scatter them).
  const store = makeStore(12, 30, 4, 0.01);
  const model = tinyModel(store.obsSize, store.actDim);
  try {
    const r = await actionCheck({ model, store, modelStats: store.obsStats, searchStats: store.obsStats! }, { k: 5, seed: 1, segmentLength: 10, episode: 3 });
    assert.equal(r.steps, 30);
    assert.equal(r.pool, 11 * 30);
    assert.equal(r.segmentation, "fixed");
    assert.deepEqual(
      r.segments.map((s) => [s.start, s.end]),
      [
        [0, 10],
        [10, 20],
        [20, 30],
      ],
    );
    const q = store.episodes[3];
    // Mean absolute gap between the neighbours' mean action and the query's action, against the gap to the query's
    // own action from a step half an episode away (what an unrelated neighbour set would give).
    let near = 0;
    let far = 0;
    for (let t = 0; t < r.steps; t++) {
      for (let d = 0; d < 2; d++) {
        near += Math.abs(r.perStep.dataMean[d][t] - q.act[t * 2 + d]);
        far += Math.abs(q.act[((t + 15) % 30) * 2 + d] - q.act[t * 2 + d]);
      }
    }
    assert.ok(near < 0.1 * far, `neighbour actions are ${near} off in total, unrelated ones ${far}`);
    for (const row of [...r.perStep.genMean, ...r.perStep.genStd]) assert.ok(row.length === 30 && row.every(Number.isFinite));
    for (const row of r.perStep.genMean) assert.ok(row.every((v) => v >= -1 && v <= 1));
    const again = await actionCheck({ model, store, modelStats: store.obsStats, searchStats: store.obsStats! }, { k: 5, seed: 1, segmentLength: 10, episode: 3 });
    assert.deepEqual(again.overall, r.overall, "same seed, same samples");
  } finally {
    model.dispose();
  }
});

test("action check: each step's neighbours are the same step of the other episodes, with their own actions", async () => {
  // Every episode sees observations 0, 1, …, 5; episode e takes action (100·e + t)/1000 at step t. The 3 nearest
  // rows to step t outside the checked episode are exactly step t of the 3 other episodes.
  const E = 4;
  const L = 6;
  const episodes: Episode[] = Array.from({ length: E }, (_, e) => {
    const n = L + 1;
    const actMask = new Float32Array(n).fill(1);
    actMask[L] = 0;
    const isFirst = new Float32Array(n);
    isFirst[0] = 1;
    return {
      length: n,
      obsShape: [1],
      obs: Float32Array.from({ length: n }, (_, t) => t),
      actDim: 1,
      act: Float32Array.from({ length: n }, (_, t) => (t < L ? (100 * e + t) / 1000 : 0)),
      actMask,
      rew: new Float32Array(n),
      cont: new Float32Array(n).fill(1),
      isFirst,
      end: "timeout",
    };
  });
  const store = new EpisodeStore(episodes);
  const model = tinyModel(1, 1);
  try {
    const r = await actionCheck({ model, store, modelStats: store.obsStats, searchStats: store.obsStats! }, { k: 3, seed: 0, segmentLength: 4, episode: 1 });
    const others = [0, 2, 3];
    for (let t = 0; t < L; t++) {
      const acts = others.map((e) => (100 * e + t) / 1000);
      const want = fitNormal(acts);
      assert.ok(Math.abs(r.perStep.dataMean[0][t] - want.mean) < 1e-6, `step ${t}: mean ${r.perStep.dataMean[0][t]} vs ${want.mean}`);
      assert.ok(Math.abs(r.perStep.dataStd[0][t] - want.std) < 1e-6, `step ${t}: std`);
    }
    assert.equal(r.pool, 3 * L);
    assert.deepEqual(
      r.segments.map((s) => [s.start, s.end]),
      [
        [0, 4],
        [4, 6],
      ],
    );
  } finally {
    model.dispose();
  }
});
