/**
 * The cross-run comparison page (`clap-rl report <run dirs...>`): per dataset, a table with one row per algorithm
 * (and config variant) giving mean ± std over seeds of the last and the best normalised score, the per-seed values,
 * and the runs' score curves overlaid.
 *
 * Readings:
 * - std over seeds is the population std (ddof 0, numpy's default, what offline-RL codebases print);
 * - runs of one dataset and algorithm whose configs differ in more than the seed (ε sweeps, ablations, presets)
 *   are separate rows, labelled by the config fields that differ, so different settings are never averaged;
 * - unfinished runs are listed per seed, marked partial with their latest evaluation, and left out of the
 *   mean ± std; finished runs without environment evaluations are listed and left out too;
 * - the metric is the normalised score when every run of the row has one, else the raw return.
 *
 * The same rows also go to a Markdown file (`--results FILE.md`), for the docs: with the command that made it, each
 * dataset's own average score, and each row's budget (gradient steps per phase, wall-clock minutes per run).
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { evalCurve, lastAndBest, readRun, type EvalMetric, type EvalPoint, type RunData } from "./run-data.js";
import { ChartSet, colour, esc, fmt, lineOptions, note, page, table, writePage, type ChartConfig } from "./html.js";
import { REPORT_FILE, regeneratedLabel } from "./run-report.js";
import { algorithm } from "../algorithms/registry.js";
import { cardPathFor } from "../data/registry.js";
import type { OwnFile } from "../util/atomic.js";

export interface MeanStd {
  mean: number;
  std: number;
  n: number;
}

/** Mean and population std (ddof 0); NaN for an empty list. */
export function meanStd(values: readonly number[]): MeanStd {
  const n = values.length;
  if (n === 0) return { mean: NaN, std: NaN, n: 0 };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  return { mean, std: Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / n), n };
}

export interface SeedEntry {
  run: RunData;
  curve: EvalPoint[];
  last: EvalPoint | null;
  best: EvalPoint | null;
  /** Counted in mean ± std: finished, with evaluations. */
  counted: boolean;
}

export interface ComparisonRow {
  dataset: string;
  algo: string;
  /** Config fields (other than the seed) that set this row apart from others of its dataset and algorithm. */
  variant: string;
  metric: EvalMetric;
  entries: SeedEntry[];
  last: MeanStd;
  best: MeanStd;
}

/** Flattens a JSON object to dotted keys → JSON-encoded values. */
function flatten(v: unknown, prefix = "", out = new Map<string, string>()): Map<string, string> {
  if (v && typeof v === "object" && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) flatten(x, prefix ? `${prefix}.${k}` : k, out);
  } else {
    out.set(prefix, JSON.stringify(v));
  }
  return out;
}

function variantKey(run: RunData): string {
  const flat = flatten(run.config);
  flat.delete("seed");
  return JSON.stringify([...flat].sort(([a], [b]) => a.localeCompare(b)));
}

