import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import test from "node:test";
import { fileURLToPath } from "node:url";
import { writeD4rl } from "../../src/data/d4rl.js";
import { indexedD4rl, tempDir } from "./fixtures.js";

const MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: "utf8" });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const noStack = (s: string) => assert.ok(!/\n\s+at /.test(s) && !s.includes("HDF5-DIAG"), `no stack trace or HDF5 dump in:\n${s}`);

test("clap-rl dataset validate: exit 0 on a clean file, 1 with one line per problem, 2 on a bad flag", async (t) => {
  const dir = tempDir(t);
  const good = join(dir, "good.hdf5");
  await writeD4rl(good, indexedD4rl([{ rows: 4, terminal: true }, { rows: 3, timeout: true }], "locomotion"));
  const ok = cli("dataset", "validate", good);
  assert.equal(ok.code, 0, ok.err);
  assert.equal(ok.out, `${good}: ok (d4rl, 2 episodes, 7 transitions)\n`);

  const bad = indexedD4rl([{ rows: 4, terminal: true }, { rows: 3, timeout: true }], "locomotion");
  bad.rewards[5] = NaN;
  (bad.actions.data as Float32Array)[1] = -3;
  const badPath = join(dir, "bad.hdf5");
  await writeD4rl(badPath, bad);
  const r = cli("dataset", "validate", badPath, "--env", "hopper");
  assert.equal(r.code, 1);
  assert.deepEqual(r.out.trim().split("\n"), [
    `error: ${badPath}: actions[0, 1]: value -3 outside [-1, 1] (tolerance 0.001; 1 value out of bounds)`,
    `error: ${badPath}: rewards[5]: NaN (1 non-finite value in total)`,
    `error: ${badPath}: timeouts[6]: set after 3 steps, expected 1000 (1 episode)`,
    `error: ${badPath}: observations: each observation has shape [2], the environment expects [11]`,
    `error: ${badPath}: actions: 2 values per action, the environment expects 3`,
  ]);
  assert.equal(r.err, `clap-rl: ${badPath}: 5 error(s), 0 warning(s)\n`);

  const json = cli("dataset", "validate", badPath, "--json");
  assert.equal(json.code, 1);
  const report = JSON.parse(json.out);
  assert.equal(report.errors, 2);
  assert.deepEqual(report.issues[1], { severity: "error", file: badPath, key: "rewards", index: [5], message: "NaN (1 non-finite value in total)" });

  const truncated = join(dir, "trunc.hdf5");
  writeFileSync(truncated, new Uint8Array([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0]));
  const tr = cli("dataset", "validate", truncated);
  assert.equal(tr.code, 1);
  assert.match(tr.out, new RegExp(`^error: ${truncated.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: \\(file\\): cannot open HDF5 file`));
  noStack(tr.out + tr.err);

  const missing = cli("dataset", "validate", join(dir, "missing.hdf5"));
  assert.equal(missing.code, 1);
  assert.match(missing.out, /\(file\): no such file or directory/);

  const unknownEnv = cli("dataset", "validate", good, "--env", "nosuchenv");
  assert.equal(unknownEnv.code, 2);
  assert.match(unknownEnv.err, /^clap-rl: unknown environment "nosuchenv"/);
  noStack(unknownEnv.err);
});

test("clap-rl dataset inspect: JSON summary with counts and statistics; bad files are one-line errors", async (t) => {
  const dir = tempDir(t);
  const path = join(dir, "d.hdf5");
  await writeD4rl(path, indexedD4rl([{ rows: 4, terminal: true }, { rows: 3, timeout: true }, { rows: 2 }], "locomotion"));
  const r = cli("dataset", "inspect", path, "--json");
  assert.equal(r.code, 0, r.err);
  const s = JSON.parse(r.out);
  assert.deepEqual([s.format, s.layout, s.episodes, s.transitions, s.entries], ["d4rl", "locomotion", 3, 9, 12]);
  assert.deepEqual(s.ends, { terminal: 1, timeout: 1, fileEnd: 1 });
  // Returns: rows 0–3 → 2000+…+2003, rows 4–6 → 2004+2005+2006, rows 7–8 → 2007+2008.
  assert.deepEqual([s.returns.min, s.returns.max], [4015, 8006]);
  assert.deepEqual(s.lengths, { mean: 3, std: Math.sqrt(2 / 3), min: 2, max: 4 });
  assert.deepEqual(s.actionRange.max, [8 / 4096, 0]);
  assert.deepEqual(s.obsShape, [2]);

  const scored = JSON.parse(cli("dataset", "inspect", path, "--json", "--env", "hopper").out);
  const hopper = (r: number) => (100 * (r + 20.272305)) / (3234.3 + 20.272305);
  assert.ok(Math.abs(scored.normalisedReturns.min - hopper(4015)) < 1e-9);
  assert.ok(Math.abs(scored.normalisedReturns.max - hopper(8006)) < 1e-9);

  const text = cli("dataset", "inspect", path);
  assert.equal(text.code, 0);
  assert.match(text.out, /episodes +3\ntransitions +9 +\(12 observations\)/);

  writeFileSync(join(dir, "x.hdf5"), "hello");
  const bad = cli("dataset", "inspect", join(dir, "x.hdf5"));
  assert.equal(bad.code, 2);
  assert.equal(bad.err, `clap-rl: ${join(dir, "x.hdf5")}: not an HDF5 file or npz archive (truncated or corrupt HDF5?)\n`);
});
