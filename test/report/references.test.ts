import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Episode } from "../../src/data/episode.js";
import { returnsToGo } from "../../src/data/episode.js";
import { runReferences, valueReferences } from "../../src/report/references.js";

/** An episode from per-entry rewards and continuations; `acted` entries carry an action. */
function episode(rew: number[], cont: number[], acted: number, end: Episode["end"]): Episode {
  const n = rew.length;
  const actMask = new Float32Array(n);
  actMask.fill(1, 0, acted);
  const isFirst = new Float32Array(n);
  isFirst[0] = 1;
  return { length: n, obsShape: [1], obs: new Float32Array(n), actDim: 1, act: new Float32Array(n), actMask, rew: Float32Array.from(rew), cont: Float32Array.from(cont), isFirst, end };
}

// γ = 0.5 keeps the hand sums exact.
const terminalEp = episode([0, 1, 2, 3], [1, 1, 1, 0], 3, "terminal"); // G = 2.75, 3.5, 3, (0)
const timeoutEp = episode([0, 4, -2], [1, 1, 1], 2, "timeout"); // G = 3, −2, (0): no bootstrap after the timeout
const midTerminalEp = episode([0, 1, 1, 1], [1, 0, 1, 1], 3, "timeout"); // antmaze-style goal at entry 1: G = 1, 1.5, 1

test("return-to-go: discounted within the episode, cut at terminals, no bootstrap at timeouts", () => {
  assert.deepEqual(Array.from(returnsToGo(terminalEp, 0.5)), [2.75, 3.5, 3, 0]);
  assert.deepEqual(Array.from(returnsToGo(timeoutEp, 0.5)), [3, -2, 0]);
  assert.deepEqual(Array.from(returnsToGo(midTerminalEp, 0.5)), [1, 1.5, 1, 0]);
});

test("references: mean over acted states and mean over episodes of the maximum", () => {
  const r = valueReferences([terminalEp, timeoutEp, midTerminalEp], 0.5);
  assert.equal(r.states, 8);
  assert.equal(r.episodes, 3);
  assert.ok(Math.abs(r.averageReturn - (2.75 + 3.5 + 3 + 3 - 2 + 1 + 1.5 + 1) / 8) < 1e-12, `averageReturn ${r.averageReturn}`);
  assert.ok(Math.abs(r.averageMaxReturn - (3.5 + 3 + 1.5) / 3) < 1e-12, `averageMaxReturn ${r.averageMaxReturn}`);
  assert.ok(Math.abs(r.averageEpisodeReturn - (6 + 2 + 3) / 3) < 1e-12);
  // γ = 1: plain sums.
  const r1 = valueReferences([timeoutEp], 1);
  assert.equal(r1.averageReturn, (2 + -2) / 2);
  assert.equal(r1.averageMaxReturn, 2);
});

test("references cache: reused when unchanged, recomputed on a new γ or file, kept when the dataset is gone", async () => {
  const dir = mkdtempSync(join(tmpdir(), "clap-refs-"));
  try {
    const data = join(dir, "data.hdf5");
    writeFileSync(data, "x");
    let loads = 0;
    const episodes = async () => {
      loads++;
      return [terminalEp, timeoutEp];
    };
    const settings = { gamma: 0.5, splitAt: "auto", rewardTransform: "none" };
    const a = await runReferences(dir, data, settings, episodes);
    const b = await runReferences(dir, data, settings, episodes);
    assert.equal(loads, 1);
    assert.deepEqual(b.references, a.references);
    assert.match(b.note, /cached/);
    const c = await runReferences(dir, data, { ...settings, gamma: 1 }, episodes);
    assert.equal(loads, 2);
    assert.notEqual(c.references!.averageReturn, a.references!.averageReturn);
    utimesSync(data, new Date(2020, 0, 1), new Date(2020, 0, 1));
    await runReferences(dir, data, { ...settings, gamma: 1 }, episodes);
    assert.equal(loads, 3, "a modified dataset file is read again");
    rmSync(data);
    const gone = await runReferences(dir, data, { ...settings, gamma: 1 }, episodes);
    assert.equal(loads, 3);
    assert.deepEqual(gone.references, c.references);
    assert.match(gone.note, /no longer there/);
    const none = await runReferences(dir, data, settings, episodes);
    assert.equal(none.references, null, "the cache holds γ = 1 only");
    assert.match(none.note, /no longer there and no references were cached/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
