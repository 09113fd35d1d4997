/**
 * Progress display shared by dataset making, model training, agent training and evaluation.
 *
 * On a terminal: one cli-progress bar per running task (value/total, steps/s, ETA, the latest loss or score), with
 * message lines printed above the bars; a finished task leaves one summary line. Elsewhere (CI, log files): plain
 * lines — a task prints a line only when its caller passes new `info` (the trainer does so every `logEvery` steps,
 * evaluation after every episode) and once when it finishes, so logs keep the periodic lines they always had.
 *
 * Rate and ETA are computed here from the task's own start (not cli-progress's moving window) so both modes show
 * the same numbers; cli-progress only draws (its own {eta} token would take precedence over a payload of that name).
 */
import cliProgress from "cli-progress";

export interface ProgressTask {
  /** `done` steps of `total`; `info` is the latest loss/score text (plain mode prints a line when it is given). */
  update(done: number, info?: string): void;
  /** Ends the task; the bar is replaced by one line (plain mode prints it when given). */
  finish(line?: string): void;
}

export interface Progress {
  /** A task of `total` units (steps, rows, episodes) that starts at `start` (a resumed phase). */
  task(label: string, total: number, options?: { start?: number; unit?: string }): ProgressTask;
  /** A message line. */
  log(line: string): void;
  /** Removes any bars still drawn (call before exiting). */
  close(): void;
}

export interface ProgressOptions {
  stream?: NodeJS.WriteStream;
  /** Draw bars; default: whether `stream` is a terminal (and TERM is not "dumb"). */
  bars?: boolean;
  /** No output at all. */
  quiet?: boolean;
}

export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return "?";
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.round(s % 60);
  if (h > 0) return `${h}h${String(m).padStart(2, "0")}m`;
  return m > 0 ? `${m}m${String(sec).padStart(2, "0")}s` : `${Math.round(s)}s`;
}

/** Compact number for progress lines: 4 decimals below 1, exponent for very small or large values. */
export function fmtNumber(v: number): string {
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(2) : v.toFixed(a < 1 ? 4 : 2);
}

/** `k v k v …` of the first `max` entries. */
export function fmtTerms(terms: Record<string, number>, max = 8): string {
  return Object.entries(terms)
    .slice(0, max)
    .map(([k, v]) => `${k} ${fmtNumber(v)}`)
    .join(" ");
}

class Clock {
  private readonly t0 = Date.now();
  constructor(private readonly start: number) {}
  rate(done: number): number {
    return (done - this.start) / Math.max(1e-3, (Date.now() - this.t0) / 1000);
  }
  eta(done: number, total: number): number {
    const r = this.rate(done);
    return r > 0 ? (total - done) / r : Number.POSITIVE_INFINITY;
  }
}

function plainLine(label: string, done: number, total: number, unit: string, clock: Clock, info: string | undefined): string {
  const pct = total > 0 ? Math.floor((100 * done) / total) : 100;
  const tail = info ? ` | ${info}` : "";
  return `${label} ${done}/${total} (${pct}%) ${clock.rate(done).toFixed(1)} ${unit}/s ETA ${formatDuration(clock.eta(done, total))}${tail}`;
}

const SILENT: Progress = { task: () => ({ update: () => {}, finish: () => {} }), log: () => {}, close: () => {} };

export function silentProgress(): Progress {
  return SILENT;
}

export function createProgress(options: ProgressOptions = {}): Progress {
  if (options.quiet) return SILENT;
  const stream = options.stream ?? process.stderr;
  const bars = options.bars ?? (stream.isTTY === true && process.env.TERM !== "dumb");
  return bars ? barProgress(stream) : plainProgress(stream);
}

function plainProgress(stream: NodeJS.WriteStream): Progress {
  const write = (line: string) => stream.write(`${line}\n`);
  return {
    task(label, total, o = {}) {
      const unit = o.unit ?? "steps";
      const clock = new Clock(o.start ?? 0);
      let last = o.start ?? 0;
      let lastInfo: string | undefined;
      return {
        update(done, info) {
          last = done;
          if (info === undefined) return;
          lastInfo = info;
          write(plainLine(label, done, total, unit, clock, info));
        },
        finish(line) {
          if (line !== undefined) write(line);
          else if (lastInfo === undefined) write(plainLine(label, last, total, unit, clock, undefined));
        },
      };
    },
    log: write,
    close: () => {},
  };
}

function barProgress(stream: NodeJS.WriteStream): Progress {
  const multi = new cliProgress.MultiBar(
    {
      stream,
      format: "{label} [{bar}] {value}/{total} {percentage}% | {speed} {unit}/s | ETA {remaining} | {info}",
      barsize: 24,
      hideCursor: true,
      clearOnComplete: true,
      stopOnComplete: false,
      autopadding: true,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  let active = 0;
  const log = (line: string) => {
    // MultiBar.log buffers until the next redraw, which only happens while a bar exists.
    if (active > 0) multi.log(`${line}\n`);
    else stream.write(`${line}\n`);
  };
  return {
    task(label, total, o = {}) {
      const unit = o.unit ?? "steps";
      const start = o.start ?? 0;
      const clock = new Clock(start);
      let info = "";
      let last = start;
      const payload = (done: number) => ({ label, unit, info, speed: clock.rate(done).toFixed(1), remaining: formatDuration(clock.eta(done, total)) });
      const bar = multi.create(Math.max(1, total), start, payload(start));
      active++;
      let open = true;
      return {
        update(done, newInfo) {
          if (!open) return;
          last = done;
          if (newInfo !== undefined) info = newInfo;
          bar.update(done, payload(done));
        },
        finish(line) {
          if (!open) return;
          open = false;
          multi.remove(bar);
          active--;
          // The last bar's area is cleared by stop(), so the summary line goes after it, not before.
          if (active === 0) multi.stop();
          log(line ?? plainLine(label, last, total, unit, clock, info || undefined));
        },
      };
    },
    log,
    close() {
      multi.stop();
      active = 0;
    },
  };
}

/** Wall-clock interval of one finished task, by its label. */
export interface TaskInterval {
  label: string;
  start: number;
  end: number;
}

/** Passes everything to `inner` and records when each task started and finished (for time breakdowns). */
export function recordingProgress(inner: Progress): { progress: Progress; intervals: TaskInterval[] } {
  const intervals: TaskInterval[] = [];
  const progress: Progress = {
    task(label, total, options) {
      const t = inner.task(label, total, options);
      const start = Date.now();
      return {
        update: (done, info) => t.update(done, info),
        finish(line) {
          intervals.push({ label, start, end: Date.now() });
          t.finish(line);
        },
      };
    },
    log: (line) => inner.log(line),
    close: () => inner.close(),
  };
  return { progress, intervals };
}
