/**
 * A run directory has one writer (issue 12 item 1): a second `train` on a run that is being trained stops with one
 * line and touches nothing; a lock left by a killed process is taken over; Ctrl-C saves a checkpoint and exits 130.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { lockRun, LOCK_FILE } from "../../src/training/run-dir.js";
import { UserError } from "../../src/errors.js";
import { writeSyntheticD4rl } from "../method/synthetic.js";
import { cli, cliAsync, manifestOf, scalars, tempDir } from "./helpers.js";

function writeLock(dir: string, pid: number, host = hostname()): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid, host, since: "earlier" }));
}

test("lockRun refuses a live owner and a foreign host, takes over a dead owner's lock with a message, and releases", async (t) => {
  const dir = join(tempDir(t), "run");
  const sleeper = spawn("sleep", ["30"]);
  t.after(() => sleeper.kill());
  writeLock(dir, sleeper.pid!);
  assert.throws(() => lockRun(dir), (e: unknown) => e instanceof UserError && new RegExp(`being trained by process ${sleeper.pid}`).test(e.message) && !e.message.includes("\n"));

  writeLock(dir, 1, "another-host");
  assert.throws(() => lockRun(dir), /locked by process 1 on host another-host/);

  const gone = spawn("true");
  await new Promise((r) => gone.on("exit", r));
  writeLock(dir, gone.pid!);
  const said: string[] = [];
  const release = lockRun(dir, (m) => said.push(m));
  assert.match(said.join("\n"), new RegExp(`taking over the lock of process ${gone.pid}, which is no longer running`));
  assert.equal(JSON.parse(readFileSync(join(dir, LOCK_FILE), "utf8")).pid, process.pid);
  release();
  assert.equal(existsSync(join(dir, LOCK_FILE)), false);
});

test("a second train on a run being trained is refused with one line; Ctrl-C saves and exits 130; the same command then continues the run", async (t) => {
  const dir = tempDir(t);
  const data = join(dir, "synthetic-hopper-medium.hdf5");
  await writeSyntheticD4rl(data, 11, 3);
  const out = join(dir, "run");
  const args = ["train", "--dataset", data, "--env", "hopper", "--preset", "tiny", "--set", "model.steps=200000", "--set", "agent.steps=10", "--set", "eval.every=0", "--set", "eval.maxSteps=20", "--set", "train.checkpointEvery=50", "--out", out, "--quiet"];

  const first = cliAsync(args);
  const exited = new Promise<number | null>((resolve) => first.on("exit", (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  while (!existsSync(join(out, "checkpoint", "state.json")) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.ok(existsSync(join(out, "checkpoint", "state.json")), "the first run reached a checkpoint");

  const before = readFileSync(join(out, "metrics.jsonl"), "utf8");
  for (const second of [cli(args), cli(["train", "--out", out, "--resume", "--quiet"])]) {
    assert.notEqual(second.code, 0);
    assert.match(second.stderr, new RegExp(`^clap-rl: '.*run' is being trained by process ${first.pid} `));
    assert.equal(second.stderr.trim().split("\n").length, 1, second.stderr);
  }
  assert.ok(readFileSync(join(out, "metrics.jsonl"), "utf8").startsWith(before), "the refused runs wrote nothing");

  first.kill("SIGINT");
  assert.equal(await exited, 130, "a run stopped by Ctrl-C exits 130");
  assert.equal(manifestOf(out).status, "stopped");
  assert.equal(existsSync(join(out, LOCK_FILE)), false, "the lock is released on the way out");

  const stoppedAt = (JSON.parse(readFileSync(join(out, "checkpoint", "state.json"), "utf8")) as { modelStep: number }).modelStep;
  const again = cliAsync(args);
  const againExited = new Promise<number | null>((resolve) => again.on("exit", (code) => resolve(code)));
  const modelStep = () => (JSON.parse(readFileSync(join(out, "checkpoint", "state.json"), "utf8")) as { modelStep: number }).modelStep;
  const until = Date.now() + 60_000;
  while (modelStep() <= stoppedAt && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  again.kill("SIGINT");
  assert.equal(await againExited, 130);
  assert.ok(modelStep() > stoppedAt, `continued past model step ${stoppedAt}`);
  const steps = scalars(out).filter((r) => r.phase === "model").map((r) => r.step as number);
  assert.deepEqual(steps, [...new Set(steps)].sort((a, b) => a - b), "no model step logged twice");
});
