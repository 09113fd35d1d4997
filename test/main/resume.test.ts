import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeSyntheticD4rl } from "../method/synthetic.js";
import { cli, cliAsync, manifestOf, scalars, tempDir } from "./helpers.js";

const RUN = ["--preset", "tiny", "--seed", "5", "--set", "model.steps=40", "--set", "agent.steps=10", "--set", "train.checkpointEvery=10", "--set", "eval.every=0", "--set", "eval.maxSteps=20", "--set", "train.logEvery=5"];

function modelStepOf(run: string): number {
  try {
    return (JSON.parse(readFileSync(join(run, "checkpoint", "state.json"), "utf8")) as { modelStep: number }).modelStep;
  } catch {
    return 0;
  }
}

test("a SIGKILLed run continues from its checkpoint when the same command is run again, with the metrics of an uninterrupted run", async (t) => {
  const dir = tempDir(t);
  const data = join(dir, "synthetic-hopper-medium.hdf5");
  await writeSyntheticD4rl(data, 11, 3);
  const base = ["train", "--dataset", data, "--env", "hopper", ...RUN];

  // The uninterrupted reference run goes alongside the one that gets killed.
  const whole = join(dir, "whole");
  const reference = cliAsync([...base, "--out", whole, "--quiet"]);
  const referenceDone = new Promise<number | null>((resolve) => reference.on("exit", (code) => resolve(code)));

  const killed = join(dir, "killed");
  const child = cliAsync([...base, "--out", killed]);
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_code, signal) => resolve(signal)));
  const deadline = Date.now() + 60_000;
  while (modelStepOf(killed) < 10 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  child.kill("SIGKILL");
  assert.equal(await exited, "SIGKILL");
  const at = modelStepOf(killed);
  assert.ok(at >= 10 && at < 40, `killed after the checkpoint at model step ${at}, before the model phase ended`);
  assert.equal(manifestOf(killed).status, "running", "the killed run never finished");

  assert.equal(await referenceDone, 0);
  const again = cli([...base, "--out", killed]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /\(continuing\)/);
  const m = manifestOf(killed);
  assert.equal(m.status, "done");
  assert.equal(m.resumes.length, 1);
  assert.equal(m.resumes[0].modelStep, at);
  const resumed = scalars(killed);
  const uninterrupted = scalars(whole);
  const first = resumed.findIndex((r, i) => JSON.stringify(r) !== JSON.stringify(uninterrupted[i]));
  assert.deepEqual(resumed, uninterrupted, `killed at model step ${at}; first different line ${first + 1}: ${JSON.stringify(resumed[first])} vs ${JSON.stringify(uninterrupted[first])}`);
  assert.ok(uninterrupted.some((r) => r.phase === "eval" && typeof r.return_mean === "number"));
  assert.ok(uninterrupted.some((r) => r.phase === "agent" && r.step === 10));
  assert.ok(existsSync(join(killed, "report.html")));

  // Finished: the same command again trains nothing and keeps the run as it is.
  const done = cli([...base, "--out", killed]);
  assert.equal(done.code, 0, done.stderr);
  assert.match(done.stderr, /already finished/);
  assert.equal(manifestOf(killed).resumes.length, 1);
});

test("a different request over an existing run is refused with its first difference; --force replaces the run", async (t) => {
  const dir = tempDir(t);
  const data = join(dir, "synthetic-hopper-medium.hdf5");
  await writeSyntheticD4rl(data, 11, 3);
  const run = join(dir, "run");
  const fast = ["train", "--dataset", data, "--env", "hopper", "--preset", "tiny", "--set", "model.steps=4", "--set", "agent.steps=2", "--set", "eval.every=0", "--set", "eval.maxSteps=5", "--out", run, "--quiet"];
  assert.equal(cli(fast).code, 0);
  const before = manifestOf(run).startedAt;
  const other = cli([...fast, "--set", "agent.horizon=2"]);
  assert.equal(other.code, 2);
  assert.equal(other.stderr.trim().split("\n").length, 1, other.stderr);
  assert.match(other.stderr, /holds a different run \(config\.agent\.horizon: 3 there, 2 now\); pass --resume to continue that run, --force to replace it/);
  assert.equal(manifestOf(run).startedAt, before, "the run was left alone");
  assert.match(cli([...fast, "--force", "--resume"]).stderr, /--resume and --force exclude each other/);
  const forced = cli([...fast, "--set", "agent.horizon=2", "--force"]);
  assert.equal(forced.code, 0, forced.stderr);
  const m = manifestOf(run);
  assert.notEqual(m.startedAt, before);
  assert.equal(m.request.config.agent.horizon, 2);
  assert.equal(m.resumes, undefined);
});
