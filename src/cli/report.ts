/**
 * `clap-rl report <run dirs...> [--out FILE] [--no-action-check]`
 *
 * One run directory: writes its report.html (to --out if given). Several: writes the comparison page (--out,
 * default comparison.html in the current directory); each run's own page comes from `clap-rl report <dir>`.
 * A directory that is not a usable run is named on stderr with what is missing, and nothing is written.
 */
import type { Command } from "commander";
import { resolve } from "node:path";
import { UserError } from "../errors.js";
import { readRuns, writeComparison } from "../report/compare.js";
import { writeRunReport } from "../report/run-report.js";

interface ReportFlags {
  out?: string;
  actionCheck: boolean;
}

async function reportCommand(dirs: string[], f: ReportFlags): Promise<void> {
  if (dirs.length === 1) {
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
}

export function registerReportCommands(program: Command): void {
  program
    .command("report")
    .description("Write a run's report.html, or a comparison page of several runs (mean ± std over seeds, last and best)")
    .argument("<dirs...>", "run directories")
    .option("--out <file>", "output file (default: <dir>/report.html for one run, comparison.html for several)")
    .option("--no-action-check", "skip the action-distribution check (it loads the model and the dataset)")
    .action(async (dirs: string[], f: ReportFlags) => reportCommand(dirs, f));
}
