import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ReplayBuffer } from "../../src/algorithms/replay.js";
import { Rng } from "../../src/engine/rng.js";
import { loadArrays, saveArrays } from "../../src/engine/serialize.js";

/** Row k encodes k in every field so order and alignment are visible. */
function row(k: number) {
  return {
    obs: [k, k + 0.5],
    act: [k / 1000],
    rew: k,
    nextObs: [k + 1, k + 1.5],
    terminal: k % 7 === 6,
    timeout: k % 11 === 10,
    qpos: [k, -k, 2 * k],
    qvel: [3 * k],
    logProb: -k,
  };
}

const spec = { obsDim: 2, actDim: 1, nq: 3, nv: 1 };

test("rows come back in arrival order with their flags, across growth", () => {
  const buf = new ReplayBuffer({ ...spec, capacity: 100_000 });
  for (let k = 0; k < 20_000; k++) buf.add(row(k)); // past the initial 16384-row allocation
  const c = buf.inOrder(18_000);
  assert.equal(c.rows, 18_000);
  for (const k of [0, 1, 6, 10, 16_383, 16_384, 17_999]) {
    assert.deepEqual(Array.from(c.obs.subarray(2 * k, 2 * k + 2)), [k, k + 0.5]);
    assert.equal(c.rew[k], k);
    assert.equal(c.terminal[k], k % 7 === 6 ? 1 : 0);
    assert.equal(c.timeout[k], k % 11 === 10 ? 1 : 0);
    assert.deepEqual(Array.from(c.qpos.subarray(3 * k, 3 * k + 3)), [k, -k, 2 * k]);
    assert.equal(c.log_prob[k], -k);
  }
});

test("a full buffer overwrites the oldest rows and still reads oldest first", () => {
  const buf = new ReplayBuffer({ ...spec, capacity: 10 });
  for (let k = 0; k < 25; k++) buf.add(row(k));
  assert.equal(buf.size, 10);
  assert.equal(buf.total, 25);
  assert.deepEqual(Array.from(buf.inOrder().rew), [15, 16, 17, 18, 19, 20, 21, 22, 23, 24]);
  assert.equal(buf.row("rew", 0)[0], 15);
});

test("a saved buffer keeps the rows, the order and the step count; sampling is seeded and aligned", () => {
  const dir = mkdtempSync(join(tmpdir(), "clap-replay-"));
  const buf = new ReplayBuffer({ ...spec, capacity: 50 });
  for (let k = 0; k < 60; k++) buf.add(row(k));
  saveArrays(join(dir, "r.bin"), buf.toArrays());
  const back = ReplayBuffer.fromArrays(loadArrays(join(dir, "r.bin")), "r.bin");
  assert.equal(back.total, 60);
  assert.deepEqual(Array.from(back.inOrder().rew), Array.from(buf.inOrder().rew));
  back.add(row(60));
  assert.equal(back.row("rew", 49)[0], 60, "the next row overwrites the oldest after a load");
  const a = buf.sample(32, new Rng(3));
  const b = buf.sample(32, new Rng(3));
  assert.deepEqual(a, b);
  for (let j = 0; j < 32; j++) {
    const k = a.rew[j];
    assert.equal(a.obs[2 * j], k);
    assert.equal(a.nextObs[2 * j], k + 1);
    assert.equal(a.terminal[j], k % 7 === 6 ? 1 : 0, "only true terminals stop bootstrapping");
  }
});
