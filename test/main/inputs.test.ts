/**
 * Inputs that used to end in a stack trace or a misleading line (issue 12 items 8, 9, 12, 13): each is one line naming
 * what is wrong and where.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeSyntheticD4rl } from "../method/synthetic.js";
import { cli, FAST, tempDir, type CliResult } from "./helpers.js";

function oneLine(r: CliResult, code: number, pattern: RegExp): void {
  assert.equal(r.code, code, r.stderr);
  assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  assert.match(r.stderr, pattern);
}

test("a dataset path is checked as a file before its name is used: garbage, empty, a symbolic link loop", (t) => {
  const dir = tempDir(t);
  const train = (data: string) => cli(["train", "--dataset", data, "--env", "hopper", ...FAST, "--out", join(dir, "run")]);
  writeFileSync(join(dir, "garbage.hdf5"), "hello\n");
  writeFileSync(join(dir, "empty.hdf5"), "");
  oneLine(train(join(dir, "garbage.hdf5")), 2, /garbage\.hdf5: not an HDF5 file or npz archive/);
  oneLine(train(join(dir, "empty.hdf5")), 2, /empty\.hdf5: file is empty/);
  symlinkSync(join(dir, "b"), join(dir, "a"));
  symlinkSync(join(dir, "a"), join(dir, "b"));
  oneLine(train(join(dir, "a")), 5, /\/a: cannot read the dataset \(a loop of symbolic links\)/);
});

test("flags name themselves: --dataset-size 0, eval --run on a missing folder", (t) => {
  const dir = tempDir(t);
  oneLine(cli(["train", "--dataset", "hopper-medium", "--dataset-size", "0", "--out", join(dir, "run")]), 2, /--dataset-size must be a positive integer/);
  oneLine(cli(["eval", "--run", join(dir, "nope")]), 2, /nope': no such run or checkpoint folder/);
});

test("a dataset smaller than one batch is refused with one line; a run on too little data for the action check still gets its report", async (t) => {
  const dir = tempDir(t);
  const one = join(dir, "one-hopper-medium.hdf5");
  await writeSyntheticD4rl(one, 11, 3, 1, 1);
  oneLine(cli(["train", "--dataset", one, "--env", "hopper", ...FAST, "--quiet", "--out", join(dir, "one")]), 2, /one-hopper-medium\.hdf5: 1 transition, fewer than one batch \(data\.batch 4\); too little data to train on/);

  // Enough to train, too little for the report's action check (issue 12 item 8).
  const small = join(dir, "small-hopper-medium.hdf5");
  await writeSyntheticD4rl(small, 11, 3, 2, 5);
  const run = join(dir, "small");
  assert.equal(cli(["train", "--dataset", small, "--env", "hopper", ...FAST, "--out", run]).code, 0);
  const r = cli(["report", run]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(readFileSync(join(run, "report.html"), "utf8"), /Skipped: only \d+ dataset rows lie outside the checked episode, fewer than the k = 20 neighbours/);
});
