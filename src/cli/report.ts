/**
 * `clap-rl report <run dirs...> [--out FILE] [--results FILE.md] [--no-action-check]`
 *
 * One run directory: writes its report.html (to --out if given). Several: writes the comparison page (--out,
 * default comparison.html in the current directory), and with --results the same tables as Markdown for the docs;
 * each run's own page comes from `clap-rl report <dir>`.
 * A directory that is not a usable run is named on stderr with what is missing, and nothing is written.
 */
import type { Command } from "commander";
import { resolve } from "node:path";
import { UserError } from "../errors.js";
import { COMPARISON_MARKDOWN, comparisonMarkdown, readRuns, writeComparison } from "../report/compare.js";
import { checkOwnFile, replaceOwnFile } from "../util/atomic.js";
import { commandLineOf } from "./train.js";
import { writeRunReport } from "../report/run-report.js";

interface ReportFlags {
  out?: string;
  results?: string;
  actionCheck: boolean;
}

async function reportCommand(dirs: string[], f: ReportFlags, cmd: Command): Promise<void> {
  const results = f.results === undefined ? null : resolve(f.results);
  if (results) checkOwnFile(results, COMPARISON_MARKDOWN);
  if (dirs.length === 1 && !results) {
    const r = await writeRunReport(dirs[0], { out: f.out, actionCheck: f.actionCheck });
    process.stdout.write(`${r.path} (${r.charts} charts)\n`);
    for (const n of r.notes) process.stderr.write(`note: ${n}\n`);
    return;
  }
  const { runs, problems } = readRuns(dirs);
  for (const p of problems) process.stderr.write(`clap-rl report: ${p.message}\n`);
  if (problems.length > 0) throw new UserError(`${problems.length} of ${dirs.length} run directories are not usable; no comparison written`);
  const out = resolve(f.out ?? "comparison.html");
  const c = writeComparison(runs, out);
  const partial = runs.filter((r) => r.partial).length;
  process.stdout.write(`${out} (${c.rows.length} rows over ${runs.length} runs${partial ? `, ${partial} partial` : ""})\n`);
  if (results) {
    replaceOwnFile(results, comparisonMarkdown(runs, commandLineOf(cmd).join(" ")), COMPARISON_MARKDOWN);
    process.stdout.write(`${results}\n`);
  }
}

export function registerReportCommands(program: Command): void {
  program
    .command("report")
    .description("Write a run's report.html, or a comparison page of several runs (mean ± std over seeds, last and best)")
    .argument("<dirs...>", "run directories")
    .option("--out <file>", "output file (default: <dir>/report.html for one run, comparison.html for several)")
    .option("--results <file>", "also write the comparison's tables as Markdown (a .md file; with one or more runs)")
    .option("--no-action-check", "skip the action-distribution check (it loads the model and the dataset)")
    .action(async (dirs: string[], f: ReportFlags, cmd: Command) => reportCommand(dirs, f, cmd));
}
