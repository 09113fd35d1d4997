/**
 * Dataset problems as structured records. Readers collect them instead of throwing, so that
 * `clap-rl dataset validate` can list every problem while `loadDataset` stops at the first error.
 * Each problem prints as one line naming the file, the key and the first bad index.
 */
import { UserError } from "../errors.js";

export type Severity = "error" | "warning";

export interface Issue {
  severity: Severity;
  /** The file (or directory) the problem is in. */
  file: string;
  /** The key, member or field, e.g. "observations", "episode_3/actions", "image.npy". */
  key: string;
  /** First bad index, e.g. [17] or [17, 3] (row, column). */
  index?: number[];
  message: string;
}

/** A UserError about one key of one file; validation turns it back into an Issue. */
export class DatasetError extends UserError {
  constructor(
    readonly file: string,
    readonly key: string,
    readonly detail: string,
  ) {
    super(`${file}: ${key}: ${detail}`);
    this.name = "DatasetError";
  }
}

export function formatIssue(i: Issue): string {
  const idx = i.index ? `[${i.index.join(", ")}]` : "";
  return `${i.severity}: ${i.file}: ${i.key}${idx}: ${i.message}`;
}

/**
 * Actions may exceed [−1, 1] by this much before they count as out of bounds: float32 rounding of
 * clipped or tanh-squashed actions stays far below it, while unscaled actuator commands exceed it.
 */
export const ACTION_TOLERANCE = 1e-3;

/** Collects the problems of one file. */
export class IssueList {
  readonly items: Issue[] = [];

  constructor(readonly file: string) {}

  /** `file` overrides the list's file, for datasets made of several files (V-D4RL episodes). */
  error(key: string, message: string, index?: number[], file = this.file): void {
    this.items.push({ severity: "error", file, key, index, message });
  }

  warn(key: string, message: string, index?: number[], file = this.file): void {
    this.items.push({ severity: "warning", file, key, index, message });
  }

  get errorCount(): number {
    return this.items.filter((i) => i.severity === "error").length;
  }

  /** Throws a one-line UserError for the first error, mentioning how many more there are. */
  throwIfErrors(path: string): void {
    const errors = this.items.filter((i) => i.severity === "error");
    if (errors.length === 0) return;
    const more =
      errors.length > 1 ? ` (and ${errors.length - 1} more; run "clap-rl dataset validate ${path}" for all)` : "";
    throw new UserError(formatIssue(errors[0]).replace(/^error: /, "") + more);
  }
}

type Numeric = ArrayLike<number>;

function indexOf(flat: number, cols: number): number[] {
  return cols > 1 ? [Math.floor(flat / cols), flat % cols] : [flat];
}

/** Reports the first NaN/Inf (row, column) and how many there are. Returns true when all are finite. */
export function checkFinite(issues: IssueList, key: string, data: Numeric, cols: number, file?: string): boolean {
  let first = -1;
  let count = 0;
  let firstValue = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v - v !== 0) {
      if (first < 0) {
        first = i;
        firstValue = v;
      }
      count++;
    }
  }
  if (first < 0) return true;
  issues.error(key, `${firstValue} (${count} non-finite value${count > 1 ? "s" : ""} in total)`, indexOf(first, cols), file);
  return false;
}

/** Reports the first value outside [lo − tol, hi + tol] (NaNs are left to checkFinite). */
export function checkRange(
  issues: IssueList,
  key: string,
  data: Numeric,
  cols: number,
  lo: number,
  hi: number,
  tol: number,
  file?: string,
): boolean {
  let first = -1;
  let count = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v < lo - tol || v > hi + tol) {
      if (first < 0) first = i;
      count++;
    }
  }
  if (first < 0) return true;
  issues.error(
    key,
    `value ${data[first]} outside [${lo}, ${hi}] (tolerance ${tol}; ${count} value${count > 1 ? "s" : ""} out of bounds)`,
    indexOf(first, cols),
    file,
  );
  return false;
}

/** Flags must be 0 or 1 (bool, integer or float storage). */
export function checkFlags(issues: IssueList, key: string, data: ArrayLike<number | bigint>, file?: string): boolean {
  for (let i = 0; i < data.length; i++) {
    const v = Number(data[i]);
    if (v !== 0 && v !== 1) {
      issues.error(key, `flag value ${v} is neither 0 nor 1`, [i], file);
      return false;
    }
  }
  return true;
}
