/**
 * Built-in policies: `random` is uniform in [−1, 1], reproducible per episode seed and different across seeds;
 * `zero` is all zeros; both refuse arguments; unknown names are UserErrors.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { builtinPolicy, random, zero } from "../../src/eval/policies.js";
import { loadPolicy } from "../../src/eval/policy.js";
import { UserError } from "../../src/errors.js";

const ctx = { obsShape: [3], actDim: 4 };
const obs = new Float32Array(3);

test("random: in [−1, 1], same seed same actions, other seed other actions", async () => {
  const p = await random({}, ctx);
  const run = (seed: number) => {
    p.reset(seed);
    return Array.from({ length: 50 }, () => Array.from(p.act(obs)));
  };
  const a = run(1);
  assert.deepEqual(run(1), a);
  assert.notDeepEqual(run(2), a);
  const flat = a.flat();
  assert.equal(flat.length, 200);
  assert.ok(flat.every((x) => x >= -1 && x <= 1));
  assert.ok(Math.min(...flat) < -0.8 && Math.max(...flat) > 0.8);
});

test("zero acts with zeros; builtinPolicy specs load through loadPolicy", async () => {
  const z = await zero({}, ctx);
  assert.deepEqual(Array.from(z.act(obs)), [0, 0, 0, 0]);
  const loaded = await loadPolicy(builtinPolicy("zero"), ctx);
  assert.deepEqual(Array.from(loaded.act(obs)), [0, 0, 0, 0]);
});

test("arguments and unknown names are refused", () => {
  assert.throws(() => random({ scale: 2 }, ctx), UserError);
  assert.throws(() => builtinPolicy("expert"), (e: unknown) => e instanceof UserError && /unknown policy "expert"; built-in policies: random, zero/.test(e.message));
});
