/** Timing helpers shared by the benchmark sections. */

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 === 1 ? s[h] : (s[h - 1] + s[h]) / 2;
}

export const round = (x: number, digits = 1): number => Math.round(x * 10 ** digits) / 10 ** digits;

export interface Timing {
  /** Median wall-clock ms per call. */
  ms: number;
  /** Median process CPU ms per call: on a shared machine this stays near the true single-thread cost when wall
   * time does not (it counts every thread, so it exceeds `ms` when BLAS runs 2 threads). */
  cpuMs: number;
}

/** Medians of `step` over `reps` runs after `warmup` unmeasured ones. */
export function timeMedian(step: () => void, warmup: number, reps: number): Timing {
  for (let i = 0; i < warmup; i++) step();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < reps; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    step();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { ms: median(wall), cpuMs: median(cpu) };
}
