/** C = op(A)·op(B) for row-major M×K · K×N operands starting at the given element offsets; C is M×N. */
export function sgemm(
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  aOffset: number,
  b: Float32Array,
  bOffset: number,
  c: Float32Array,
  cOffset: number,
): void;
/** Sets OpenBLAS's thread count (process-wide). */
export function setThreads(n: number): void;
export function getThreads(): number;
/** OpenBLAS build description, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Zen MAX_THREADS=64". */
export function config(): string;
