import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { checkClaim, claimCells, type DatasetFacts } from "../../src/report/claims.js";
import type { RunData } from "../../src/report/run-data.js";
import { cli, FAST, tempDir } from "./helpers.js";

/** A finished run as the claims read it: evaluations at the given steps (score, prior score, value estimate). */
function run(evals: { step: number; score: number; prior?: number; value?: number }[]): RunData {
  const records = evals.map((e) => ({ phase: "eval", step: e.step, score_mean: e.score, prior_score_mean: e.prior, value_estimate: e.value ?? 0 }));
  const points = records.map((r) => ({ step: r.step, mean: r.score_mean, std: 0, record: r }));
  const best = points.reduce((a, b) => (b.mean > a.mean ? b : a));
  return { status: "done", evals: records, last: points[points.length - 1], best } as unknown as RunData;
}

const eps = (d: string) => (d.includes("medium-replay") ? 3 : 2);
const refs = { gamma: 0.99, averageReturn: 200, averageMaxReturn: 300, states: 1, episodes: 1, averageEpisodeReturn: 1 };

test("claims: jump-start and locomotion compare means over seeds with the data's score; missing runs are incomplete, never a pass", () => {
  const facts = (): DatasetFacts => ({ dataScore: 50, references: null });
  const byDataset: Record<string, RunData[]> = {
    "hopper-expert": [run([{ step: 0, score: 45, prior: 44 }, { step: 10, score: 30 }]), run([{ step: 0, score: 39 }, { step: 10, score: 60 }])],
    "walker2d-expert": [run([{ step: 0, score: 20 }, { step: 10, score: 70 }])],
  };
  const js = checkClaim("jump-start", (d, v) => (v === "clap" ? (byDataset[d] ?? []) : []), facts, eps);
  assert.deepEqual(js.rows.map((r) => [r.dataset, r.verdict]), [["hopper-expert", "pass"], ["walker2d-expert", "fail"], ["halfcheetah-expert", "incomplete"]]);
  assert.equal(js.verdict, "fail");
  assert.match(js.rows[0].cells.find(([k]) => k.startsWith("prior"))![1], /^44\.0 ± 0\.0 \(n=1\)/);
  const loco = checkClaim("locomotion", (d) => byDataset[d] ?? [], facts, eps);
  assert.equal(loco.rows.length, 12);
  assert.deepEqual(loco.rows.filter((r) => r.verdict !== "incomplete").map((r) => [r.dataset, r.verdict]), [["hopper-expert", "fail"], ["walker2d-expert", "pass"]]);
  assert.equal(loco.verdict, "fail");
  const unknownData = checkClaim("jump-start", (d) => byDataset[d] ?? [], () => ({ dataScore: null, references: null }), eps);
  assert.equal(unknownData.rows[0].verdict, "incomplete");
});

test("claims: ablation and ε rules", () => {
  const runs: Record<string, RunData[]> = {
    clap: [run([{ step: 0, score: 10 }, { step: 10, score: 60, value: 250 }])],
    "no-latent-action": [run([{ step: 10, score: 5, value: 900 }])],
    "no-constraint": [run([{ step: 10, score: 50, value: 1000 }])],
  };
  const facts = (): DatasetFacts => ({ dataScore: 40, references: refs });
  const ok = checkClaim("ablations", (_d, v) => runs[v] ?? [], facts, eps);
  assert.equal(ok.verdict, "pass", JSON.stringify(ok.rows.map((r) => r.why)));
  // C-LAP overestimating (value above 1.25 × the max reference) fails the claim.
  const over: Record<string, RunData[]> = { ...runs, clap: [run([{ step: 10, score: 60, value: 400 }])] };
  const bad = checkClaim("ablations", (_d, v) => over[v] ?? [], facts, eps);
  assert.equal(bad.verdict, "fail");
  assert.match(bad.rows[0].why, /NOT C-LAP value 400 within \[100, 375\]/);
  assert.equal(checkClaim("ablations", (_d, v) => runs[v] ?? [], () => ({ dataScore: 40, references: null }), eps).verdict, "incomplete");

  const cells = claimCells("epsilon", eps);
  assert.equal(cells.length, 12);
  assert.deepEqual(cells.filter((c) => c.variant === "clap").map((c) => c.dataset), ["walker2d-medium", "walker2d-medium-replay"], "the family ε is the plain C-LAP run");
  const scoreOf: Record<string, number> = { eps0_5: 58, eps1: 55, clap: 60, eps3: 50, eps5: 40, eps10: 10 };
  const byVariant = (v: string) => [run([{ step: 10, score: scoreOf[v.replace(".", "_")] ?? 50 }])];
  assert.equal(checkClaim("epsilon", (_d, v) => byVariant(v), () => ({ dataScore: 40, references: null }), eps).verdict, "pass");
  scoreOf.eps10 = 45;
  const noCollapse = checkClaim("epsilon", (_d, v) => byVariant(v), () => ({ dataScore: 40, references: null }), eps);
  assert.equal(noCollapse.verdict, "fail");
  assert.match(noCollapse.rows[0].why, /NOT ε 10 45\.0/);
});

