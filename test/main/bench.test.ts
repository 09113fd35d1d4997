import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BENCH_SECTIONS, benchLines, runBench } from "../../src/bench/suite.js";
import { pytorchReference, stepRatios, type TorchThreads } from "../../src/bench/pytorch.js";
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

test("PyTorch references: BC and PLAS steps at given sizes give 1- and 2-thread timings, and ratios compare like with like", async (t) => {
  const bc = pytorchReference("bc", { warmup_steps: 1, steps_measured: 2, kinds: { gaussian: { policy: "gaussian", batch: 8, hidden: 16, layers: 2, obs: 11, action: 3 } } });
  if (!bc.available) return t.skip(bc.reason);
  const g = (bc.kinds as Record<string, TorchThreads & { sizes: unknown }>).gaussian;
  // Process CPU time has a coarse clock: a step this small can read 0 ms of it, never a negative or missing value.
  for (const th of ["1t", "2t"] as const) assert.ok(g[th].step_ms > 0 && g[th].step_cpu_ms >= 0, `bc ${th}`);
  const sizes = { batch: 8, vae_hidden: 16, vae_layers: 2, latent: 6, actor_hidden: [16, 8], critic_hidden: [16, 8], perturbation: 0.05, obs: 11, action: 3 };
  const plas = pytorchReference("plas", { warmup_steps: 1, steps_measured: 2, sizes });
  assert.ok(plas.available, plas.available ? "" : plas.reason);
  for (const step of ["vae", "agent"]) assert.ok((plas.steps as Record<string, TorchThreads>)[step]["1t"].step_ms > 0, step);
  const bad = pytorchReference("nope", {});
  assert.equal(bad.available, false);
  assert.match(bad.available ? "" : bad.reason, /usage: pytorch_reference.py clap\|bc\|plas SIZES_JSON/);
  const torch = { "1t": { step_ms: 10, step_cpu_ms: 10 }, "2t": { step_ms: 8, step_cpu_ms: 14 } };
  assert.deepEqual(stepRatios({ step_ms: 12, step_cpu_ms: 5 }, torch), { pytorch_best_threads: "2t", wall: 1.5, cpu_vs_1t: 0.5 });
});
