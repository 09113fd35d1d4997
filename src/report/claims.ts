/**
 * The paper's claims as checkable statements over finished runs (docs/results.md is written from these): each claim
 * names the grid of runs it needs and a pass rule over their metrics. `clap-rl reproduce` runs the grids and
 * renders the verdicts; this module only decides.
 *
 * - jump-start: on expert data, the evaluation at agent step 0 (the untrained constrained policy) scores at least
 *   JUMP_START_FRACTION of the data's average normalised score (docs/design/method.md §4.3).
 * - locomotion: the final score is at least the data's average on every locomotion dataset (docs/design/method.md §18.4).
 * - ablations (walker2d medium, medium-replay; docs/design/method.md §10, §13): without latent actions the value estimate exceeds
 *   the data's average maximum return-to-go and the score is far below C-LAP's; without the constraint the policy
 *   collapses or overestimates; C-LAP's value stays near the references.
 * - epsilon (docs/design/method.md §11): a small ε (≤ 1) is enough — within EPSILON_SMALL_ENOUGH of the best ε — and ε = 10 collapses.
 *
 * "Far below" and "collapses" mean at most COLLAPSE_FRACTION of C-LAP's (or the best ε's) mean final score; "near
 * the references" means between NEAR_LOW × the average return-to-go and NEAR_HIGH × the average maximum. All
 * means are over the seeds that finished; a dataset with no finished run is "incomplete", never a pass.
 */
import { meanStd, type MeanStd } from "./compare.js";
import type { RunData } from "./run-data.js";
import type { ValueReferences } from "./references.js";

export const CLAIMS = ["jump-start", "locomotion", "ablations", "epsilon"] as const;
export type ClaimName = (typeof CLAIMS)[number];

export const JUMP_START_FRACTION = 0.8;
export const COLLAPSE_FRACTION = 0.5;
export const EPSILON_SMALL_ENOUGH = 0.9;
export const NEAR_LOW = 0.5;
export const NEAR_HIGH = 1.25;
export const EPSILON_GRID = [0.5, 1, 2, 3, 5, 10] as const;

/** Each claim's rule in words, from the constants above (the results file prints them). */
export const CLAIM_RULES: Record<ClaimName, string> = {
  "jump-start": `mean over seeds of the evaluation at agent step 0 ≥ ${JUMP_START_FRACTION} × the data's average normalised score, on every expert dataset`,
  locomotion: "mean over seeds of the final score ≥ the data's average normalised score, on every dataset",
  ablations:
    `without latent actions the final value estimate exceeds the data's average maximum return-to-go and the score is ≤ ${COLLAPSE_FRACTION} × C-LAP's; ` +
    `without the constraint the score is ≤ ${COLLAPSE_FRACTION} × C-LAP's or the value exceeds that maximum; ` +
    `C-LAP's value lies in [${NEAR_LOW} × average return-to-go, ${NEAR_HIGH} × average maximum]`,
  epsilon: `the best small ε (0.5 or 1) scores ≥ ${EPSILON_SMALL_ENOUGH} × the best ε, and ε = 10 scores ≤ ${COLLAPSE_FRACTION} × the best`,
};

const LOCOMOTION = ["hopper", "walker2d", "halfcheetah"];
const LOCOMOTION_VARIANTS = ["medium", "medium-replay", "medium-expert", "expert"];
const ABLATION_DATASETS = ["walker2d-medium", "walker2d-medium-replay"];

/** One run of a claim's grid: the dataset (short registered name), a variant label, its config overrides. */
export interface Cell {
  dataset: string;
  /** "clap" (the preset as it is), "no-latent-action", "no-constraint", or "eps<value>". */
  variant: string;
  sets: string[];
}

