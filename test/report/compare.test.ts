import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { compareRuns, meanStd, readRuns } from "../../src/report/compare.js";
import { fakeRun } from "./fixtures.js";

const MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const root = mkdtempSync(join(tmpdir(), "clap-compare-"));
after(() => rmSync(root, { recursive: true, force: true }));

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: "utf8", cwd: root });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

// hopper-medium, default settings: three finished seeds and one still running; one ε variant; one other dataset.
const dirs = [
  fakeRun(join(root, "h0"), { seed: 0, scores: [5, 15, 10] }),
  fakeRun(join(root, "h1"), { seed: 1, scores: [25, 22, 20] }),
  fakeRun(join(root, "h2"), { seed: 2, scores: [30, 28, 30] }),
  fakeRun(join(root, "h3"), { seed: 3, scores: [90], status: "running" }),
  fakeRun(join(root, "e0"), { seed: 0, scores: [1, 2, 2], edit: (c) => (c.agent.epsilon = 3) }),
  fakeRun(join(root, "w0"), { seed: 0, scores: [40, 45, 50], dataset: "walker2d-medium", env: "walker2d" }),
];

test("meanStd: mean and population std over seeds", () => {
  const s = meanStd([1, 2, 3, 4]);
  assert.equal(s.mean, 2.5);
  assert.ok(Math.abs(s.std - Math.sqrt(1.25)) < 1e-12);
  assert.equal(s.n, 4);
  assert.equal(meanStd([7]).std, 0);
  assert.ok(Number.isNaN(meanStd([]).mean));
});

test("comparison rows: one per dataset, algorithm and config; partial runs listed, not averaged", () => {
  const { runs, problems } = readRuns(dirs);
  assert.deepEqual(problems, []);
  const rows = compareRuns(runs);
  assert.equal(rows.length, 3);
  const [hopper, eps, walker] = rows;
  assert.equal(hopper.dataset, "hopper-medium");
  assert.equal(hopper.variant, "agent.epsilon=2");
  assert.equal(eps.variant, "agent.epsilon=3");
  assert.equal(walker.dataset, "walker2d-medium");
  assert.deepEqual(
    hopper.entries.map((e) => [e.run.seed, e.counted]),
    [
      [0, true],
      [1, true],
      [2, true],
      [3, false],
    ],
  );
  // last: 10, 20, 30; best: 15, 25, 30 (the running seed's 90 is not counted).
  assert.equal(hopper.last.n, 3);
  assert.equal(hopper.last.mean, 20);
  assert.ok(Math.abs(hopper.last.std - Math.sqrt(200 / 3)) < 1e-9);
  assert.ok(Math.abs(hopper.best.mean - 70 / 3) < 1e-9);
  const bm = 70 / 3;
  assert.ok(Math.abs(hopper.best.std - Math.sqrt(((15 - bm) ** 2 + (25 - bm) ** 2 + (30 - bm) ** 2) / 3)) < 1e-9);
  assert.equal(hopper.entries[3].last!.mean, 90, "the partial run shows its latest evaluation");
  assert.equal(walker.last.mean, 50);
  assert.equal(walker.variant, "");
});

test("clap-rl report: bad directories are named with what is missing, and nothing is written", () => {
  const bad = cli("report", dirs[0], join(root, "nowhere"), root, "--out", "cmp.html");
  assert.equal(bad.code, 2);
  const lines = bad.err.trim().split("\n");
  assert.ok(lines.some((l) => l.includes(join(root, "nowhere")) && l.includes("no such run directory")), bad.err);
  assert.ok(lines.some((l) => l.includes(`${root}: not a run directory (no manifest.json)`)), bad.err);
  assert.ok(!/\n\s+at /.test(bad.err), "no stack trace");
  assert.ok(!existsSync(join(root, "cmp.html")));
});

