/**
 * `clap-rl bench [section...] [--json] [--out file]`: the benchmark suite (src/bench/suite.ts). Progress goes to
 * stderr; the result to stdout (JSON with --json, otherwise one `path: value` line per figure) and, with --out, to a
 * JSON file written atomically.
 */
import type { Command } from "commander";
import { UserError } from "../errors.js";
import { initEngine } from "../engine/tf.js";
import { BENCH_SECTIONS, benchLines, runBench } from "../bench/suite.js";
import { writeJsonAtomic } from "../util/atomic.js";

export function registerBenchCommand(program: Command): void {
  const names = Object.keys(BENCH_SECTIONS);
  program
    .command("bench")
    .description(`Benchmarks (medians after warm-up) as JSON: ${names.join(", ")}; all sections when none is named`)
    .argument("[sections...]", `any of ${names.join(", ")}`)
    .option("--json", "print the result as one JSON object")
    .option("--out <file>", "also write the JSON result to this file")
    .action(async (sections: string[], f: { json?: boolean; out?: string }) => {
      for (const s of sections) {
        if (!names.includes(s)) throw new UserError(`unknown bench section "${s}"; known: ${names.join(", ")}`);
      }
      await initEngine();
      const result = await runBench(sections, (l) => process.stderr.write(l + "\n"));
      if (f.out !== undefined) writeJsonAtomic(f.out, result);
      process.stdout.write(f.json ? JSON.stringify(result, null, 2) + "\n" : benchLines(result).join("\n") + "\n");
    });
}
