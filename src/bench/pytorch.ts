/**
 * The PyTorch side of the algorithms' benchmarks: bench/pytorch_reference.py builds the same networks at the sizes
 * clap-rl just measured and times the same steps, in the same run, so the ratio compares like with like on whatever
 * the machine is doing at that moment.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { round } from "./timing.js";

const REFERENCE_SCRIPT = fileURLToPath(new URL("../../../bench/pytorch_reference.py", import.meta.url));

/** The reference's result, or why there is none (no torch, no script, the script failed). */
export type PytorchResult = ({ available: true; interpreter: string } & Record<string, unknown>) | { available: false; reason: string };

/** Milliseconds per step, wall and process CPU, as both sides report them. */
export interface StepMs {
  step_ms: number;
  step_cpu_ms: number;
}

/** PyTorch's timings of one step with 1 and 2 threads (intra-op and, where torch uses OpenBLAS, BLAS threads). */
export type TorchThreads = Record<"1t" | "2t", StepMs>;

/**
 * The first of CLAP_RL_PYTHON, python3, /usr/bin/python3 that imports torch (Debian's python3-torch lives in the
 * system Python, which a pyenv or venv python3 on PATH does not see).
 */
function findTorchPython(): { python: string } | { reason: string } {
  const candidates = process.env.CLAP_RL_PYTHON ? [process.env.CLAP_RL_PYTHON] : ["python3", "/usr/bin/python3"];
  for (const python of candidates) {
    const r = spawnSync(python, ["-c", "import torch"], { stdio: "ignore", timeout: 60_000 });
    if (r.status === 0) return { python };
  }
  return { reason: `no Python with torch found (tried ${candidates.join(", ")}; set CLAP_RL_PYTHON, or apt-get install python3-torch)` };
}

/** Runs `bench/pytorch_reference.py <algo> <input>` with `input` (the sizes clap-rl measured at) as its JSON file. */
export function pytorchReference(algo: string, input: unknown): PytorchResult {
  if (!existsSync(REFERENCE_SCRIPT)) return { available: false, reason: `${REFERENCE_SCRIPT} is missing` };
  const found = findTorchPython();
  if ("reason" in found) return { available: false, reason: found.reason };
  const dir = mkdtempSync(join(tmpdir(), "clap-rl-bench-"));
  try {
    const file = join(dir, "sizes.json");
    writeFileSync(file, JSON.stringify(input));
    const r = spawnSync(found.python, [REFERENCE_SCRIPT, algo, file], { encoding: "utf8", timeout: 1_800_000, maxBuffer: 1 << 24 });
    if (r.status !== 0) {
      const why = (r.stderr || r.error?.message || `exit status ${r.status}`).trim().split("\n").pop();
      return { available: false, reason: `${found.python} ${REFERENCE_SCRIPT} ${algo} failed: ${why}` };
    }
    return { available: true, interpreter: found.python, ...(JSON.parse(r.stdout) as Record<string, unknown>) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * clap-rl ÷ PyTorch for one step (> 1: clap-rl is slower). Wall: against PyTorch's faster thread setting. CPU:
 * against PyTorch with 1 thread, the comparison that survives a shared machine (clap-rl runs one thread; PyTorch's
 * 2-thread CPU time counts both).
 */
export function stepRatios(ours: StepMs, torch: TorchThreads): { pytorch_best_threads: "1t" | "2t"; wall: number; cpu_vs_1t: number } {
  const best = torch["2t"].step_ms < torch["1t"].step_ms ? "2t" : "1t";
  return { pytorch_best_threads: best, wall: round(ours.step_ms / torch[best].step_ms, 2), cpu_vs_1t: round(ours.step_cpu_ms / torch["1t"].step_cpu_ms, 2) };
}
