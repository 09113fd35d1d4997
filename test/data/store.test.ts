import assert from "node:assert/strict";
import test from "node:test";
import { Rng } from "../../src/engine/rng.js";
import type { Episode } from "../../src/data/episode.js";
import { inspectStore } from "../../src/data/inspect.js";
import { EpisodeStore, OBS_STD_FLOOR, obsStatsFromJson, obsStatsToJson } from "../../src/data/store.js";
import { WindowSampler } from "../../src/data/windows.js";
import { randomEpisode } from "./fixtures.js";

function vectorEpisode(obs: number[][], rew: number[], end: Episode["end"]): Episode {
  const n = obs.length;
  const d = obs[0].length;
  return {
    length: n,
    obsShape: [d],
    obs: Float32Array.from(obs.flat()),
    actDim: 1,
    act: Float32Array.from({ length: n }, (_, t) => (t < n - 1 ? 0.1 * t - 0.5 : 0)),
    actMask: Float32Array.from({ length: n }, (_, t) => (t < n - 1 ? 1 : 0)),
    rew: Float32Array.from(rew),
    cont: Float32Array.from({ length: n }, (_, t) => (end === "terminal" && t === n - 1 ? 0 : 1)),
    isFirst: Float32Array.from({ length: n }, (_, t) => (t === 0 ? 1 : 0)),
    end,
  };
}

test("store: counts, per-dimension stats with the std floor, JSON round trip, return/length stats", () => {
  const store = new EpisodeStore([
    vectorEpisode([[0, 5], [2, 5], [4, 5]], [0, 1, 2], "terminal"),
    vectorEpisode([[6, 5], [8, 5]], [0, 10], "timeout"),
  ]);
  const c = store.counts;
  assert.deepEqual(
    [c.episodes, c.entries, c.transitions, c.terminalEpisodes, c.timeoutEpisodes, c.fileEndEpisodes, c.terminalTransitions],
    [2, 5, 3, 1, 1, 0, 1],
  );
  const s = store.obsStats!;
  assert.deepEqual(Array.from(s.mean), [4, 5]);
  assert.equal(s.std[0], Math.fround(Math.sqrt(8)));
  assert.equal(s.std[1], Math.fround(OBS_STD_FLOOR), "constant dimension floored");
  const back = obsStatsFromJson(JSON.parse(JSON.stringify(obsStatsToJson(s))));
  assert.deepEqual(back, s);
  assert.throws(() => obsStatsFromJson({ mean: [1], std: [0] }), /std must be positive/);
  assert.deepEqual(store.returnStats(), { mean: 6.5, std: 3.5, min: 3, max: 10 });
  assert.deepEqual(store.lengthStats(), { mean: 1.5, std: 0.5, min: 1, max: 2 });
  const summary = inspectStore(store, { normalise: (r) => r * 10 });
  assert.deepEqual(summary.normalisedReturns, { mean: 65, std: 35, min: 30, max: 100 });
  assert.deepEqual(summary.actionRange, { min: [-0.5], max: [Math.fround(-0.4)] });
  assert.deepEqual(summary.ends, { terminal: 1, timeout: 1, fileEnd: 0 });
});

test("store: mismatched episodes are rejected with the episode named", () => {
  const a = vectorEpisode([[0, 1], [1, 1]], [0, 1], "timeout");
  const b = vectorEpisode([[0, 1, 2], [1, 1, 2]], [0, 1], "timeout");
  assert.throws(() => new EpisodeStore([a, b]), /episode 1: observation shape \[3\] differs from \[2\]/);
  assert.throws(() => new EpisodeStore([]), /no episodes/);
});

test("windows: z-scored with the store's stats, deterministic per seed, uniform over (episode, start)", () => {
  const rng = new Rng(11);
  const eps = [
    randomEpisode(rng, { entries: 20, obsShape: [3], actDim: 2, end: "timeout" }),
    randomEpisode(rng, { entries: 5, obsShape: [3], actDim: 2, end: "terminal" }),
    randomEpisode(rng, { entries: 12, obsShape: [3], actDim: 2, end: "file-end" }),
  ];
  const store = new EpisodeStore(eps);
  const { mean, std } = store.obsStats!;
  const ws = new WindowSampler(store, { B: 1, T: 8, normalise: true }, new Rng(0));
  const w = ws.windowAt(0, 3);
  for (let i = 0; i < 8 * 3; i++) {
    assert.ok(Math.abs(w.obs[i] - (eps[0].obs[9 + i] - mean[i % 3]) / std[i % 3]) < 1e-5);
  }
  const raw = new WindowSampler(store, { B: 1, T: 8 }, new Rng(0)).windowAt(0, 3);
  assert.deepEqual(Array.from(raw.obs), Array.from(eps[0].obs.subarray(9, 9 + 24)));

  const a = new WindowSampler(store, { B: 16, T: 8 }, new Rng(5)).sample();
  const b = new WindowSampler(store, { B: 16, T: 8 }, new Rng(5)).sample();
  const c = new WindowSampler(store, { B: 16, T: 8 }, new Rng(6)).sample();
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.obs, c.obs);

  // Full windows: 13 in episode 0, 1 (padded) in episode 1, 5 in episode 2; start frequencies should be uniform
  // (equal coverage's truncated windows are counted exactly in alignment.test.ts).
  const sampler = new WindowSampler(store, { B: 500, T: 8, coverage: "full" }, new Rng(1));
  assert.equal(sampler.windowCount, 19);
  const key = (x: number) => x.toFixed(6);
  const starts = new Map<string, string>();
  eps.forEach((ep, e) => {
    for (let s = 0; s < Math.max(1, ep.length - 7); s++) starts.set(key(ep.obs[s * 3]), `${e}:${s}`);
  });
  const counts = new Map<string, number>();
  for (let r = 0; r < 20; r++) {
    const batch = sampler.sample();
    for (let bi = 0; bi < batch.B; bi++) {
      const id = starts.get(key(batch.obs[bi * 8 * 3]));
      assert.ok(id, "every window starts at a valid (episode, start)");
      counts.set(id!, (counts.get(id!) ?? 0) + 1);
    }
  }
  assert.equal(counts.size, 19);
  const expected = 10000 / 19;
  for (const [id, n] of counts) assert.ok(Math.abs(n - expected) < 5 * Math.sqrt(expected), `${id}: ${n} draws, expected ≈ ${expected.toFixed(0)}`);
});
