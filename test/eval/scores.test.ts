/**
 * Score normalisation against values computed by hand from the published constants (docs/design/environments.md §13).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { normalizedScore100, scoreReference, SCORE_REFERENCES } from "../../src/eval/scores.js";
import { listEnvs } from "../../src/envs/registry.js";
import { UserError } from "../../src/errors.js";

function close(actual: number, expected: number): void {
  assert.ok(Math.abs(actual - expected) < 1e-9, `${actual} ≠ ${expected}`);
}

test("D4RL locomotion: 0 at REF_MIN, 100 at REF_MAX, linear in between", () => {
  close(normalizedScore100("hopper", -20.272305), 0);
  close(normalizedScore100("hopper", 3234.3), 100);
  // (1607.0138475 + 20.272305) / (3234.3 + 20.272305) = 0.5
  close(normalizedScore100("hopper", 1607.0138475), 50);
  // 100 · (3000 + 280.178953) / (12135 + 280.178953) = 26.419...
  close(normalizedScore100("halfcheetah", 3000), (100 * 3280.178953) / 12415.178953);
  close(normalizedScore100("halfcheetah", -280.178953), 0);
  // 100 · (4592.3 − 1.629008) / (4592.3 − 1.629008) and a return below REF_MIN goes negative.
  close(normalizedScore100("walker2d", 4592.3), 100);
  close(normalizedScore100("walker2d", 0), (-100 * 1.629008) / 4590.670992);
  close(normalizedScore100("ant", 3879.7), 100);
});

test("antmaze is 100 × success and V-D4RL is return / 10", () => {
  close(normalizedScore100("antmaze-umaze", 1), 100);
  close(normalizedScore100("antmaze-large-diverse", 0), 0);
  close(normalizedScore100("antmaze-medium-play", 0.25), 25);
  close(normalizedScore100("dmc-cheetah-run", 750), 75);
  close(normalizedScore100("dmc-walker-walk", 1000), 100);
});

test("returns from other semantics are refused unless explicitly allowed", () => {
  assert.throws(
    () => normalizedScore100("hopper", 1000, { semantics: "gymnasium-v5" }),
    (e: unknown) => e instanceof UserError && /assume "gymnasium-v4" semantics but the environment has "gymnasium-v5"/.test(e.message),
  );
  close(normalizedScore100("hopper", 3234.3, { semantics: "gymnasium-v5", allowSemanticsMismatch: true }), 100);
  assert.throws(() => normalizedScore100("dmc-walker-walk", 500, { semantics: "gymnasium-v4" }), UserError);
});

test("unknown ids and non-finite returns are UserErrors", () => {
  assert.throws(() => normalizedScore100("hopper-v9", 1), (e: unknown) => e instanceof UserError && /no reference scores for environment "hopper-v9"/.test(e.message));
  assert.throws(() => normalizedScore100("hopper", Number.NaN), UserError);
  assert.equal(scoreReference("toString"), null);
});

test("every table entry's semantics matches the registered environment of that id", () => {
  const registered = new Map(listEnvs().map((e) => [e.id, e.semantics]));
  for (const [id, ref] of Object.entries(SCORE_REFERENCES)) {
    if (!registered.has(id)) continue;
    assert.equal(ref.semantics, registered.get(id), id);
    assert.ok(ref.max > ref.min && ref.source.length > 0, id);
  }
  for (const id of ["hopper", "halfcheetah", "walker2d", "dmc-cheetah-run", "dmc-walker-walk"]) assert.ok(registered.has(id), id);
});