test("reproduce jump-start: makes the expert datasets, trains the grid, writes results with verdicts and budget; a re-run skips finished runs", async (t) => {
  const dir = tempDir(t);
  const out = join(dir, "repro");
  const results = join(dir, "results.md");
  const args = ["reproduce", "jump-start", "--seeds", "0", "--jobs", "2", "--dataset-size", "1500", ...FAST.slice(2), "--preset", "tiny", "--set", "eval.every=5", "--out", out, "--results", results];
  const env = { CLAP_RL_HOME: join(dir, "home") };
  const r = cli(args, env);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /reproduce: jump-start: 3 runs \(3 settings × 1 seed\(s\)\), preset tiny/);
  assert.match(r.stdout, /^jump-start: (PASS|FAIL)$/m);
  const md = readFileSync(results, "utf8");
  for (const d of ["hopper-expert", "walker2d-expert", "halfcheetah-expert"]) assert.match(md, new RegExp(`\\| ${d} \\| -?[\\d.]+ ± [\\d.]+ \\(n=1\\) \\| -?[\\d.]+ ± [\\d.]+ \\(n=1\\) \\| [\\d.]+ \\|`), md);
  assert.match(md, /preset `tiny`: model 20 steps/);
  assert.match(md, /datasets: 1500 rows each/);
  assert.match(md, /clap-rl reproduce jump-start --seeds 0/);
  assert.match(md, /regenerated substitutes/);
  assert.match(readFileSync(join(out, "comparison.html"), "utf8"), /hopper-expert/);

  const again = cli([...args, "--no-run"], env);
  assert.equal(again.code, 0, again.stderr);
  assert.doesNotMatch(again.stdout, /\[start \]/);
  const rerun = cli(args, env);
  assert.equal(rerun.stdout.match(/skip   /g)?.length, 3, rerun.stdout);

  const bad = cli(["reproduce", "jump-strat", "--out", out], env);
  assert.notEqual(bad.code, 0);
  assert.equal(bad.stderr.trim(), "clap-rl: unknown claim 'jump-strat'; claims: jump-start, locomotion, ablations, epsilon");
});

test("reproduce refuses a results path it did not write before it trains anything", (t) => {
  const dir = tempDir(t);
  const mine = join(dir, "notes.md");
  writeFileSync(mine, "# my notes\n");
  const r = cli(["reproduce", "jump-start", "--out", join(dir, "repro"), "--results", mine], { CLAP_RL_HOME: join(dir, "home") });
  assert.equal(r.code, 2);
  assert.equal(r.stderr.trim(), `clap-rl: ${mine}: exists and was not written by clap-rl as a results file; refusing to replace it (choose another path)`);
  assert.equal(readFileSync(mine, "utf8"), "# my notes\n");
  assert.ok(!existsSync(join(dir, "home")), "no dataset was made");
});
