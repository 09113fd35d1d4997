import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../../src/engine/rng.js";

test("same seed gives the same stream; different seeds differ", () => {
  const a = new Rng(7), b = new Rng(7), c = new Rng(8);
  const sa = Array.from({ length: 10 }, () => a.nextU32());
  assert.deepEqual(sa, Array.from({ length: 10 }, () => b.nextU32()));
  assert.notDeepEqual(sa, Array.from({ length: 10 }, () => c.nextU32()));
});

test("split streams are reproducible, label-dependent and do not advance the parent", () => {
  const a = new Rng(1);
  const before = a.getState();
  const x = a.split("data").uniform();
  assert.deepEqual(a.getState(), before);
  assert.equal(new Rng(1).split("data").uniform(), x);
  assert.notEqual(new Rng(1).split("init").uniform(), x);
});

test("uniform and normal have the right moments; int stays in range", () => {
  const r = new Rng(3);
  const n = 50000;
  let s = 0, s2 = 0, u = 0;
  for (let i = 0; i < n; i++) {
    const z = r.normal();
    s += z;
    s2 += z * z;
    u += r.uniform();
  }
  assert.ok(Math.abs(s / n) < 0.02);
  assert.ok(Math.abs(s2 / n - 1) < 0.03);
  assert.ok(Math.abs(u / n - 0.5) < 0.01);
  for (let i = 0; i < 1000; i++) {
    const k = r.int(5);
    assert.ok(k >= 0 && k < 5 && Number.isInteger(k));
  }
});

test("state round-trip continues the stream exactly", () => {
  const r = new Rng(11);
  r.normal();
  const st = JSON.parse(JSON.stringify(r.getState()));
  const expected = [r.normal(), r.uniform(), r.nextU32()];
  const q = Rng.fromState(st);
  assert.deepEqual([q.normal(), q.uniform(), q.nextU32()], expected);
});