/** The cells a claim needs; `defaultEpsilon` gives a dataset's family ε, whose sweep cell is the plain C-LAP run. */
export function claimCells(claim: ClaimName, defaultEpsilon: (dataset: string) => number | undefined): Cell[] {
  const clap = (dataset: string): Cell => ({ dataset, variant: "clap", sets: [] });
  switch (claim) {
    case "jump-start":
      return LOCOMOTION.map((env) => clap(`${env}-expert`));
    case "locomotion":
      return LOCOMOTION.flatMap((env) => LOCOMOTION_VARIANTS.map((v) => clap(`${env}-${v}`)));
    case "ablations":
      return ABLATION_DATASETS.flatMap((d) => [
        clap(d),
        { dataset: d, variant: "no-latent-action", sets: ["model.latentAction=false"] },
        { dataset: d, variant: "no-constraint", sets: ["policy.constraint=none"] },
      ]);
    case "epsilon":
      return ABLATION_DATASETS.flatMap((d) => EPSILON_GRID.map((e) => (defaultEpsilon(d) === e ? clap(d) : { dataset: d, variant: `eps${e}`, sets: [`agent.epsilon=${e}`] })));
  }
}

/** What a claim's check reads about the data of one dataset. */
export interface DatasetFacts {
  /** The behaviour data's average normalised score (its card), null when unknown. */
  dataScore: number | null;
  references: ValueReferences | null;
}

export type Verdict = "pass" | "fail" | "incomplete";

export interface ClaimRow {
  dataset: string;
  /** Column label → value text, in order. */
  cells: [string, string][];
  verdict: Verdict;
  why: string;
}

export interface ClaimResult {
  claim: ClaimName;
  rows: ClaimRow[];
  verdict: Verdict;
}

/** Finished runs of one (dataset, variant), by seed. */
export type RunsOf = (dataset: string, variant: string) => RunData[];

const fmt = (m: MeanStd) => (m.n === 0 ? "—" : `${m.mean.toFixed(1)} ± ${m.std.toFixed(1)} (n=${m.n})`);
const num = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? "—" : x.toFixed(1));

function evalAt(run: RunData, step: number): Record<string, number> | undefined {
  return run.evals.find((e) => e.step === step) as Record<string, number> | undefined;
}

/** Mean over seeds of a number read from each run (runs where it is missing are left out). */
function over(runs: RunData[], read: (r: RunData) => number | undefined): MeanStd {
  return meanStd(runs.map(read).filter((x): x is number => typeof x === "number" && Number.isFinite(x)));
}

const finalScore = (r: RunData) => r.last?.record.score_mean as number | undefined;
const finalValue = (r: RunData) => r.last?.record.value_estimate as number | undefined;

/** Pass when every check holds; the reason lists the failed checks (marked NOT), or all of them on a pass. */
function judge(checks: [boolean, string][]): { verdict: Verdict; why: string } {
  const failed = checks.filter(([ok]) => !ok);
  return { verdict: failed.length ? "fail" : "pass", why: (failed.length ? failed : checks).map(([ok, t]) => `${ok ? "" : "NOT "}${t}`).join("; ") };
}

function combine(rows: ClaimRow[]): Verdict {
  if (rows.some((r) => r.verdict === "fail")) return "fail";
  return rows.every((r) => r.verdict === "pass") ? "pass" : "incomplete";
}

