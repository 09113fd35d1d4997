import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { registeredName, resolveDataset } from "../../src/cli/train.js";
import { UserError } from "../../src/errors.js";
import { silentProgress } from "../../src/util/progress.js";
import { writeSyntheticD4rl } from "../method/synthetic.js";
import { cli, FAST, manifestOf, tempDir } from "./helpers.js";

test("registered names: clap:<env>/<variant>, the short <env>-<variant> form, and null for anything else", () => {
  assert.equal(registeredName("clap:hopper/medium")?.id, "clap:hopper/medium-regen1");
  assert.equal(registeredName("clap:hopper/medium-regen1")?.id, "clap:hopper/medium-regen1");
  assert.equal(registeredName("hopper-medium")?.id, "clap:hopper/medium-regen1");
  assert.deepEqual(registeredName("walker2d-medium-replay"), { env: "walker2d", variant: "medium-replay", id: "clap:walker2d/medium-replay-regen1" });
  assert.equal(registeredName("halfcheetah-medium-expert")?.variant, "medium-expert");
  assert.equal(registeredName("hopper-mediocre"), null);
  assert.equal(registeredName("ant-medium"), null);
  assert.throws(() => registeredName("clap:ant/medium"), (e: unknown) => e instanceof UserError && /unknown dataset "clap:ant\/medium"; known: clap:<hopper\|halfcheetah\|walker2d>/.test(e.message));
});

test("resolveDataset: an existing path wins; missing paths and unknown names are one clear error", async (t) => {
  const dir = tempDir(t);
  const data = join(dir, "hopper-medium.hdf5");
  await writeSyntheticD4rl(data, 11, 3);
  const progress = silentProgress();
  const r = await resolveDataset(data, { progress });
  assert.deepEqual(r, { path: data, name: "hopper-medium", registered: null, envId: null, card: null });
  await assert.rejects(resolveDataset(join(dir, "nope.hdf5"), { progress }), /--dataset '.*nope\.hdf5': no such file or folder/);
  await assert.rejects(resolveDataset("hopper-mediocre", { progress }), /not a file or folder nor a known dataset; known names: clap:hopper\/random, clap:hopper\/medium, /);
  // A registered dataset whose behaviour policy is missing names the policy file and the commands that make it.
  const empty = join(dir, "no-policies");
  mkdirSync(empty);
  await assert.rejects(resolveDataset("hopper-medium", { progress, size: 100, policyDir: empty }), /no medium behaviour policy for hopper .*behaviour train hopper/);
});

test("train --dataset hopper-random: made on demand with progress, --env implied, then reused", async (t) => {
  const dir = tempDir(t);
  const home = join(dir, "home");
  const run = join(dir, "run");
  const args = ["train", "--dataset", "hopper-random", "--dataset-size", "3000", ...FAST, "--set", "agent.epsilon=1", "--out", run];
  const r = cli(args, { CLAP_RL_HOME: home });
  assert.equal(r.code, 0, r.stderr);
  const file = join(home, "datasets", "hopper-random-regen1-n3000.hdf5");
  assert.ok(existsSync(file), "dataset made under $CLAP_RL_HOME");
  assert.match(r.stderr, /making clap:hopper\/random-regen1 \(3000 rows\)/);
  assert.match(r.stderr, /dataset random 3000\/3000 \(100%\) [\d.]+ rows\/s/);
  assert.match(r.stderr, /model 20\/20 \(100%\)/);
  const m = manifestOf(run);
  assert.equal(m.env, "hopper");
  assert.equal(m.dataset.path, file);
  assert.equal(m.dataset.name, "hopper-random-regen1-n3000");
  assert.equal(m.dataset.transitions, 3000);
  assert.deepEqual(m.command, ["clap-rl", ...args]);
  assert.equal(m.engine.backend, "wasm");
  assert.match(m.engine.tfjsCore, /^\d+\.\d+\.\d+$/);
  assert.match(m.engine.blas.path, /^(openblas|portable|wasm)$/);
  assert.equal(m.status, "done");
  assert.ok(existsSync(join(run, "report.html")), "a finished run has its report");

  // Same dataset again under another --out: the file is reused, not made again.
  const again = cli(["train", "--dataset", "clap:hopper/random", "--dataset-size", "3000", ...FAST, "--set", "agent.epsilon=1", "--out", join(dir, "run2"), "--quiet"], { CLAP_RL_HOME: home });
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stderr, "");
  assert.equal(manifestOf(join(dir, "run2")).dataset.sha256, m.dataset.sha256);
});
