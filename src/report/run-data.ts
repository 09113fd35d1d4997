/**
 * Reading a run directory (written by src/training/trainer.ts) for reports: config.json, manifest.json and
 * metrics.jsonl, tolerant of runs that are still being written.
 *
 * - A run still in progress (or killed) has manifest status "running"/"stopped"/"diverged": it is read as a
 *   partial run, its "last" being the latest evaluation so far.
 * - metrics.jsonl is appended line by line, so the final line of a live run may be cut off mid-write: an
 *   unparsable final line is dropped silently; unparsable lines elsewhere are counted and shown in the report.
 * - Missing config.json/manifest.json/metrics.jsonl make the directory unusable: one UserError line naming the
 *   directory and the missing file.
 *
 * Last and best (docs/design/method.md §14): "last" is the final evaluation (the last eval line of a finished run), "best" is
 * the best periodic evaluation by normalised score — online selection, so optimistic. Runs on environments without
 * score references are ranked by raw return instead.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { UserError } from "../errors.js";
import type { CommonConfig } from "../config/schema.js";
import { algorithm, readRunConfig } from "../algorithms/registry.js";

export interface MetricRecord {
  phase: string;
  step: number;
  [key: string]: number | string;
}

export interface ParsedMetrics {
  records: MetricRecord[];
  /** 1-based numbers of lines that could not be parsed (a cut-off final line is not counted). */
  badLines: number[];
}

export type RunStatus = "done" | "running" | "stopped" | "diverged";

export interface RunManifest {
  package?: { name?: string; version?: string };
  engine?: { tfjsCore?: string; backend?: string };
  node?: string;
  algo?: string;
  preset?: string;
  seed?: number;
  dataset?: { name?: string; path?: string; sha256?: string | null; episodes?: number; transitions?: number };
  env?: string | null;
  command?: string[] | null;
  startedAt?: string;
  endedAt?: string | null;
  status?: string;
  modelCheckpoint?: string | null;
  finalEval?: Record<string, number>;
  bestEval?: Record<string, number> | null;
  resumes?: unknown[];
}

/** The scalar used to rank evaluations: the normalised score where the environment has references, else return. */
export type EvalMetric = "score" | "return";

export interface EvalPoint {
  step: number;
  mean: number;
  std: number;
  record: MetricRecord;
}

export interface RunData {
  dir: string;
  config: CommonConfig;
  /** config.json predates fields of this version's schema; they were filled from the run's preset. */
  configFilled: boolean;
  manifest: RunManifest;
  status: RunStatus;
  /** True unless the run finished: its "last" is the latest evaluation so far. */
  partial: boolean;
  metrics: ParsedMetrics;
  model: MetricRecord[];
  agent: MetricRecord[];
  evals: MetricRecord[];
  /** Null when no evaluation carries a return (environment evaluation was off). */
  metric: EvalMetric | null;
  /** Evaluations carrying the metric, in log order. */
  curve: EvalPoint[];
  last: EvalPoint | null;
  best: EvalPoint | null;
  datasetName: string;
  algo: string;
  seed: number;
  /** Agent steps done (latest agent or eval line) and planned (config). */
  agentStep: number;
  agentSteps: number;
}

/** Parses metrics.jsonl text; each line must be an object with a string `phase` and a numeric `step`. */
export function parseMetrics(text: string): ParsedMetrics {
  const lines = text.split("\n");
  // A trailing newline leaves one empty string; a live run may leave a partial final line instead.
  while (lines.length > 0 && lines[lines.length - 1].trim() === "") lines.pop();
  const records: MetricRecord[] = [];
  const badLines: number[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === "") return;
    let r: unknown;
    try {
      r = JSON.parse(line);
    } catch {
      if (i < lines.length - 1) badLines.push(i + 1);
      return;
    }
    const rec = r as Partial<MetricRecord> | null;
    if (!rec || typeof rec !== "object" || typeof rec.phase !== "string" || typeof rec.step !== "number") {
      badLines.push(i + 1);
      return;
    }
    records.push(rec as MetricRecord);
  });
  return { records, badLines };
}

