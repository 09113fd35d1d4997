/**
 * `clap-rl reproduce`: runs the grids behind the paper's claims and says pass/fail per claim (src/report/claims.ts
 * has the rules).
 *
 *   clap-rl reproduce [jump-start|locomotion|ablations|epsilon]... [--seeds 0-1] [--jobs N] [--preset P]
 *                     [--dataset-size N] [--set k=v]... [--out DIR] [--results FILE] [--no-run]
 *
 * - The runs are `clap-rl train` children in <out>/<dataset>-<variant>-<preset>-s<seed> (sweep's pool: finished runs
 *   are skipped, unfinished ones continue from their checkpoint), so a grid of hours is split across sessions by
 *   running the same command again. Claims share runs: the expert runs of `locomotion` are those of `jump-start`.
 * - At the end (and with --no-run, without training anything) it reads every finished run, checks the claims and
 *   writes <out>/comparison.html and the results file (default <out>/results.md): the tables, the verdicts, the
 *   command and the budget (preset steps, dataset rows, wall minutes per run from the manifests).
 */
import { existsSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { join, relative, resolve } from "node:path";
import type { Command } from "commander";
import { UserError } from "../errors.js";
import { buildConfig } from "../config/presets.js";
import { algorithm } from "../algorithms/registry.js";
// The paper's claims are claims about C-LAP: its grids are C-LAP runs and read C-LAP's config.
import { clap } from "../algorithms/clap/index.js";
import { epsilonForDataset, type ClapConfig } from "../algorithms/clap/config.js";
import { loadDataset } from "../data/load.js";
import { CLAIMS, CLAIM_RULES, checkClaim, claimCells, type Cell, type ClaimName, type ClaimResult, type DatasetFacts } from "../report/claims.js";
import { meanStd, readRuns, writeComparison } from "../report/compare.js";
import { runReferences } from "../report/references.js";
import { regeneratedLabel } from "../report/run-report.js";
import { REPORT_PAGE } from "../report/html.js";
import type { RunData } from "../report/run-data.js";
import { checkOwnFile, replaceOwnFile, type OwnFile } from "../util/atomic.js";
import { createProgress } from "../util/progress.js";
import { collect, commandLineOf, resolveDataset, type ResolvedDataset } from "./train.js";
import { parseSeeds, runGrid, type SweepRun } from "./sweep.js";

const require = createRequire(import.meta.url);

interface ReproduceFlags {
  seeds: number[];
  jobs: number;
  preset: string;
  datasetSize?: number;
  set: string[];
  out: string;
  results?: string;
  run: boolean;
}

function positive(flag: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new UserError(`${flag} must be a positive integer, got '${v}'`);
    return n;
  };
}

