import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeSyntheticD4rl } from "./synthetic.js";

const MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: "utf8", timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), "clap-rl-cli-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A failing command: non-zero exit and exactly one line on stderr that matches `pattern`. */
function assertOneLineError(args: string[], pattern: RegExp): void {
  const r = cli(args);
  assert.notEqual(r.code, 0, `expected failure for ${args.join(" ")}`);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, `expected one stderr line, got:\n${r.stderr}`);
  assert.match(lines[0], pattern);
}

test("train/eval reject bad input with one clear line and a non-zero exit", async (t) => {
  const dir = tempDir(t);
  const data = join(dir, "synthetic-hopper-medium.hdf5");
  await writeSyntheticD4rl(data, 11, 3);
  const base = ["train", "--dataset", data, "--env", "hopper", "--out", join(dir, "run"), "--preset", "tiny"];
  assertOneLineError(["train", "--bogus"], /unknown option '--bogus'/);
  assertOneLineError(["train", "--dataset", join(dir, "missing.hdf5"), "--env", "hopper"], /--dataset '.*missing\.hdf5': no such file or folder/);
  assertOneLineError(["train", "--dataset", "hopper-mediocre", "--env", "hopper"], /--dataset 'hopper-mediocre': not a file or folder nor a known dataset; known names: clap:hopper\/random, .*clap:walker2d\/medium-expert/);
  assertOneLineError([...base.slice(0, -2), "--preset", "huge"], /unknown preset 'huge' for --algo clap; valid presets: tiny, small, full/);
  assertOneLineError([...base, "--set", "model.hiden=3"], /unknown key 'model\.hiden'; valid keys in 'model'/);
  assertOneLineError([...base, "--set", "agent.horizon=many"], /'agent\.horizon' must be an integer/);
  assertOneLineError([...base, "--config", join(dir, "nope.json")], /cannot read config file/);
  assertOneLineError([...base, "--seed", "-1"], /--seed must be a non-negative integer/);
  assertOneLineError(["train", "--dataset", data, "--env", "halfcheetah", "--preset", "tiny"], /environment 'halfcheetah' has 17 and 6/);
  assertOneLineError(["train", "--dataset", data, "--env", "hoper", "--preset", "tiny"], /hoper/);
  assertOneLineError(["train", "--out", join(dir, "none"), "--resume"], /no run to resume/);
  assertOneLineError(["eval", "--run", join(dir, "none")], /'.*none': no such run or checkpoint folder/);
  assertOneLineError(["eval"], /required option '--run <dir>'/);

  // --out never writes a run over a file or over files a run would write that the user keeps (issue 12).
  const file = join(dir, "a-file");
  writeFileSync(file, "mine");
  assertOneLineError([...base.slice(0, 5), "--out", file, "--preset", "tiny"], /--out '.*a-file' is a file, not a run directory; choose a folder/);
  assert.equal(readFileSync(file, "utf8"), "mine");
  const folder = join(dir, "project");
  mkdirSync(folder);
  writeFileSync(join(folder, "config.json"), '{"mine": true}');
  assertOneLineError([...base.slice(0, 5), "--out", folder, "--preset", "tiny"], /--out '.*project' is not a clap-rl run but holds config\.json; refusing to write a run over them/);
  assert.equal(readFileSync(join(folder, "config.json"), "utf8"), '{"mine": true}');
});

test("clap-rl train runs the tiny preset end to end; eval reads the run; --resume of a finished run is a no-op", async (t) => {
  const dir = tempDir(t);
  const data = join(dir, "synthetic-hopper-medium.hdf5");
  await writeSyntheticD4rl(data, 11, 3);
  const run = join(dir, "run");
  const r = cli(["train", "--dataset", data, "--env", "hopper", "--preset", "tiny", "--seed", "3", "--out", run, "--set", "model.steps=4", "--set", "agent.steps=4", "--set", "eval.every=2", "--set", "eval.maxSteps=20"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /model 4\/4 \(100%\) [\d.]+ steps\/s ETA/);
  assert.match(r.stderr, /eval @ agent step 4: .*return_mean/);
  const config = JSON.parse(readFileSync(join(run, "config.json"), "utf8"));
  assert.equal(config.agent.epsilon, 2, "ε derived from the dataset name (medium)");
  assert.equal(config.seed, 3);
  const manifest = JSON.parse(readFileSync(join(run, "manifest.json"), "utf8"));
  assert.equal(manifest.env, "hopper");
  assert.match(manifest.dataset.sha256, /^[0-9a-f]{64}$/);
  assert.equal(manifest.status, "done");
  assert.ok(existsSync(join(run, "checkpoint", "state.json")));

  const e = cli(["eval", "--run", run, "--episodes", "2", "--workers", "0", "--json"]);
  assert.equal(e.code, 0, e.stderr);
  const out = JSON.parse(e.stdout);
  assert.equal(out.env, "hopper");
  assert.equal(out.returns.length, 2);
  assert.ok(out.returns.every((x: number) => Number.isFinite(x)));
  assert.equal(out.normalizedScores.length, 2);
  assert.equal(out.policy, "trained");
  // --prior plays ũ = μ; the run logged the same policy's score at agent step 0 on its own episode seeds.
  const p = cli(["eval", "--run", run, "--episodes", "2", "--workers", "0", "--prior", "--json"]);
  assert.equal(p.code, 0, p.stderr);
  const prior = JSON.parse(p.stdout);
  assert.equal(prior.policy, "prior");
  assert.equal(prior.returns.length, 2);
  assert.notDeepEqual(prior.returns, out.returns, "the trained policy and the prior policy act differently after 4 agent steps");
  const step0 = readFileSync(join(run, "metrics.jsonl"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l)).find((m) => m.phase === "eval" && m.step === 0);
  assert.equal(typeof step0.prior_return_mean, "number");

  const again = cli(["train", "--out", run, "--resume", "--quiet"]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(JSON.parse(readFileSync(join(run, "manifest.json"), "utf8")).resumes, undefined, "a finished run is left as it is");
  assertOneLineError(["train", "--out", run, "--resume", "--preset", "tiny"], /cannot be combined with it/);
  assertOneLineError(["train", "--dataset", data, "--env", "hopper", "--preset", "tiny", "--out", run], /holds a different run \(config\.seed: 3 there, 0 now\); pass --resume to continue that run, --force to replace it/);
});
