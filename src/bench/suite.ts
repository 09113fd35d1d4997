/**
 * The benchmark suite behind `clap-rl bench` and `npm run bench`: each section is its own module (loaded only when
 * asked for, since `method` alone runs for minutes) returning a JSON object that records the sizes it ran at.
 * A failing section is reported in the output, not fatal, so one broken area does not hide the others' numbers.
 */
import { cpus, loadavg } from "node:os";
import { blasStatus } from "../engine/blas.js";

export type BenchSection = () => Promise<Record<string, unknown>>;

export const BENCH_SECTIONS: Record<string, { what: string; load: () => Promise<BenchSection> }> = {
  engine: { what: "MLP and GRU train steps, matmul GFLOP/s, on the stock wasm and the native kernels", load: async () => (await import("./engine.js")).benchEngine },
  method: { what: "every registered algorithm's training steps, and the same steps in PyTorch where a reference exists", load: async () => (await import("./algorithms.js")).benchAlgorithms },
  envs: { what: "environment steps/s and 64×64 render ms/frame", load: async () => (await import("./envs.js")).benchEnvs },
  datasets: { what: "1M-transition D4RL load time, window sampling, dataset make transitions/s", load: async () => (await import("./datasets.js")).benchDatasets },
};

export async function runBench(only: string[], log: (line: string) => void): Promise<Record<string, unknown>> {
  const result: Record<string, unknown> = {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "unknown",
    loadAvg1mAtStart: Math.round(loadavg()[0] * 100) / 100,
    date: new Date().toISOString(),
  };
  for (const [name, section] of Object.entries(BENCH_SECTIONS)) {
    if (only.length > 0 && !only.includes(name)) continue;
    log(`bench: ${name} (${section.what})...`);
    const t0 = performance.now();
    try {
      result[name] = await (await section.load())();
    } catch (e) {
      result[name] = { error: e instanceof Error ? e.message : String(e) };
    }
    log(`bench: ${name} done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  result.blas = blasStatus();
  return result;
}

/** `a.b.c: value` lines for the numbers and strings of a bench result, for reading in a terminal. */
export function benchLines(result: Record<string, unknown>): string[] {
  const lines: string[] = [];
  const walk = (v: unknown, path: string) => {
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      for (const [k, x] of Object.entries(v)) walk(x, path === "" ? k : `${path}.${k}`);
    } else if (Array.isArray(v)) {
      lines.push(`${path}: [${v.map((x) => (typeof x === "object" ? JSON.stringify(x) : String(x))).join(", ")}]`);
    } else {
      lines.push(`${path}: ${String(v)}`);
    }
  };
  walk(result, "");
  return lines;
}
