/**
 * Evaluation: the same seeds give the same episodes in-process and on 1 or 2 worker threads; episode seeds depend
 * only on (seed, index); summaries and normalised scores are computed from the per-episode values; worker
 * failures reject with clear errors instead of hanging.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { episodeSeeds, evaluate, type EvaluationResult } from "../../src/eval/evaluate.js";
import { builtinPolicy } from "../../src/eval/policies.js";
import type { PolicySpec } from "../../src/eval/policy.js";
import { normalizedScore100 } from "../../src/eval/scores.js";
import { UserError } from "../../src/errors.js";

const random = builtinPolicy("random");
const fixture = (factory: string): PolicySpec => ({ module: new URL("./fixtures/policies.js", import.meta.url).href, factory, args: {} });

function strip(r: EvaluationResult) {
  return r.episodes.map((e) => ({ index: e.index, seeds: e.seeds, ret: e.return, length: e.length, terminated: e.terminated }));
}

test("the same seeds give the same returns in-process and with 1 or 2 workers", async () => {
  const inProcess = await evaluate(random, "hopper", { episodes: 5, seed: 42, workers: 0 });
  const one = await evaluate(random, "hopper", { episodes: 5, seed: 42, workers: 1 });
  const two = await evaluate(random, "hopper", { episodes: 5, seed: 42, workers: 2 });
  assert.deepEqual(strip(one), strip(inProcess));
  assert.deepEqual(strip(two), strip(inProcess));
  // Random hopper episodes differ from one another, so equality above is not trivially true.
  assert.ok(new Set(inProcess.returns).size === 5, `returns ${inProcess.returns}`);
  assert.deepEqual(inProcess.episodes.map((e) => e.seeds), [0, 1, 2, 3, 4].map((i) => episodeSeeds(42, i)));
});

test("episode i depends only on (seed, i): a shorter evaluation is a prefix, another seed differs", async () => {
  const long = await evaluate(random, "hopper", { episodes: 4, seed: 3, workers: 0 });
  const short = await evaluate(random, "hopper", { episodes: 2, seed: 3, workers: 0 });
  const other = await evaluate(random, "hopper", { episodes: 2, seed: 4, workers: 0 });
  assert.deepEqual(short.returns, long.returns.slice(0, 2));
  assert.notDeepEqual(other.returns, short.returns);
  const s = episodeSeeds(3, 1);
  assert.notEqual(s.env, s.policy);
  assert.notDeepEqual(episodeSeeds(3, 1), episodeSeeds(3, 2));
});

test("summary statistics, normalised scores and onEpisode agree with the per-episode values", async () => {
  const seen: number[] = [];
  const r = await evaluate(random, "walker2d", { episodes: 3, seed: 8, workers: 2, onEpisode: (e) => seen.push(e.index) });
  assert.deepEqual([...seen].sort(), [0, 1, 2]);
  const mean = r.returns.reduce((a, b) => a + b, 0) / 3;
  const std = Math.sqrt(r.returns.reduce((a, b) => a + (b - mean) ** 2, 0) / 3);
  assert.ok(Math.abs(r.returnMean - mean) < 1e-9);
  assert.ok(Math.abs(r.returnStd - std) < 1e-9);
  assert.deepEqual(r.lengths, r.episodes.map((e) => e.length));
  assert.deepEqual(r.normalizedScores, r.returns.map((x) => normalizedScore100("walker2d", x)));
  assert.ok(Math.abs(r.normalizedMean! - (100 * (mean - 1.629008)) / (4592.3 - 1.629008)) < 1e-9);
  assert.equal(r.successes, null);
  assert.equal(r.successRate, null);
  for (const e of r.episodes) assert.ok(e.terminated !== e.truncated);
});

test("antmaze episodes report success, and the score is 100 × success", async () => {
  const r = await evaluate(builtinPolicy("zero"), "antmaze-umaze", { episodes: 1, seed: 0, workers: 0 });
  assert.deepEqual(r.successes, r.returns.map((x) => x > 0));
  assert.deepEqual(r.normalizedScores, r.successes!.map((s) => (s ? 100 : 0)));
  assert.equal(r.successRate, r.successes!.filter(Boolean).length);
  // A motionless ant never reaches a goal sampled away from the start cell, so the episode runs to the limit.
  assert.equal(r.lengths[0], 700);
});

test("pixel evaluation runs the policy on frames in workers", async () => {
  const px = await evaluate(random, "dmc-cheetah-run", { episodes: 1, seed: 5, workers: 1, envOptions: { pixels: true } });
  const st = await evaluate(random, "dmc-cheetah-run", { episodes: 1, seed: 5, workers: 0 });
  // The random policy ignores its input, so pixels must not change the episode.
  assert.deepEqual(px.returns, st.returns);
  assert.equal(px.lengths[0], 500);
});

test("bad options are UserErrors naming the option", async () => {
  await assert.rejects(evaluate(random, "hopper", { episodes: 0, seed: 0 }), (e: unknown) => e instanceof UserError && /episodes/.test(e.message));
  await assert.rejects(evaluate(random, "hopper", { episodes: 1, seed: -1 }), (e: unknown) => e instanceof UserError && /seed/.test(e.message));
  await assert.rejects(evaluate(random, "hopper", { episodes: 1, seed: 0, workers: 1.5 }), (e: unknown) => e instanceof UserError && /workers/.test(e.message));
  await assert.rejects(evaluate(random, "no-such-env", { episodes: 1, seed: 0 }), (e: unknown) => e instanceof UserError && /unknown environment/.test(e.message));
});

test("worker failures reject with clear errors (no hang) and UserErrors stay UserErrors", async () => {
  await assert.rejects(evaluate(fixture("throwsOnAct"), "hopper", { episodes: 3, seed: 0, workers: 2 }), (e: unknown) => {
    assert.ok(e instanceof Error && !(e instanceof UserError));
    assert.match(e.message, /evaluation worker \d failed on episode \d: fixture policy failed on purpose/);
    return true;
  });
  await assert.rejects(evaluate(fixture("exitsOnAct"), "hopper", { episodes: 2, seed: 0, workers: 1 }), /evaluation worker 0 exited \(code 3\)/);
  await assert.rejects(evaluate(fixture("notAFactory"), "hopper", { episodes: 2, seed: 0, workers: 2 }), /failed to start: policy factory 'notAFactory' is not exported/);
  await assert.rejects(evaluate({ ...random, args: { scale: 2 } }, "hopper", { episodes: 2, seed: 0, workers: 1 }), (e: unknown) => {
    return e instanceof UserError && /policy "random" takes no arguments/.test(e.message);
  });
  await assert.rejects(evaluate(fixture("throwsOnAct"), "hopper", { episodes: 1, seed: 0, workers: 0 }), /fixture policy failed on purpose/);
});
