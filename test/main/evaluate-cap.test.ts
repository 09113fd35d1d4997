import { test } from "node:test";
import assert from "node:assert/strict";
import { episodeSeeds, evaluate } from "../../src/eval/evaluate.js";
import { makeEnv } from "../../src/envs/registry.js";
import { builtinPolicy } from "../../src/eval/policies.js";

const zero = builtinPolicy("zero");

test("evaluate maxSteps: every episode stops at the cap as truncated, the same in-process and in a worker, and is the start of the uncapped episode", async () => {
  const full = await evaluate(zero, "halfcheetah", { episodes: 2, seed: 7, workers: 0 });
  assert.deepEqual(full.lengths, [1000, 1000]);
  const capped = await evaluate(zero, "halfcheetah", { episodes: 2, seed: 7, workers: 0, maxSteps: 30 });
  const inWorker = await evaluate(zero, "halfcheetah", { episodes: 2, seed: 7, workers: 1, maxSteps: 30 });
  assert.deepEqual(capped.lengths, [30, 30]);
  assert.deepEqual(capped.episodes.map((e) => [e.terminated, e.truncated]), [[false, true], [false, true]]);
  assert.deepEqual(inWorker.returns, capped.returns);
  // The capped episode is the first 30 steps of the same seeded trajectory.
  const env = await makeEnv("halfcheetah");
  env.reset({ seed: episodeSeeds(7, 1).env });
  let prefix = 0;
  for (let t = 0; t < 30; t++) prefix += env.step(new Float32Array(6)).reward;
  env.close();
  assert.equal(capped.returns[1], prefix);
  assert.notEqual(capped.returns[1], full.returns[1]);
  await assert.rejects(evaluate(zero, "hopper", { episodes: 1, seed: 0, workers: 0, maxSteps: -1 }), /maxSteps must be an integer in \[0, /);
});
