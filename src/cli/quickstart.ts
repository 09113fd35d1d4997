/**
 * `clap-rl quickstart` (what `npm start` runs): the whole job on the default dataset in one command.
 *
 *   clap-rl quickstart [--out runs/quickstart] [--size 200000] [--preset small] [--seed 0] [--policy-dir DIR] [--force] [--quiet]
 *
 * 1. makes (or reuses) the regenerated `clap:hopper/medium` dataset at QUICKSTART_ROWS rows;
 * 2. trains C-LAP on it with the `small` preset and evaluates it (a re-run continues or re-reports the same run);
 * 3. writes report.html and prints one summary block on stdout: the final normalised score (mean ± std over the
 *    evaluation episodes) next to the dataset's own average normalised score, the run dir, the report path and
 *    where the time went.
 *
 * Size of the default dataset: 200,000 rows (D4RL's hopper-medium has 1M). Making it takes about half a minute
 * (≈ 7,000 rows/s with the SAC policy, 2 cores) and the file is ≈ 32 MB. The small preset's model phase samples
 * 10,000 × 16 windows × 32 entries ≈ 5M entries, so 200k rows are each seen about 25 times: more rows would
 * add making, loading and report time (the action check searches neighbours among all dataset states) without
 * giving the short training anything it can use, while much fewer rows would let the model memorise the data.
 */
import type { Command } from "commander";
import { resolve } from "node:path";
import { UserError } from "../errors.js";
import { DEFAULT_ALGORITHM, buildRunConfig } from "../algorithms/registry.js";
import { parseDatasetName } from "../data/registry.js";
import { regeneratedLabel } from "../report/run-report.js";
import { createProgress, formatDuration, recordingProgress, type TaskInterval } from "../util/progress.js";
import { commandLineOf, ensureRegisteredDataset, INTERRUPTED_EXIT, nonNegativeInt, runTrainJob, withInterrupt } from "./train.js";

export const QUICKSTART_DATASET = "clap:hopper/medium";
export const QUICKSTART_ROWS = 200_000;
export const QUICKSTART_OUT = "runs/quickstart";

interface QuickstartFlags {
  out: string;
  size: number;
  preset: string;
  seed: number;
  policyDir?: string;
  force?: boolean;
  quiet?: boolean;
}

/** Seconds spent in tasks whose label starts with `prefix`, not counting time inside tasks starting with `minus`. */
function busy(intervals: TaskInterval[], prefix: string, minus?: string): number {
  let s = 0;
  for (const i of intervals.filter((x) => x.label.startsWith(prefix))) {
    s += i.end - i.start;
    if (minus) {
      for (const j of intervals.filter((x) => x.label.startsWith(minus))) s -= Math.max(0, Math.min(i.end, j.end) - Math.max(i.start, j.start));
    }
  }
  return s / 1000;
}

/** "dataset 31s · model 5m12s · …": where the wall time of this invocation went. */
export function timeBreakdown(intervals: TaskInterval[], totalS: number): string {
  const parts: [string, number][] = [
    ["dataset", busy(intervals, "dataset ")],
    ["model", busy(intervals, "model")],
    ["agent", busy(intervals, "agent", "eval ")],
    ["evaluation", busy(intervals, "eval ")],
  ];
  const counted = parts.reduce((a, [, v]) => a + v, 0);
  return [...parts.filter(([, v]) => v > 0), ["loading, report, start-up", Math.max(0, totalS - counted)] as [string, number], ["total", totalS] as [string, number]]
    .map(([k, v]) => `${k} ${formatDuration(v)}`)
    .join(" · ");
}

async function quickstartCommand(f: QuickstartFlags, cmd: Command): Promise<void> {
  const t0 = Date.now();
  if (f.size < 1) throw new UserError("--size must be at least 1");
  const config = buildRunConfig(DEFAULT_ALGORITHM, { preset: f.preset, seed: f.seed });
  const rec = recordingProgress(createProgress({ quiet: f.quiet }));
  const progress = rec.progress;
  const name = parseDatasetName(QUICKSTART_DATASET);
  const dataset = await ensureRegisteredDataset(name, { size: f.size, policyDir: f.policyDir, progress });
  const r = await withInterrupt(progress, (shouldStop) =>
    runTrainJob({ dataset, envId: name.env, config, outDir: f.out, mode: f.force ? "force" : "auto", progress, commandLine: commandLineOf(cmd), shouldStop }),
  );
  if (r.status === "stopped") {
    progress.log(`stopped at model step ${r.modelStep}, agent step ${r.agentStep}; run the same command again to continue`);
    process.exitCode = INTERRUPTED_EXIT;
    return;
  }
  const fe = r.finalEval ?? {};
  const card = dataset.card;
  const pad = (k: string) => `  ${k.padEnd(24)} `;
  const scoreLine =
    fe.score_mean !== undefined
      ? `${fe.score_mean.toFixed(1)} ± ${(fe.score_std ?? 0).toFixed(1)}   (final evaluation, ${fe.episodes ?? "?"} episodes; return ${(fe.return_mean ?? NaN).toFixed(1)})`
      : "(no final evaluation recorded)";
  const datasetLine = card?.normalizedMean != null ? `${card.normalizedMean.toFixed(1)}   (the behaviour data's complete episodes; mean return ${(card.returnMean ?? NaN).toFixed(1)})` : "(unknown)";
  const lines = [
    "",
    `clap-rl quickstart: ${r.config.algo}, preset ${r.config.preset}, seed ${r.config.seed}, on ${name.id} (${card?.rows ?? "?"} rows, ${card?.episodes ?? "?"} episodes)${r.alreadyDone ? " — finished earlier" : ""}`,
    `${pad("C-LAP normalised score")}${scoreLine}`,
    `${pad("dataset normalised score")}${datasetLine}`,
    `${pad("run")}${resolve(r.runDir)}`,
    `${pad("report")}${r.reportPath ? resolve(r.reportPath) : "(not written; see the warning above)"}`,
    `${pad("time")}${r.alreadyDone ? `nothing to do: the run finished earlier (${resolve(r.runDir)}/manifest.json has its times)` : timeBreakdown(rec.intervals, (Date.now() - t0) / 1000)}`,
    `  ${regeneratedLabel(name.env)}`,
  ];
  process.stdout.write(lines.join("\n") + "\n");
}

export function registerQuickstartCommand(program: Command): void {
  program
    .command("quickstart")
    .description(`Make (or reuse) ${QUICKSTART_DATASET} at ${QUICKSTART_ROWS} rows, train C-LAP (small preset), evaluate, write the report, print a summary (what npm start runs)`)
    .option("--out <dir>", "run directory (a re-run continues or re-reports it)", QUICKSTART_OUT)
    .option("--size <n>", "rows of the dataset", nonNegativeInt("--size"), QUICKSTART_ROWS)
    .option("--preset <name>", "config preset", "small")
    .option("--seed <n>", "run seed", nonNegativeInt("--seed"), 0)
    .option("--policy-dir <dir>", "behaviour policies for making the dataset (default: the package's assets/policies)")
    .option("--force", "replace a different run that --out already holds (e.g. one made by an older clap-rl)")
    .option("--quiet", "no progress output (the summary is still printed)")
    .action(async (f: QuickstartFlags, cmd: Command) => quickstartCommand(f, cmd));
}
