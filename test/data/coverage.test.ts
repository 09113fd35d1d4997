/**
 * Window coverage on regenerated environment data (docs/deviations.md, "Window coverage"): how often the training
 * windows show the model an episode's first entry and its termination label. Under the full-window sampler they
 * appear about T times less often than an interior entry — the start-of-episode failure a synthetic linear system
 * (where starts are not special) did not show. Equal coverage must give every entry the same weight.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import test, { before } from "node:test";
import { initEngine } from "../../src/engine/tf.js";
import { Rng } from "../../src/engine/rng.js";
import { generateDataset } from "../../src/regen/generate.js";
import { parseDatasetName } from "../../src/data/registry.js";
import { writeD4rl } from "../../src/data/d4rl.js";
import { loadDataset } from "../../src/data/load.js";
import { WindowSampler } from "../../src/data/windows.js";
import { tempDir } from "./fixtures.js";

before(async () => {
  await initEngine();
});

test("hopper-medium (regenerated): equal coverage samples episode starts and terminations as often as any entry; full windows T-fold less", async (t) => {
  const dir = tempDir(t);
  const path = join(dir, "hopper-medium.hdf5");
  const made = await generateDataset(parseDatasetName("clap:hopper/medium"), { size: 20_000, seed: 0 });
  await writeD4rl(path, made.arrays);
  const store = await loadDataset(path);
  const entries = store.episodes.reduce((a, e) => a + e.length, 0);
  const starts = store.episodes.length;
  const terminals = store.episodes.filter((e) => e.end === "terminal").length;
  assert.ok(starts >= 30 && terminals >= 20, `too few episodes for the check: ${starts} episodes, ${terminals} terminal`);

  const T = 32;
  const rates = (coverage: "equal" | "full") => {
    const sampler = new WindowSampler(store, { B: 64, T, coverage }, new Rng(1));
    let valid = 0;
    let first = 0;
    let ends = 0;
    for (let i = 0; i < 300; i++) {
      const b = sampler.sample();
      for (let k = 0; k < b.mask.length; k++) {
        if (!b.mask[k]) continue;
        valid++;
        first += b.isFirst[k];
        ends += 1 - b.cont[k];
      }
    }
    // Sampled frequency relative to the entries' share of the data (1 = sampled like any other entry).
    return { start: first / valid / (starts / entries), end: ends / valid / (terminals / entries) };
  };
  const equal = rates("equal");
  assert.ok(equal.start > 0.85 && equal.start < 1.15, `equal coverage: episode starts sampled at ${equal.start.toFixed(2)}× their share`);
  assert.ok(equal.end > 0.85 && equal.end < 1.15, `equal coverage: terminations sampled at ${equal.end.toFixed(2)}× their share`);
  const full = rates("full");
  assert.ok(full.start < 0.25 && full.end < 0.25, `full windows should under-sample starts and ends: ${full.start.toFixed(2)}×, ${full.end.toFixed(2)}×`);
});