/** Groups runs into rows by dataset, algorithm and config (seed aside), in the order first seen. */
export function compareRuns(runs: readonly RunData[]): ComparisonRow[] {
  const groups = new Map<string, RunData[]>();
  for (const r of runs) {
    const key = JSON.stringify([r.datasetName, r.algo, variantKey(r)]);
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  // Fields that differ between variants of one dataset and algorithm name each variant.
  const byAlgo = new Map<string, Map<string, string>[]>();
  for (const rs of groups.values()) {
    const k = JSON.stringify([rs[0].datasetName, rs[0].algo]);
    const flat = flatten(rs[0].config);
    flat.delete("seed");
    byAlgo.set(k, [...(byAlgo.get(k) ?? []), flat]);
  }
  const rows: ComparisonRow[] = [];
  for (const rs of groups.values()) {
    const first = rs[0];
    const siblings = byAlgo.get(JSON.stringify([first.datasetName, first.algo]))!;
    const own = flatten(first.config);
    const differing = [...own.keys()].filter((k) => k !== "seed" && siblings.some((s) => s.get(k) !== own.get(k)));
    const variant = differing.map((k) => `${k}=${own.get(k)}`).join(", ");
    const metric: EvalMetric = rs.every((r) => r.metric === "score" || r.metric === null) && rs.some((r) => r.metric === "score") ? "score" : "return";
    const entries = [...rs]
      .sort((a, b) => a.seed - b.seed)
      .map((run): SeedEntry => {
        const curve = evalCurve(run.evals, metric);
        const { last, best } = lastAndBest(curve);
        return { run, curve, last, best, counted: !run.partial && last !== null };
      });
    const counted = entries.filter((e) => e.counted);
    rows.push({
      dataset: first.datasetName,
      algo: first.algo,
      variant,
      metric,
      entries,
      last: meanStd(counted.map((e) => e.last!.mean)),
      best: meanStd(counted.map((e) => e.best!.mean)),
    });
  }
  return rows;
}

export interface RunProblem {
  dir: string;
  message: string;
}

/** Reads every directory; unusable ones come back as problems (one line each) instead of throwing. */
export function readRuns(dirs: readonly string[]): { runs: RunData[]; problems: RunProblem[] } {
  const runs: RunData[] = [];
  const problems: RunProblem[] = [];
  const seen = new Set<string>();
  for (const d of dirs) {
    const abs = resolve(d);
    if (seen.has(abs)) continue;
    seen.add(abs);
    try {
      runs.push(readRun(d));
    } catch (e) {
      problems.push({ dir: d, message: (e as Error).message });
    }
  }
  return { runs, problems };
}

function pm(s: MeanStd): string {
  return s.n === 0 ? "–" : `${fmt(s.mean)} ± ${fmt(s.std)}`;
}

function seedCell(e: SeedEntry, which: "last" | "best", outDir: string): string {
  const p = e[which];
  const report = join(e.run.dir, REPORT_FILE);
  const seed = existsSync(report) ? `<a href="${esc(relative(outDir, report))}">s${e.run.seed}</a>` : `s${e.run.seed}`;
  if (!p) return `${seed}: <span class="partial">${e.run.partial ? `partial (${esc(e.run.status)}), no evaluation yet` : "no evaluations"}</span>`;
  const tag = e.run.partial ? ` <span class="partial">partial (${esc(e.run.status)}, step ${e.run.agentStep}/${e.run.agentSteps})</span>` : "";
  return `${seed}: ${fmt(p.mean)}${tag}`;
}

function curvesChart(rows: ComparisonRow[]): ChartConfig {
  const datasets: Record<string, unknown>[] = [];
  rows.forEach((row, i) => {
    for (const e of row.entries) {
      datasets.push({
        label: `${row.algo}${row.variant ? ` [${row.variant}]` : ""} s${e.run.seed}${e.run.partial ? " (partial)" : ""}`,
        data: e.curve.map((p) => ({ x: p.step, y: p.mean })),
        borderColor: colour(i),
        backgroundColor: colour(i),
        borderDash: e.run.partial ? [5, 4] : undefined,
        pointRadius: 2,
      });
    }
  });
  const metric = rows.every((r) => r.metric === "score") ? "normalised score" : "return";
  return { type: "line", data: { datasets }, options: lineOptions("agent gradient steps", metric) };
}

export interface ComparisonContent {
  html: string;
  charts: number;
  rows: ComparisonRow[];
}

export function buildComparison(runs: readonly RunData[], outFile: string): ComparisonContent {
  const rows = compareRuns(runs);
  const outDir = dirname(resolve(outFile));
  const charts = new ChartSet();
  const datasets = [...new Set(rows.map((r) => r.dataset))];
  const envs = [...new Set(runs.map((r) => r.manifest.env ?? null))];
  const parts: string[] = [];
  parts.push(`<h1>Run comparison</h1>`);
  parts.push(`<p class="sub">${runs.length} run(s) on ${datasets.length} dataset(s) · written ${esc(new Date().toISOString())}</p>`);
  parts.push(`<div class="label">${esc(regeneratedLabel(envs.find((e) => e) ?? null))}</div>`);
  parts.push(
    note(
      "<b>last</b> is the final evaluation (the headline); <b>best</b> is the best periodic evaluation, chosen by online selection and therefore optimistic (docs/design/method.md §14). " +
        "mean ± std is over seeds (population std, ddof 0) of finished runs only; partial runs are listed per seed and not averaged.",
    ),
  );
  const partial = runs.filter((r) => r.partial);
  if (partial.length) parts.push(note(`${partial.length} run(s) not finished: ${partial.map((r) => esc(r.dir)).join(", ")}`, "warn"));
  for (const ds of datasets) {
    const dsRows = rows.filter((r) => r.dataset === ds);
    parts.push(`<h2>${esc(ds)}</h2>`);
    parts.push(
      table(
        ["algorithm", "metric", "seeds", "last (mean ± std)", "best (mean ± std, optimistic)", "last per seed", "best per seed"],
        dsRows.map((r) => [
          `${esc(r.algo)}${r.variant ? `<br><small>${esc(r.variant)}</small>` : ""}`,
          r.metric === "score" ? "normalised score" : "return",
          `${r.last.n}${r.entries.length > r.last.n ? ` <span class="partial">(+${r.entries.length - r.last.n} not counted)</span>` : ""}`,
          pm(r.last),
          pm(r.best),
          r.entries.map((e) => seedCell(e, "last", outDir)).join("<br>"),
          r.entries.map((e) => seedCell(e, "best", outDir)).join("<br>"),
        ]),
      ),
    );
    parts.push(`<div class="grid">${charts.figure(`${ds}: evaluation curves of every run`, curvesChart(dsRows), "One line per run; colour by algorithm/variant; dashed lines are unfinished runs.", true)}</div>`);
  }
  return { html: page("clap-rl run comparison", parts.join("\n"), charts), charts: charts.configs.length, rows };
}

export function writeComparison(runs: readonly RunData[], outFile: string): ComparisonContent {
  const content = buildComparison(runs, outFile);
  writePage(outFile, content.html);
  return content;
}

/** The first line of every comparison Markdown file: what a later run checks before replacing the file. */
const COMPARISON_TITLE = "# Run comparison (written by `clap-rl report --results`)";
export const COMPARISON_MARKDOWN: OwnFile = { what: "comparison table", extensions: [".md"], marker: COMPARISON_TITLE };

/** The dataset's own average normalised score from its card (regenerated datasets have one), or null. */
function dataScore(run: RunData): number | null {
  const path = run.manifest.dataset?.path;
  if (!path) return null;
  try {
    const card = JSON.parse(readFileSync(cardPathFor(path), "utf8")) as { normalizedMean?: unknown };
    return typeof card.normalizedMean === "number" ? card.normalizedMean : null;
  } catch {
    return null;
  }
}

/** Gradient steps per phase as the row's config sets them, e.g. "model 10,000 + agent 400". */
function budget(row: ComparisonRow): string {
  const phases = algorithm(row.algo).phases(row.entries[0].run.config);
  return Object.entries(phases)
    .filter(([, p]) => p.steps > 0)
    .map(([name, p]) => `${name} ${p.steps.toLocaleString("en-US")}`)
    .join(" + ");
}

/** Mean wall-clock minutes of the row's finished runs (the last metrics line's elapsed_s). */
function minutesPerRun(row: ComparisonRow): string {
  const mins = row.entries
    .filter((e) => e.counted)
    .map((e) => e.run.metrics.records.reduce((m, r) => Math.max(m, typeof r.elapsed_s === "number" ? r.elapsed_s : 0), 0) / 60);
  return mins.length === 0 ? "–" : meanStd(mins).mean.toFixed(1);
}

/** The comparison as Markdown: per dataset, one table row per algorithm (and variant). */
export function comparisonMarkdown(runs: readonly RunData[], command: string): string {
  const rows = compareRuns(runs);
  const f1 = (x: number) => x.toFixed(1);
  const ms = (s: MeanStd) => (s.n === 0 ? "–" : `${f1(s.mean)} ± ${f1(s.std)}`);
  const lines = [
    COMPARISON_TITLE,
    "",
    `Written ${new Date().toISOString().slice(0, 10)} by:`,
    "",
    "```sh",
    command,
    "```",
    "",
    regeneratedLabel(runs.find((r) => r.manifest.env)?.manifest.env ?? null),
    "",
    "**last** is the final evaluation (the headline); **best** is the best periodic evaluation, chosen online and " +
      "therefore optimistic. mean ± std over seeds (population std) of finished runs; per-seed values in seed order. " +
      "**data** is the dataset's own average normalised score over its complete episodes. Minutes are wall-clock per run " +
      "on the machine that ran it, evaluations included.",
  ];
  for (const ds of [...new Set(rows.map((r) => r.dataset))]) {
    const dsRows = rows.filter((r) => r.dataset === ds);
    const data = dataScore(dsRows[0].entries[0].run);
    lines.push("", `## ${ds}${data === null ? "" : ` (data ${f1(data)})`}`, "");
    lines.push("| algorithm | seeds | last | best | last per seed | gradient steps | min per run |", "|---|---|---|---|---|---|---|");
    for (const r of dsRows) {
      const perSeed = r.entries.map((e) => (e.last ? `${f1(e.last.mean)}${e.counted ? "" : " (partial)"}` : "–")).join(" / ");
      const name = `${r.algo}${r.variant ? ` (${r.variant.replace(/\|/g, "\\|")})` : ""}`;
      const unit = r.metric === "score" ? "" : " (return)";
      lines.push(`| ${name} | ${r.last.n} | ${ms(r.last)}${unit} | ${ms(r.best)} | ${perSeed} | ${budget(r)} | ${minutesPerRun(r)} |`);
    }
  }
  return `${lines.join("\n")}\n`;
}