function num(r: MetricRecord, key: string): number | undefined {
  const v = r[key];
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

/** Which scalar ranks this run's evaluations: score when any evaluation has one, else return, else none. */
export function evalMetric(evals: MetricRecord[]): EvalMetric | null {
  if (evals.some((r) => num(r, "score_mean") !== undefined)) return "score";
  if (evals.some((r) => num(r, "return_mean") !== undefined)) return "return";
  return null;
}

/** The metric's curve over agent steps, from the eval lines that carry it. */
export function evalCurve(evals: MetricRecord[], metric: EvalMetric): EvalPoint[] {
  const out: EvalPoint[] = [];
  for (const r of evals) {
    const mean = num(r, `${metric}_mean`);
    if (mean === undefined) continue;
    out.push({ step: r.step, mean, std: num(r, `${metric}_std`) ?? 0, record: r });
  }
  return out;
}

/**
 * Last and best of a curve. "last" is the latest point (the final evaluation once the run is done); "best" the
 * highest mean, the earliest on ties (a later equal evaluation adds no information but selection).
 */
export function lastAndBest(curve: EvalPoint[]): { last: EvalPoint | null; best: EvalPoint | null } {
  if (curve.length === 0) return { last: null, best: null };
  let best = curve[0];
  for (const p of curve) if (p.mean > best.mean) best = p;
  return { last: curve[curve.length - 1], best };
}

function readJsonFile(path: string, dir: string, what: string): unknown {
  if (!existsSync(path)) throw new UserError(`${dir}: incomplete run directory (no ${what})`);
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new UserError(`${dir}: ${what} is not valid JSON (${(e as Error).message})`);
  }
}

const STATUSES: readonly RunStatus[] = ["done", "running", "stopped", "diverged"];

/** Reads a run directory; UserError (one line naming the directory and what is missing) when it is not usable. */
export function readRun(path: string): RunData {
  const dir = resolve(path);
  if (!existsSync(dir)) throw new UserError(`${path}: no such run directory`);
  if (!statSync(dir).isDirectory()) throw new UserError(`${path}: not a directory`);
  if (!existsSync(join(dir, "manifest.json"))) throw new UserError(`${path}: not a run directory (no manifest.json)`);
  const manifest = readJsonFile(join(dir, "manifest.json"), path, "manifest.json") as RunManifest;
  if (!manifest || typeof manifest !== "object") throw new UserError(`${path}: manifest.json does not hold an object`);
  const { config, filled } = readRunConfig(readJsonFile(join(dir, "config.json"), path, "config.json"), `${path}/config.json`);
  const metricsPath = join(dir, "metrics.jsonl");
  if (!existsSync(metricsPath)) throw new UserError(`${path}: incomplete run directory (no metrics.jsonl)`);
  const metrics = parseMetrics(readFileSync(metricsPath, "utf8"));

  const status = STATUSES.find((s) => s === manifest.status);
  if (!status) throw new UserError(`${path}: manifest.json has status '${String(manifest.status)}', expected one of ${STATUSES.join(", ")}`);
  const model = metrics.records.filter((r) => r.phase === "model");
  const agent = metrics.records.filter((r) => r.phase === "agent");
  const evals = metrics.records.filter((r) => r.phase === "eval");
  const metric = evalMetric(evals);
  const curve = metric ? evalCurve(evals, metric) : [];
  if (status === "done" && metric && curve.length === 0) throw new UserError(`${path}: finished run without evaluations in metrics.jsonl`);
  const { last, best } = lastAndBest(curve);
  const agentStep = Math.max(0, ...agent.map((r) => r.step), ...evals.map((r) => r.step));
  return {
    dir,
    config,
    configFilled: filled,
    manifest,
    status,
    partial: status !== "done",
    metrics,
    model,
    agent,
    evals,
    metric,
    curve,
    last,
    best,
    datasetName: manifest.dataset?.name ?? "(unknown dataset)",
    algo: manifest.algo ?? config.algo,
    seed: manifest.seed ?? config.seed,
    agentStep,
    agentSteps: algorithm(config.algo).phases(config).agent.steps,
  };
}
