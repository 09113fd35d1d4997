/**
 * The canonical alignment (docs/design/datasets.md §5) checked end to end — source rows → loader → store → window
 * sampler — on datasets whose values encode their own row index.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import test from "node:test";
import { Rng } from "../../src/engine/rng.js";
import { writeD4rl } from "../../src/data/d4rl.js";
import { writeH5 } from "../../src/data/h5.js";
import { loadDataset } from "../../src/data/load.js";
import { returnsToGo } from "../../src/data/episode.js";
import { encodeNpz } from "../../src/data/npy.js";
import { WindowSampler, type WindowBatch } from "../../src/data/windows.js";
import { writeFileAtomic } from "../../src/util/atomic.js";
import { actCode, FINAL_OBS, indexedD4rl, tempDir } from "./fixtures.js";

const col = (b: WindowBatch, field: "rew" | "cont" | "actMask" | "isFirst" | "mask", bi = 0) =>
  Array.from(b[field].subarray(bi * b.T, (bi + 1) * b.T));
const obs0 = (b: WindowBatch, bi = 0) => Array.from({ length: b.T }, (_, t) => b.obs[(bi * b.T + t) * 2]);
const act0 = (b: WindowBatch, key: "act" | "prevAct", bi = 0) =>
  Array.from({ length: b.T }, (_, t) => Math.round(b[key][(bi * b.T + t) * b.actDim] * 4096));

test("D4RL locomotion: rows → episodes → windows keep state t, action at t, reward/continuation into t", async (t) => {
  const dir = tempDir(t);
  const path = join(dir, "idx.hdf5");
  // Rows 0–4 end at a terminal, 5–7 at a timeout, 8–9 with both flags (treated as terminal), 10–13 at the file end.
  const arrays = indexedD4rl([{ rows: 5, terminal: true }, { rows: 3, timeout: true }, { rows: 2, terminal: true, timeout: true }, { rows: 4 }], "locomotion");
  await writeD4rl(path, arrays);
  const warnings: string[] = [];
  const store = await loadDataset(path, { onWarning: (w) => warnings.push(`${w.key}[${w.index}]`) });
  assert.deepEqual(warnings, ["timeouts[9]"]);
  assert.deepEqual(store.episodes.map((e) => [e.length, e.end]), [[6, "terminal"], [4, "timeout"], [3, "terminal"], [5, "file-end"]]);
  const ep = store.episodes[0];
  assert.deepEqual(Array.from({ length: 6 }, (_, k) => ep.obs[2 * k]), [0, 1, 2, 3, 4, FINAL_OBS + 4]);
  assert.deepEqual(Array.from(ep.rew), [0, 2000, 2001, 2002, 2003, 2004]);
  assert.deepEqual(Array.from(ep.cont), [1, 1, 1, 1, 1, 0]);
  assert.deepEqual(Array.from(ep.actMask), [1, 1, 1, 1, 1, 0]);
  assert.deepEqual(Array.from(store.episodes[1].cont), [1, 1, 1, 1]);
  assert.deepEqual(Array.from(store.episodes[2].cont), [1, 1, 0]);

  const ws = new WindowSampler(store, { B: 2, T: 4, coverage: "full" }, new Rng(0));
  // Episode 0 has 6 entries: windows start at 0, 1, 2; episode 3 (5 entries) at 0, 1; short episodes once.
  assert.equal(ws.windowCount, 3 + 1 + 1 + 2);
  const w = ws.windowAt(0, 2);
  assert.deepEqual(obs0(w), [2, 3, 4, FINAL_OBS + 4]);
  assert.deepEqual(act0(w, "act"), [2, 3, 4, 0]);
  assert.deepEqual(act0(w, "prevAct"), [1, 2, 3, 4]);
  assert.deepEqual(col(w, "rew"), [2001, 2002, 2003, 2004]);
  assert.deepEqual(col(w, "cont"), [1, 1, 1, 0]);
  assert.deepEqual(col(w, "actMask"), [1, 1, 1, 0]);
  assert.deepEqual(col(w, "isFirst"), [0, 0, 0, 0]);
  assert.deepEqual(col(w, "mask"), [1, 1, 1, 1]);
  const first = ws.windowAt(3, 0);
  assert.deepEqual(obs0(first), [10, 11, 12, 13]);
  assert.deepEqual(act0(first, "prevAct"), [0, 10, 11, 12]);
  assert.deepEqual(col(first, "isFirst"), [1, 0, 0, 0]);
  assert.deepEqual(col(first, "rew"), [0, 2010, 2011, 2012]);
  // Episode 2 (rows 8–9, 3 entries) is shorter than T: one window at 0, zero-padded with mask 0.
  const short = ws.windowAt(2, 0);
  assert.deepEqual(obs0(short), [8, 9, FINAL_OBS + 9, 0]);
  assert.deepEqual(act0(short, "act"), [8, 9, 0, 0]);
  assert.deepEqual(act0(short, "prevAct"), [0, 8, 9, 0]);
  assert.deepEqual(col(short, "rew"), [0, 2008, 2009, 0]);
  assert.deepEqual(col(short, "cont"), [1, 1, 0, 0]);
  assert.deepEqual(col(short, "mask"), [1, 1, 1, 0]);
  assert.throws(() => ws.windowAt(2, 1), /window start 1 out of range \[0, 0\]/);
  assert.throws(() => ws.windowAt(0, 3), /window start 3 out of range \[0, 2\]/);

  // Equal coverage: the truncated windows at both ends put every entry — episode starts and ends included — in
  // exactly T windows; a truncated window starts its row and the rest is padding.
  for (const T of [1, 3, 4, 7]) {
    const eq = new WindowSampler(store, { B: 1, T }, new Rng(0));
    const covered = store.episodes.map((e) => new Array<number>(e.length).fill(0));
    for (let i = 0; i < eq.windowCount; i++) {
      const w = eq.window(i);
      assert.ok(w.length >= 1 && w.length <= T && w.start + w.length <= store.episodes[w.episode].length, `window ${i}: ${JSON.stringify(w)}`);
      for (let k = 0; k < w.length; k++) covered[w.episode][w.start + k]++;
    }
    assert.deepEqual(covered, store.episodes.map((e) => new Array<number>(e.length).fill(T)), `T = ${T}`);
  }
  // Returns-to-go ride along with each entry: those of its own episode, from that entry on.
  const withRtg = new WindowSampler(store, { B: 1, T: 4, returnsToGo: 0.5 }, new Rng(0));
  assert.deepEqual(Array.from(withRtg.windowAt(0, 2).rtg!), Array.from(returnsToGo(store.episodes[0], 0.5).subarray(2, 6), Math.fround));
  assert.equal(ws.windowAt(0, 2).rtg, undefined, "no returns-to-go unless asked for");
  const full = new WindowSampler(store, { B: 1, T: 4, coverage: "full" }, new Rng(0));
  assert.equal(full.window(0).length, 4);
  assert.deepEqual([0, 1, 2].map((i) => full.window(i).start), [0, 1, 2], "full windows of episode 0 start at 0, 1, 2");
  assert.throws(() => new WindowSampler(store, { B: 1, T: 4, coverage: "some" as "full" }, new Rng(0)), /window coverage must be "equal" or "full"/);

  // Every sampled window is internally consistent: the action at an entry is that row's action, the previous
  // action the one before it in the same episode, the reward that of the row before; with equal coverage the
  // truncated windows too.
  for (const coverage of ["full", "equal"] as const) {
    const batch = new WindowSampler(store, { B: 64, T: 3, coverage }, new Rng(9)).sample();
    for (let b = 0; b < batch.B; b++) {
      for (let k = 0; k < batch.T; k++) {
        const i = b * batch.T + k;
        if (!batch.mask[i]) continue;
        const row = batch.obs[2 * i];
        if (row >= FINAL_OBS) {
          assert.equal(batch.actMask[i], 0);
          assert.equal(batch.rew[i], 2000 + row - FINAL_OBS);
          continue;
        }
        assert.equal(batch.act[2 * i], actCode(row, 0));
        assert.equal(batch.act[2 * i + 1], actCode(row, 1));
        assert.equal(batch.prevAct[2 * i], batch.isFirst[i] ? 0 : actCode(row - 1, 0));
        assert.equal(batch.rew[i], batch.isFirst[i] ? 0 : 2000 + row - 1);
      }
      // Padding only after the valid entries of a row.
      const m = col(batch, "mask", b);
      assert.deepEqual(m, [...m].sort((x, y) => y - x), `row ${b}: padding before valid entries`);
      assert.equal(m[0], 1, `row ${b} is empty`);
    }
  }
});

test("D4RL antmaze: split at timeouts only, goal terminals give cont 0 mid-episode, every entry has an action", async (t) => {
  const dir = tempDir(t);
  const path = join(dir, "ant.hdf5");
  await writeD4rl(path, indexedD4rl([{ rows: 6, timeout: true, goals: [2, 3] }, { rows: 4, timeout: true }, { rows: 2 }], "antmaze"));
  const store = await loadDataset(path);
  assert.equal(store.source.layout, "antmaze");
  assert.deepEqual(store.episodes.map((e) => [e.length, e.end]), [[6, "timeout"], [4, "timeout"], [2, "file-end"]]);
  const ep = store.episodes[0];
  assert.deepEqual(Array.from({ length: 6 }, (_, k) => ep.obs[2 * k]), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(Array.from(ep.actMask), [1, 1, 1, 1, 1, 1]);
  // rewards[5] belongs to the transition out of the last row, whose successor is unknown: it is dropped.
  assert.deepEqual(Array.from(ep.rew), [0, 2000, 2001, 2002, 2003, 2004]);
  assert.deepEqual(Array.from(ep.cont), [1, 1, 1, 0, 0, 1]);
  assert.equal(store.counts.terminalTransitions, 2);

  const ws = new WindowSampler(store, { B: 1, T: 4 }, new Rng(0));
  const w = ws.windowAt(0, 2);
  assert.deepEqual(obs0(w), [2, 3, 4, 5]);
  assert.deepEqual(act0(w, "act"), [2, 3, 4, 5]);
  assert.deepEqual(act0(w, "prevAct"), [1, 2, 3, 4]);
  assert.deepEqual(col(w, "cont"), [1, 0, 0, 1]);
  assert.deepEqual(col(w, "actMask"), [1, 1, 1, 1]);
  const w1 = ws.windowAt(1, 0);
  assert.deepEqual(obs0(w1), [6, 7, 8, 9]);
  assert.deepEqual(col(w1, "rew"), [0, 2006, 2007, 2008]);
  assert.deepEqual(col(w1, "isFirst"), [1, 0, 0, 0]);
  const short = ws.windowAt(2, 0);
  assert.deepEqual(obs0(short), [10, 11, 0, 0]);
  assert.deepEqual(col(short, "mask"), [1, 1, 0, 0]);
  assert.deepEqual(col(short, "actMask"), [1, 1, 0, 0]);
});

test("V-D4RL npz: action[t+1] is the action taken at o_t, reward[t] is the reward into o_t; images scaled /255 − 0.5", async (t) => {
  const dir = tempDir(t);
  const n = 6;
  const image = new Uint8Array(n * 2 * 2 * 3);
  for (let i = 0; i < n; i++) image.fill(10 * i, i * 12, (i + 1) * 12);
  const action = new Float32Array(n * 2);
  for (let i = 1; i < n; i++) [action[2 * i], action[2 * i + 1]] = [actCode(1000 + i, 0), actCode(1000 + i, 1)];
  const reward = Float32Array.from({ length: n }, (_, i) => (i === 0 ? 0 : 2000 + i));
  const flags = (f: (i: number) => boolean) => ({ data: Uint8Array.from({ length: n }, (_, i) => (f(i) ? 1 : 0)), shape: [n], bool: true });
  writeFileAtomic(
    join(dir, "20240101T000000-aa-6.npz"),
    encodeNpz({
      image: { data: image, shape: [n, 2, 2, 3] },
      action: { data: action, shape: [n, 2] },
      reward: { data: reward, shape: [n] },
      discount: { data: new Float32Array(n).fill(1), shape: [n] },
      is_first: flags((i) => i === 0),
      is_last: flags((i) => i === n - 1),
      is_terminal: flags(() => false),
    }),
  );
  const store = await loadDataset(dir);
  const ep = store.episodes[0];
  assert.equal(ep.end, "timeout");
  assert.deepEqual(ep.obsShape, [2, 2, 3]);
  assert.deepEqual(Array.from({ length: n }, (_, t) => Math.round(ep.act[2 * t] * 4096)), [1001, 1002, 1003, 1004, 1005, 0]);
  assert.deepEqual(Array.from(ep.rew), [0, 2001, 2002, 2003, 2004, 2005]);
  assert.deepEqual(Array.from(ep.actMask), [1, 1, 1, 1, 1, 0]);
  assert.deepEqual(Array.from(ep.cont), [1, 1, 1, 1, 1, 1]);

  const ws = new WindowSampler(store, { B: 1, T: 4, normalise: true }, new Rng(0));
  const w = ws.windowAt(0, 2);
  assert.equal(w.obs.length, 4 * 12);
  assert.deepEqual(Array.from({ length: 4 }, (_, t) => w.obs[t * 12 + 5]), [20, 30, 40, 50].map((v) => Math.fround(v / 255 - 0.5)));
  assert.deepEqual(act0(w, "act"), [1003, 1004, 1005, 0]);
  assert.deepEqual(act0(w, "prevAct"), [1002, 1003, 1004, 1005]);
  assert.deepEqual(col(w, "rew"), [2002, 2003, 2004, 2005]);
  assert.deepEqual(col(w, "actMask"), [1, 1, 1, 0]);
});

test("Minari: observations T+1, rewards and terminations shifted into the next entry", async (t) => {
  const dir = tempDir(t);
  const T = 4;
  await writeH5(join(dir, "data", "main_data.hdf5"), (w) => {
    w.group("episode_0");
    w.array("episode_0/observations", { data: Float64Array.from({ length: (T + 1) * 2 }, (_, i) => Math.floor(i / 2)), shape: [T + 1, 2] });
    w.array("episode_0/actions", { data: Float32Array.from({ length: T * 2 }, (_, i) => actCode(Math.floor(i / 2), i % 2)), shape: [T, 2] });
    w.array("episode_0/rewards", { data: Float64Array.from({ length: T }, (_, i) => 2000 + i), shape: [T] });
    w.array("episode_0/terminations", { data: Int8Array.from([0, 0, 0, 1]), shape: [T] });
    w.array("episode_0/truncations", { data: Int8Array.from([0, 0, 0, 0]), shape: [T] });
  });
  const store = await loadDataset(dir);
  const ep = store.episodes[0];
  assert.equal(ep.end, "terminal");
  assert.ok(ep.obs instanceof Float32Array, "float64 observations are converted to float32");
  assert.deepEqual(Array.from({ length: T + 1 }, (_, k) => ep.obs[2 * k]), [0, 1, 2, 3, 4]);
  assert.deepEqual(Array.from(ep.rew), [0, 2000, 2001, 2002, 2003]);
  assert.deepEqual(Array.from(ep.cont), [1, 1, 1, 1, 0]);
  assert.deepEqual(Array.from({ length: T + 1 }, (_, k) => Math.round(ep.act[2 * k] * 4096)), [0, 1, 2, 3, 0]);
});
