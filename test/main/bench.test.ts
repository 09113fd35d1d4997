import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BENCH_SECTIONS, benchLines, runBench } from "../../src/bench/suite.js";
import { cli, tempDir } from "./helpers.js";

test("bench: a failing section is reported beside the others' results, and lines name every figure", async () => {
  BENCH_SECTIONS.fake_ok = { what: "test", load: async () => async () => ({ sizes: { n: 3 }, ms: 1.5 }) };
  BENCH_SECTIONS.fake_broken = {
    what: "test",
    load: async () => async () => {
      throw new Error("boom");
    },
  };
  try {
    const lines: string[] = [];
    const r = await runBench(["fake_ok", "fake_broken"], (l) => lines.push(l));
    assert.deepEqual(r.fake_ok, { sizes: { n: 3 }, ms: 1.5 });
    assert.deepEqual(r.fake_broken, { error: "boom" });
    assert.equal(r.engine, undefined, "sections not asked for do not run");
    assert.equal(typeof (r.blas as { path: string }).path, "string");
    assert.ok(lines.some((l) => l.startsWith("bench: fake_ok")));
    const text = benchLines(r);
    assert.ok(text.includes("fake_ok.sizes.n: 3"));
    assert.ok(text.includes("fake_ok.ms: 1.5"));
    assert.ok(text.includes("fake_broken.error: boom"));
  } finally {
    delete BENCH_SECTIONS.fake_ok;
    delete BENCH_SECTIONS.fake_broken;
  }
});

test("clap-rl bench: an unknown section is one line and exit code 2, and nothing is written", (t) => {
  const dir = tempDir(t);
  const out = join(dir, "bench.json");
  const r = cli(["bench", "envs", "nope", "--out", out]);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, 'clap-rl: unknown bench section "nope"; known: engine, method, envs, datasets\n');
  assert.throws(() => readFileSync(out));
});