test("clap-rl report: comparison page with per-seed values and a marked partial entry", () => {
  const ok = cli("report", ...dirs, "--out", "cmp.html");
  assert.equal(ok.code, 0, ok.err);
  assert.match(ok.out, /3 rows over 6 runs, 1 partial/);
  const html = readFileSync(join(root, "cmp.html"), "utf8");
  assert.match(html, /20\.00 ± 8\.16/);
  assert.match(html, /s3: 90\.00 <span class="partial">partial \(running, step 0\/20\)<\/span>/);
  assert.match(html, /not comparable with published numbers/);
  assert.equal(html.match(/<canvas data-chart=/g)?.length, 2);
});

test("clap-rl report --out never replaces a file clap-rl did not write as a report (issue 12), and replaces its own", () => {
  const metrics = join(dirs[0], "metrics.jsonl");
  const before = readFileSync(metrics, "utf8");
  const notHtml = cli("report", ...dirs, "--out", metrics);
  assert.equal(notHtml.code, 2);
  assert.equal(notHtml.err.trim(), `clap-rl: ${metrics}: a report is written to a .html or .htm file; choose such a name`);
  assert.equal(readFileSync(metrics, "utf8"), before, "the metrics were replaced");
  const single = cli("report", dirs[0], "--out", metrics);
  assert.equal(single.code, 2, "one run's report is refused there too");
  assert.equal(readFileSync(metrics, "utf8"), before);

  const foreign = join(root, "notes.html");
  writeFileSync(foreign, "<html><body>my own page</body></html>");
  const refused = cli("report", ...dirs, "--out", foreign);
  assert.equal(refused.code, 2);
  assert.match(refused.err, /notes\.html: exists and was not written by clap-rl as a report; refusing to replace it/);
  assert.equal(readFileSync(foreign, "utf8"), "<html><body>my own page</body></html>");

  const own = join(root, "again.html");
  assert.equal(cli("report", ...dirs, "--out", own).code, 0);
  const second = cli("report", ...dirs, "--out", own);
  assert.equal(second.code, 0, second.err);
});

test("clap-rl report --results: the comparison as Markdown with the data's score, budgets and the command, never over a foreign file", () => {
  const card = join(root, "hm.json");
  writeFileSync(card, JSON.stringify({ normalizedMean: 27.94 }));
  const withData = fakeRun(join(root, "hd0"), { seed: 0, scores: [12, 31], dataset: "hopper-medium-carded", datasetPath: join(root, "hm.hdf5") });
  const r = cli("report", ...dirs, withData, "--out", "md.html", "--results", "cmp.md");
  assert.equal(r.code, 0, r.err);
  const md = readFileSync(join(root, "cmp.md"), "utf8");
  assert.ok(md.startsWith("# Run comparison (written by `clap-rl report --results`)\n"));
  assert.ok(md.includes(`clap-rl report ${[...dirs, withData].join(" ")} --out md.html --results cmp.md`), "the command is written next to the numbers");
  assert.match(md, /## hopper-medium-carded \(data 27\.9\)/);
  // hopper-medium's default row: last 10, 20, 30 (the running seed shown, not counted); tiny preset 50 + 20 steps.
  assert.match(md, /\| clap \(agent\.epsilon=2\) \| 3 \| 20\.0 ± 8\.2 \| 23\.3 ± 6\.2 \| 10\.0 \/ 20\.0 \/ 30\.0 \/ 90\.0 \(partial\) \| model 50 \+ agent 20 \| 0\.1 \|/);
  assert.match(md, /## walker2d-medium\n/, "no card, no data score");
  const foreign = join(root, "README-notes.md");
  writeFileSync(foreign, "my notes\n");
  const refused = cli("report", ...dirs, "--results", foreign);
  assert.equal(refused.code, 2);
  assert.match(refused.err, /README-notes\.md: exists and was not written by clap-rl as a comparison table; refusing to replace it/);
  assert.equal(readFileSync(foreign, "utf8"), "my notes\n");
  assert.ok(!existsSync(join(root, "comparison.html")), "refused before any work");
  assert.equal(cli("report", ...dirs, "--out", "md.html", "--results", "cmp.md").code, 0, "its own file is replaced");
});