export function checkClaim(claim: ClaimName, runsOf: RunsOf, facts: (dataset: string) => DatasetFacts, defaultEpsilon: (dataset: string) => number | undefined): ClaimResult {
  const rows: ClaimRow[] = [];
  const datasets = [...new Set(claimCells(claim, defaultEpsilon).map((c) => c.dataset))];
  for (const dataset of datasets) {
    const { dataScore, references: refs } = facts(dataset);
    const data = num(dataScore);
    if (claim === "jump-start" || claim === "locomotion") {
      const runs = runsOf(dataset, "clap");
      const score = claim === "jump-start" ? over(runs, (r) => evalAt(r, 0)?.score_mean) : over(runs, finalScore);
      const prior = over(runs, (r) => evalAt(r, 0)?.prior_score_mean);
      const need = dataScore === null ? null : claim === "jump-start" ? JUMP_START_FRACTION * dataScore : dataScore;
      const label = claim === "jump-start" ? "step-0 score" : "final score";
      const cells: [string, string][] = [[label, fmt(score)], ...(claim === "jump-start" ? [["prior policy (ũ = μ)", fmt(prior)] as [string, string]] : []), ["data", data], ["needed", num(need)]];
      if (claim === "locomotion") cells.push(["best (online selection)", fmt(over(runs, (r) => r.best?.record.score_mean as number | undefined))]);
      else cells.push(["final score (after training)", fmt(over(runs, finalScore))]);
      const verdict: Verdict = score.n === 0 || need === null ? "incomplete" : score.mean >= need ? "pass" : "fail";
      rows.push({ dataset, cells, verdict, why: verdict === "incomplete" ? (score.n === 0 ? "no finished run" : "the data's score is unknown") : `${score.mean.toFixed(1)} ${verdict === "pass" ? "≥" : "<"} ${num(need)}` });
    } else if (claim === "ablations") {
      const clap = runsOf(dataset, "clap");
      const noLat = runsOf(dataset, "no-latent-action");
      const noCon = runsOf(dataset, "no-constraint");
      const s = { clap: over(clap, finalScore), noLat: over(noLat, finalScore), noCon: over(noCon, finalScore) };
      const v = { clap: over(clap, finalValue), noLat: over(noLat, finalValue), noCon: over(noCon, finalValue) };
      const cells: [string, string][] = [
        ["C-LAP score / value", `${fmt(s.clap)} / ${fmt(v.clap)}`],
        ["no latent action", `${fmt(s.noLat)} / ${fmt(v.noLat)}`],
        ["no constraint", `${fmt(s.noCon)} / ${fmt(v.noCon)}`],
        ["data score", data],
        ["refs: avg / max return-to-go", refs ? `${refs.averageReturn.toFixed(0)} / ${refs.averageMaxReturn.toFixed(0)}` : "—"],
      ];
      if (s.clap.n === 0 || s.noLat.n === 0 || s.noCon.n === 0 || !refs) {
        rows.push({ dataset, cells, verdict: "incomplete", why: refs ? "a variant has no finished run" : "no dataset references" });
        continue;
      }
      const high = NEAR_HIGH * refs.averageMaxReturn;
      const checks: [boolean, string][] = [
        [v.noLat.mean > refs.averageMaxReturn, `no-latent-action value ${v.noLat.mean.toFixed(0)} above the max reference ${refs.averageMaxReturn.toFixed(0)}`],
        [s.noLat.mean <= COLLAPSE_FRACTION * s.clap.mean, `no-latent-action score ${s.noLat.mean.toFixed(1)} ≤ ${COLLAPSE_FRACTION} × C-LAP's`],
        [s.noCon.mean <= COLLAPSE_FRACTION * s.clap.mean || v.noCon.mean > refs.averageMaxReturn, `no-constraint collapses (≤ ${COLLAPSE_FRACTION} × C-LAP) or overestimates`],
        [v.clap.mean >= NEAR_LOW * refs.averageReturn && v.clap.mean <= high, `C-LAP value ${v.clap.mean.toFixed(0)} within [${(NEAR_LOW * refs.averageReturn).toFixed(0)}, ${high.toFixed(0)}]`],
      ];
      rows.push({ dataset, cells, ...judge(checks) });
    } else {
      const byEps = EPSILON_GRID.map((e) => ({ e, score: over(runsOf(dataset, defaultEpsilon(dataset) === e ? "clap" : `eps${e}`), finalScore) }));
      const cells: [string, string][] = [...byEps.map(({ e, score }) => [`ε ${e}`, fmt(score)] as [string, string]), ["data", data]];
      if (byEps.some((x) => x.score.n === 0)) {
        rows.push({ dataset, cells, verdict: "incomplete", why: "an ε has no finished run" });
        continue;
      }
      const best = Math.max(...byEps.map((x) => x.score.mean));
      const small = Math.max(...byEps.filter((x) => x.e <= 1).map((x) => x.score.mean));
      const large = byEps.find((x) => x.e === 10)!.score.mean;
      const checks: [boolean, string][] = [
        [small >= EPSILON_SMALL_ENOUGH * best, `best small ε (≤ 1) ${small.toFixed(1)} ≥ ${EPSILON_SMALL_ENOUGH} × best ${best.toFixed(1)}`],
        [large <= COLLAPSE_FRACTION * best, `ε 10 ${large.toFixed(1)} ≤ ${COLLAPSE_FRACTION} × best`],
      ];
      rows.push({ dataset, cells, ...judge(checks) });
    }
  }
  return { claim, rows, verdict: combine(rows) };
}
