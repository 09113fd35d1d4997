/**
 * Damaged checkpoints and concurrent writers (docs/reliability.md): a checkpoint whose files changed after they were
 * written is refused with one line naming the file (exit 4), and the run is left as it was; a checkpoint of an older
 * clap-rl without checksums still resumes; several `train` commands started at once on one --out leave one run.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, existsSync, readFileSync, truncateSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeSyntheticD4rl } from "../method/synthetic.js";
import { cli, cliAsync, manifestOf, scalars, tempDir } from "../main/helpers.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function stateOf(run: string): { modelStep: number } | null {
  try {
    return JSON.parse(readFileSync(join(run, "checkpoint", "state.json"), "utf8"));
  } catch {
    return null;
  }
}

/** A run stopped (Ctrl-C) in its model phase after model step 10, with its checkpoint saved. */
async function stoppedRun(dir: string, base: string[]): Promise<string> {
  const run = join(dir, "run");
  const child = cliAsync([...base, "--out", run]);
  const exited = new Promise((resolve) => child.on("exit", resolve));
  const deadline = Date.now() + 60_000;
  while ((stateOf(run)?.modelStep ?? 0) < 10 && Date.now() < deadline) await sleep(10);
  child.kill("SIGINT");
  assert.equal(await exited, 130);
  return run;
}

function oneLine(r: { code: number | null; stderr: string }, code: number, pattern: RegExp): void {
  assert.equal(r.code, code, r.stderr);
  assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  assert.match(r.stderr, pattern);
}

test("a damaged checkpoint is refused with one line naming the file, before anything of the run changes; an unchecksummed one still resumes", async (t) => {
  const dir = tempDir(t, "clap-rl-faults-");
  const data = join(dir, "synthetic-hopper-medium.hdf5");
  await writeSyntheticD4rl(data, 11, 3);
  const base = ["train", "--dataset", data, "--env", "hopper", "--preset", "tiny", "--set", "model.steps=200", "--set", "agent.steps=4", "--set", "train.checkpointEvery=5", "--set", "eval.every=0", "--set", "eval.maxSteps=5", "--quiet"];
  const run = await stoppedRun(dir, base);

  const variant = (name: string, damage: (ckpt: string) => void): string => {
    const copy = join(dir, name);
    cpSync(run, copy, { recursive: true });
    damage(join(copy, "checkpoint"));
    return copy;
  };
  const flipped = variant("flipped", (c) => {
    // The case: 400 flipped bytes, same size.
    const b = readFileSync(join(c, "agent.bin"));
    for (let i = 0; i < 400; i++) b[200 + i] ^= 0xff;
    writeFileSync(join(c, "agent.bin"), b);
  });
  const truncated = variant("truncated", (c) => truncateSync(join(c, "model.bin"), 100));
  const edited = variant("edited", (c) => {
    const s = JSON.parse(readFileSync(join(c, "state.json"), "utf8"));
    s.modelStep += 1;
    writeFileSync(join(c, "state.json"), JSON.stringify(s, null, 2));
  });
  const noState = variant("no-state", (c) => unlinkSync(join(c, "state.json")));

  for (const [copy, file] of [[flipped, "agent.bin"], [truncated, "model.bin"], [edited, "state.json"]]) {
    const metrics = readFileSync(join(copy, "metrics.jsonl"), "utf8");
    const manifest = readFileSync(join(copy, "manifest.json"), "utf8");
    const pattern = new RegExp(`checkpoint/${file.replace(".", "\\.")}: contents do not match .*checksum.*; the checkpoint is damaged and is not used`);
    oneLine(cli(["train", "--out", copy, "--resume", "--quiet"]), 4, pattern);
    oneLine(cli([...base, "--out", copy]), 4, pattern);
    oneLine(cli(["eval", "--run", copy, "--episodes", "1"]), 4, pattern);
    assert.equal(readFileSync(join(copy, "metrics.jsonl"), "utf8"), metrics, "the metrics are untouched");
    assert.equal(readFileSync(join(copy, "manifest.json"), "utf8"), manifest, "the manifest is untouched");
  }

  // A deleted state.json is named as such, never read as a model-only checkpoint, and the run is not started over.
  for (const r of [cli(["train", "--out", noState, "--resume", "--quiet"]), cli([...base, "--out", noState])]) {
    oneLine(r, 2, /checkpoint\/state\.json: missing, so the checkpoint is incomplete/);
  }
  assert.ok(existsSync(join(noState, "checkpoint", "model.bin")) && existsSync(join(noState, "metrics.jsonl")));

  // A checkpoint written before checksums existed loads as it is.
  const old = variant("old", (c) => {
    const { files: _f, checksum: _c, ...s } = JSON.parse(readFileSync(join(c, "state.json"), "utf8"));
    writeFileSync(join(c, "state.json"), JSON.stringify(s, null, 2));
  });
  const resumed = cli(["train", "--out", old, "--resume", "--quiet"]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal(manifestOf(old).status, "done");
  assert.ok(JSON.parse(readFileSync(join(old, "checkpoint", "state.json"), "utf8")).checksum, "its next checkpoint carries checksums");
});

test("three train commands started at the same instant on one --out: one trains, the others stop with one line, and the run equals a run alone", async (t) => {
  const dir = tempDir(t, "clap-rl-faults-");
  const data = join(dir, "synthetic-hopper-medium.hdf5");
  await writeSyntheticD4rl(data, 11, 3);
  const base = ["train", "--dataset", data, "--env", "hopper", "--preset", "tiny", "--set", "model.steps=30", "--set", "agent.steps=10", "--set", "train.checkpointEvery=5", "--set", "eval.every=5", "--set", "eval.episodes=1", "--set", "eval.maxSteps=10", "--quiet"];
  const run = join(dir, "run");
  const children = [0, 1, 2].map(() => cliAsync([...base, "--out", run]));
  const results = await Promise.all(
    children.map(
      (c) =>
        new Promise<{ code: number | null; stderr: string }>((resolve) => {
          let stderr = "";
          c.stderr!.on("data", (d) => (stderr += d));
          c.on("close", (code) => resolve({ code, stderr }));
        }),
    ),
  );
  const ok = results.filter((r) => r.code === 0);
  assert.equal(ok.length, 1, results.map((r) => `${r.code}: ${r.stderr}`).join("\n"));
  for (const r of results.filter((r) => r.code !== 0)) {
    oneLine(r, 2, /is being trained by process \d+/);
  }
  const alone = join(dir, "alone");
  assert.equal(cli([...base, "--out", alone]).code, 0);
  assert.deepEqual(scalars(run), scalars(alone));
  assert.equal(manifestOf(run).resumes, undefined, "nobody resumed the run");
});
