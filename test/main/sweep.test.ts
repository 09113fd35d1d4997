import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseSeeds } from "../../src/cli/sweep.js";
import { writeSyntheticD4rl } from "../method/synthetic.js";
import { cli, FAST, manifestOf, tempDir } from "./helpers.js";

test("parseSeeds: ranges, lists and both; bad specs are refused", () => {
  assert.deepEqual(parseSeeds("0-3"), [0, 1, 2, 3]);
  assert.deepEqual(parseSeeds("0,2,5"), [0, 2, 5]);
  assert.deepEqual(parseSeeds("0-1,7,1"), [0, 1, 7]);
  assert.throws(() => parseSeeds("3-1"), /runs backwards/);
  assert.throws(() => parseSeeds("a"), /'a' is not a seed/);
});

test("sweep: a 2×2 tiny grid in a process pool, one status line per run, comparison.html; a re-run skips finished runs", async (t) => {
  const dir = tempDir(t);
  const a = join(dir, "synth-a-medium.hdf5");
  const b = join(dir, "synth-b-medium-replay.hdf5");
  await writeSyntheticD4rl(a, 11, 3);
  await writeSyntheticD4rl(b, 11, 3, 10, 25);
  const out = join(dir, "sweep");
  const args = ["sweep", "--datasets", `${a},${b}`, "--seeds", "0-1", "--env", "hopper", ...FAST, "--jobs", "2", "--out", out];
  const r = cli(args);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const names = ["synth-a-medium", "synth-b-medium-replay"].flatMap((d) => [0, 1].map((s) => `${d}-clap-tiny-s${s}`));
  for (const n of names) {
    const m = manifestOf(join(out, n));
    assert.equal(m.status, "done", n);
    assert.equal(m.seed, Number(n.slice(-1)));
    assert.ok(existsSync(join(out, "logs", `${n}.log`)));
    assert.match(r.stdout, new RegExp(`\\[\\d/4\\] done   ${n}: score -?[\\d.]+ ± [\\d.]+`));
  }
  assert.equal(JSON.parse(readFileSync(join(out, names[2], "config.json"), "utf8")).agent.epsilon, 3, "ε from the medium-replay name");
  assert.match(r.stdout, /sweep: 4 done, 0 skipped, 0 stopped, 0 failed/);
  const html = readFileSync(join(out, "comparison.html"), "utf8");
  assert.match(html, /synth-a-medium/);
  assert.match(html, /synth-b-medium-replay/);

  const again = cli(args);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout.match(/skip   /g)?.length, 4, again.stdout);
  assert.match(again.stdout, /sweep: 0 done, 4 skipped/);
});