/** Markdown table. */
function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.map((c) => c.replace(/\|/g, "\\|")).join(" | ")} |`;
  return [line(head), line(head.map(() => "---")), ...rows.map(line)].join("\n");
}

/** The first line of every results file: what a later run checks before replacing the file. */
const RESULTS_TITLE = "# Results: the paper's claims on regenerated data";
const RESULTS_FILE: OwnFile = { what: "results file", extensions: [".md"], marker: RESULTS_TITLE };


async function reproduceCommand(claimArgs: string[], f: ReproduceFlags, cmd: Command): Promise<void> {
  const claims = (claimArgs.length ? claimArgs : [...CLAIMS]) as ClaimName[];
  for (const c of claims) if (!(CLAIMS as readonly string[]).includes(c)) throw new UserError(`unknown claim '${c}'; claims: ${CLAIMS.join(", ")}`);
  if (f.seeds.length === 0) throw new UserError("--seeds: no seeds");
  // A bad --set or --preset fails here once, before any dataset is made.
  const base = buildConfig(clap, { preset: f.preset, sets: f.set });
  const out = resolve(f.out);
  // Output paths are checked before hours of training, not after.
  const resultsFile = resolve(f.results ?? join(out, "results.md"));
  checkOwnFile(resultsFile, RESULTS_FILE);
  checkOwnFile(join(out, "comparison.html"), REPORT_PAGE);
  const logs = join(out, "logs");
  mkdirSync(logs, { recursive: true });
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const progress = createProgress();

  const cells = new Map<string, Cell>();
  for (const claim of claims) for (const c of claimCells(claim, epsilonForDataset)) cells.set(`${c.dataset}/${c.variant}`, c);
  const datasets = new Map<string, ResolvedDataset>();
  for (const c of cells.values()) {
    if (!datasets.has(c.dataset)) datasets.set(c.dataset, await resolveDataset(c.dataset, { size: f.datasetSize, progress }));
  }
  const runs: (SweepRun & { cell: string })[] = [];
  for (const c of cells.values()) {
    const dataset = datasets.get(c.dataset)!;
    for (const seed of f.seeds) {
      const name = `${c.dataset}-${c.variant}-${base.preset}-s${seed}`;
      const dir = join(out, name);
      const args = ["train", "--dataset", resolve(dataset.path), "--env", dataset.envId!, "--seed", String(seed), "--out", dir, "--preset", f.preset];
      for (const s of [...f.set, ...c.sets]) args.push("--set", s);
      runs.push({ name, dir, dataset, envId: dataset.envId!, seed, args, cell: `${c.dataset}/${c.variant}` });
    }
  }
  say(`reproduce: ${claims.join(", ")}: ${runs.length} runs (${cells.size} settings × ${f.seeds.length} seed(s)), preset ${base.preset}, in ${out}`);
  if (f.run) {
    const outcomes = await runGrid(runs, { jobs: f.jobs, logs, say });
    const notStarted = runs.length - outcomes.size;
    if (notStarted > 0) say(`reproduce: ${notStarted} runs not started (interrupted); run the same command again to continue`);
  }

  const { runs: data, problems } = readRuns(runs.filter((r) => existsSync(join(r.dir, "manifest.json"))).map((r) => r.dir));
  for (const p of problems) say(`reproduce: not counted: ${p.dir}: ${p.message}`);
  const byDir = new Map(data.map((r) => [r.dir, r]));
  const finished = (cell: string): RunData[] => runs.filter((r) => r.cell === cell).map((r) => byDir.get(resolve(r.dir))).filter((r): r is RunData => !!r && r.status === "done");
  const facts = new Map<string, DatasetFacts>();
  for (const [name, ds] of datasets) {
    const first = finished(`${name}/clap`)[0] ?? data.find((r) => r.status === "done" && resolve(r.manifest.dataset?.path ?? "") === resolve(ds.path));
    let references = null;
    const gamma = first ? (algorithm(first.config.algo).discount?.(first.config) ?? null) : null;
    if (first && gamma !== null) {
      const settings = { gamma, splitAt: first.config.data.splitAt, rewardTransform: first.config.data.rewardTransform };
      references = (await runReferences(first.dir, resolve(ds.path), settings, async () => (await loadDataset(ds.path)).episodes)).references;
    }
    facts.set(name, { dataScore: ds.card?.normalizedMean ?? null, references });
  }
  const results = claims.map((claim) => checkClaim(claim, (d, v) => finished(`${d}/${v}`), (d) => facts.get(d)!, epsilonForDataset));

  if (data.length > 0) writeComparison(data, join(out, "comparison.html"));
  replaceOwnFile(resultsFile, resultsMarkdown(results, { runs: data, preset: base, datasetSize: f.datasetSize, command: commandLineOf(cmd), out }), RESULTS_FILE);
  for (const r of results) say(`${r.claim}: ${r.verdict.toUpperCase()}${r.rows.filter((x) => x.verdict !== "pass").map((x) => `\n  ${x.dataset}: ${x.verdict} (${x.why})`).join("")}`);
  say(`results: ${resultsFile}${data.length ? `\ncomparison: ${join(out, "comparison.html")}` : ""}`);
}

function resultsMarkdown(
  results: ClaimResult[],
  o: { runs: RunData[]; preset: ClapConfig; datasetSize?: number; command: string[]; out: string },
): string {
  const c = o.preset;
  const done = o.runs.filter((r) => r.status === "done");
  const minutes = done
    .map((r) => (Date.parse(r.manifest.endedAt ?? "") - Date.parse(r.manifest.startedAt ?? "")) / 60_000)
    .filter((x) => Number.isFinite(x) && x > 0);
  const wall = meanStd(minutes);
  const version = (require("../../../package.json") as { version: string }).version;
  const lines = [
    RESULTS_TITLE,
    "",
    `Written by \`${o.command.join(" ")}\` on ${new Date().toISOString().slice(0, 10)} (clap-rl ${version}); runs in \`${relative(process.cwd(), o.out) || "."}\`.`,
    "",
    `> ${regeneratedLabel("hopper")}`,
    "",
    "Budget per run:",
    `- preset \`${c.preset}\`: model ${c.model.steps} steps of B ${c.data.batch} × T ${c.data.window}; agent ${c.agent.steps} steps, horizon ${c.agent.horizon}; evaluation every ${c.eval.every} agent steps (${c.eval.episodes} episodes) and a final one;`,
    `- datasets: ${o.datasetSize ? `${o.datasetSize} rows each` : "the registry's default sizes"};`,
    `- wall time: ${wall.n ? `${wall.mean.toFixed(1)} ± ${wall.std.toFixed(1)} min per run (${wall.n} finished runs, from their manifests; runs shared the machine's cores with each other)` : "no finished run yet"}.`,
    "",
    "Scores are D4RL-normalised (0–100), mean ± std over seeds (n = seeds that finished). \"data\" is the behaviour data's average normalised score over its complete episodes (the dataset card).",
    "",
  ];
  const unchecked = CLAIMS.filter((c) => !results.some((r) => r.claim === c));
  if (unchecked.length) lines.push(`Not checked in this file: ${unchecked.join(", ")} (\`clap-rl reproduce ${unchecked.join(" ")}\`).`, "");
  for (const r of results) {
    lines.push(`## ${r.claim}: ${r.verdict.toUpperCase()}`, "", `Rule: ${CLAIM_RULES[r.claim]}.`, "");
    if (r.rows.length) {
      const head = ["dataset", ...r.rows[0].cells.map(([k]) => k), "verdict", "why"];
      lines.push(table(head, r.rows.map((row) => [row.dataset, ...row.cells.map(([, v]) => v), row.verdict, row.why])), "");
    }
  }
  return lines.join("\n");
}

export function registerReproduceCommand(program: Command): void {
  program
    .command("reproduce")
    .description(`Run the grids behind the paper's claims (${CLAIMS.join(", ")}; default all), skip finished runs, and say pass/fail per claim`)
    .argument("[claims...]", `claims to check: ${CLAIMS.join(", ")}`)
    .option("--seeds <list>", "seeds: a range 0-3, a list 0,2,5, or both", parseSeeds, parseSeeds("0-1"))
    .option("--jobs <n>", "runs at a time (each is one process)", positive("--jobs"), 1)
    .option("--preset <name>", "config preset of every run", "small")
    .option("--dataset-size <n>", "rows of each registered dataset (default: the registry's size)", positive("--dataset-size"))
    .option("--set <key=value>", "config override for every run (repeatable)", collect, [])
    .option("--out <dir>", "directory of the runs, logs/, comparison.html", "runs/reproduce")
    .option("--results <file>", "where to write the results (default <out>/results.md)")
    .option("--no-run", "train nothing: check the claims on the runs already finished")
    .action(async (claimArgs: string[], f: ReproduceFlags, cmd: Command) => reproduceCommand(claimArgs, f, cmd));
}
