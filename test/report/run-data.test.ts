import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UserError } from "../../src/errors.js";
import { evalCurve, lastAndBest, parseMetrics, readRun } from "../../src/report/run-data.js";
import { fakeRun } from "./fixtures.js";

const root = mkdtempSync(join(tmpdir(), "clap-rundata-"));
after(() => rmSync(root, { recursive: true, force: true }));

test("parseMetrics: a cut-off final line is dropped silently, bad lines elsewhere are counted", () => {
  const text = ['{"phase":"model","step":10,"loss":1}', "not json", '{"step":3}', '{"phase":"eval","step":0,"score_mean":5}', '{"phase":"ag'].join("\n");
  const m = parseMetrics(text);
  assert.deepEqual(
    m.records.map((r) => [r.phase, r.step]),
    [
      ["model", 10],
      ["eval", 0],
    ],
  );
  assert.deepEqual(m.badLines, [2, 3]);
  assert.deepEqual(parseMetrics("").records, []);
});

test("last is the final evaluation, best the highest (earliest on ties)", () => {
  const evals = [5, 30, 12, 30, 20].map((s, i) => ({ phase: "eval", step: i * 10, score_mean: s, score_std: 1, return_mean: s * 10 }));
  const curve = evalCurve(evals, "score");
  const { last, best } = lastAndBest(curve);
  assert.equal(last!.step, 40);
  assert.equal(last!.mean, 20);
  assert.equal(best!.step, 10);
  assert.equal(best!.mean, 30);
  assert.deepEqual(lastAndBest([]), { last: null, best: null });
});

test("readRun: finished run", () => {
  const r = readRun(fakeRun(join(root, "done"), { scores: [1, 9, 4] }));
  assert.equal(r.status, "done");
  assert.equal(r.partial, false);
  assert.equal(r.metric, "score");
  assert.equal(r.last!.mean, 4);
  assert.equal(r.best!.mean, 9);
  assert.equal(r.best!.step, 10);
  assert.equal(r.agentStep, 20);
  assert.equal(r.model.length, 5);
  assert.equal(r.agent.length, 2);
});

test("readRun: a run in progress is partial and tolerates a half-written last line", () => {
  const r = readRun(fakeRun(join(root, "live"), { scores: [2, 3], status: "running", tail: '{"phase":"agent","st' }));
  assert.equal(r.partial, true);
  assert.equal(r.last!.mean, 3);
  assert.deepEqual(r.metrics.badLines, []);
  assert.ok(r.agentStep < r.agentSteps);
});

test("readRun: evaluations without scores rank by return", () => {
  const r = readRun(fakeRun(join(root, "noscore"), { scores: [1, 7, 2], scoreless: true }));
  assert.equal(r.metric, "return");
  assert.equal(r.best!.mean, 7 * 30);
  assert.equal(r.last!.mean, 2 * 30);
});

test("readRun: unusable directories give one line naming the directory and what is missing", () => {
  const expect = (dir: string, re: RegExp) =>
    assert.throws(
      () => readRun(dir),
      (e: unknown) => e instanceof UserError && re.test(e.message) && e.message.includes(dir) && !e.message.includes("\n"),
    );
  expect(join(root, "absent"), /no such run directory/);
  const noManifest = fakeRun(join(root, "m"), { scores: [1] });
  unlinkSync(join(noManifest, "manifest.json"));
  expect(noManifest, /no manifest\.json/);
  const noConfig = fakeRun(join(root, "c"), { scores: [1] });
  unlinkSync(join(noConfig, "config.json"));
  expect(noConfig, /no config\.json/);
  const noMetrics = fakeRun(join(root, "x"), { scores: [1] });
  unlinkSync(join(noMetrics, "metrics.jsonl"));
  expect(noMetrics, /no metrics\.jsonl/);
});
