/** The statistics report behind `clap-rl dataset inspect` (docs/design/datasets.md §7.6). */
import { formatIssue } from "./issues.js";
import { summarise, type EpisodeStore, type SummaryStats } from "./store.js";

export interface DatasetSummary {
  path: string;
  format: string;
  layout?: string;
  episodes: number;
  transitions: number;
  entries: number;
  obsShape: number[];
  obsDtype: "float32" | "uint8";
  actDim: number;
  /** Episode returns (sum of rewards). */
  returns: SummaryStats;
  /** Episode returns passed through the caller's score normaliser, when one was given. */
  normalisedReturns?: SummaryStats;
  /** Episode lengths in transitions. */
  lengths: SummaryStats;
  ends: { terminal: number; timeout: number; fileEnd: number };
  /** Transitions with continuation 0 (terminal flags), mid-episode ones included. */
  terminalTransitions: number;
  actionRange: { min: number[]; max: number[] };
  /** Per-dimension observation mean and std (vector observations only). */
  obsMean?: number[];
  obsStd?: number[];
  warnings: string[];
}

export interface InspectOptions {
  /** Maps an episode return to a normalised score (e.g. D4RL's 100·(R − random)/(expert − random)). */
  normalise?: (ret: number) => number;
}

export function inspectStore(store: EpisodeStore, opts: InspectOptions = {}): DatasetSummary {
  const c = store.counts;
  const a = store.actDim;
  const min = new Array<number>(a).fill(Infinity);
  const max = new Array<number>(a).fill(-Infinity);
  for (const ep of store.episodes) {
    for (let t = 0; t < ep.length; t++) {
      if (!ep.actMask[t]) continue;
      for (let j = 0; j < a; j++) {
        const v = ep.act[t * a + j];
        if (v < min[j]) min[j] = v;
        if (v > max[j]) max[j] = v;
      }
    }
  }
  const returns = store.returns();
  const stats = store.obsStats;
  return {
    path: store.source.path,
    format: store.source.format,
    ...(store.source.layout ? { layout: store.source.layout } : {}),
    episodes: c.episodes,
    transitions: c.transitions,
    entries: c.entries,
    obsShape: store.obsShape,
    obsDtype: store.obsDtype,
    actDim: a,
    returns: summarise(returns),
    ...(opts.normalise ? { normalisedReturns: summarise(Array.from(returns, opts.normalise)) } : {}),
    lengths: store.lengthStats(),
    ends: { terminal: c.terminalEpisodes, timeout: c.timeoutEpisodes, fileEnd: c.fileEndEpisodes },
    terminalTransitions: c.terminalTransitions,
    actionRange: { min, max },
    ...(stats ? { obsMean: Array.from(stats.mean), obsStd: Array.from(stats.std) } : {}),
    warnings: store.warnings.map(formatIssue),
  };
}

const num = (v: number) => (Number.isInteger(v) ? String(v) : v.toPrecision(5));
const stat = (s: SummaryStats) => `mean ${num(s.mean)}  std ${num(s.std)}  min ${num(s.min)}  max ${num(s.max)}`;

/** Human-readable text of a summary. */
export function formatSummary(s: DatasetSummary): string {
  const lines = [
    `${s.path}  (${s.format}${s.layout ? `, ${s.layout} layout` : ""})`,
    `episodes      ${s.episodes}`,
    `transitions   ${s.transitions}  (${s.entries} observations)`,
    `observation   shape [${s.obsShape.join(", ")}] ${s.obsDtype}`,
    `action        ${s.actDim} dims`,
    `return        ${stat(s.returns)}`,
    ...(s.normalisedReturns ? [`score         ${stat(s.normalisedReturns)}`] : []),
    `length        ${stat(s.lengths)}`,
    `episode ends  terminal ${s.ends.terminal}  timeout ${s.ends.timeout}  file-end ${s.ends.fileEnd}`,
    `terminal transitions ${s.terminalTransitions}`,
    `action range  ${s.actionRange.min.map((m, j) => `[${num(m)}, ${num(s.actionRange.max[j])}]`).join(" ")}`,
  ];
  if (s.obsMean && s.obsStd) {
    lines.push(`obs mean      ${s.obsMean.map(num).join(" ")}`, `obs std       ${s.obsStd.map(num).join(" ")}`);
  }
  return [...lines, ...s.warnings].join("\n");
}
