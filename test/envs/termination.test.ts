import { test } from "node:test";
import assert from "node:assert/strict";
import { TERMINATION_RULES, terminationMask, terminationRule } from "../../src/envs/termination.js";
import { UserError } from "../../src/errors.js";

// Float64 so the bounds are hit exactly (float32(0.8) is slightly above 0.8).
function obs(dim: number, head: number[], fill = 0): Float64Array {
  const o = new Float64Array(dim).fill(fill);
  o.set(head);
  return o;
}

test("hopper rule fires exactly at its bounds", () => {
  const f = terminationRule("hopper").fn;
  assert.equal(f(obs(11, [1.25, 0])), "none");
  assert.equal(f(obs(11, [0.7, 0])), "terminal", "z must be strictly above 0.7");
  assert.equal(f(obs(11, [0.7001, 0])), "none");
  assert.equal(f(obs(11, [1.25, 0.2])), "terminal", "|angle| must be strictly below 0.2");
  assert.equal(f(obs(11, [1.25, -0.2])), "terminal");
  assert.equal(f(obs(11, [1.25, 0.199])), "none");
  assert.equal(f(obs(11, [1.25, 0, 0, 0, 100])), "terminal", "entries after z must be inside (-100, 100)");
  assert.equal(f(obs(11, [1.25, 0, 0, 0, 99.9])), "none");
  assert.equal(f(obs(11, [150, 0])), "none", "z itself has no upper bound");
  assert.equal(f(obs(11, [1.25, 0, NaN])), "numerical");
});

test("walker2d rule fires exactly at its bounds and ignores velocities", () => {
  const f = terminationRule("walker2d").fn;
  assert.equal(f(obs(17, [1.25, 0])), "none");
  assert.equal(f(obs(17, [0.8, 0])), "terminal");
  assert.equal(f(obs(17, [0.8001, 0])), "none");
  assert.equal(f(obs(17, [2.0, 0])), "terminal");
  assert.equal(f(obs(17, [1.999, 0])), "none");
  assert.equal(f(obs(17, [1.25, 1])), "terminal");
  assert.equal(f(obs(17, [1.25, -1])), "terminal");
  assert.equal(f(obs(17, [1.25, 0.999])), "none");
  assert.equal(f(obs(17, [1.25, 0], 500)), "none", "no state-range check");
  assert.equal(f(obs(17, [1.25, 0, Infinity])), "numerical");
});

test("halfcheetah never terminates except on the numerical sanity bound", () => {
  const f = terminationRule("halfcheetah").fn;
  assert.equal(f(obs(17, [-5, 3.1], 50)), "none");
  assert.equal(f(obs(17, [0, 0], 99.99)), "none");
  assert.equal(f(obs(17, [0, 0, 100])), "numerical");
  assert.equal(f(obs(17, [0, NaN])), "numerical");
});

test("batch mask reads rows at offsets and counts numerical stops", () => {
  const rule = TERMINATION_RULES.hopper;
  const batch = new Float32Array(4 * 11);
  batch.set(obs(11, [1.25, 0]), 0);
  batch.set(obs(11, [0.5, 0]), 11);
  batch.set(obs(11, [1.25, 0, NaN]), 22);
  batch.set(obs(11, [1.1, 0.1]), 33);
  const { mask, numerical } = terminationMask(rule, batch);
  assert.deepEqual(Array.from(mask), [0, 1, 1, 0]);
  assert.equal(numerical, 1);
  assert.throws(() => terminationMask(rule, new Float32Array(12)), /not a multiple of the observation size 11/);
});

test("unknown env has no rule", () => {
  assert.throws(() => terminationRule("pong"), (e: unknown) => e instanceof UserError && /no model-rollout termination rule for env "pong"/.test(e.message));
});
