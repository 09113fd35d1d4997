/**
 * BC's benchmark: milliseconds per training step (wall and process CPU, median after warm-up) of the small preset's
 * network and batch at hopper dimensions (obs 11, action 3), on synthetic transitions (step time does not depend on
 * the values), for both policy kinds, and the same step in PyTorch (bench/pytorch_reference.py) with the ratio.
 */
import { initEngine } from "../../engine/tf.js";
import { Rng } from "../../engine/rng.js";
import { round, timeMedian } from "../../bench/timing.js";
import { pytorchReference, stepRatios, type TorchThreads } from "../../bench/pytorch.js";
import { HOPPER_DIMS, syntheticTransitions } from "../bench-util.js";
import { BcAgent } from "./agent.js";
import { BC_PRESETS, resolveBcConfig } from "./config.js";

const WARMUP = 5;
const MEASURED = 50;

export async function benchBc(): Promise<Record<string, unknown>> {
  await initEngine();
  const out: Record<string, { step_ms: number; step_cpu_ms: number; sizes: Record<string, unknown> }> = {};
  for (const kind of ["deterministic", "gaussian"] as const) {
    const cfg = resolveBcConfig(BC_PRESETS.small(), "hopper-medium");
    cfg.bc.policy = kind;
    const rng = new Rng(0);
    const agent = new BcAgent(cfg, HOPPER_DIMS, rng);
    const batch = syntheticTransitions(cfg.data.batch, rng.split("batch"));
    try {
      const t = timeMedian(() => agent.step("agent", batch), WARMUP, MEASURED);
      const sizes = { policy: kind, batch: cfg.data.batch, hidden: cfg.bc.hidden, layers: cfg.bc.layers, obs: HOPPER_DIMS.obsDim, action: HOPPER_DIMS.actDim };
      out[kind] = { step_ms: round(t.ms), step_cpu_ms: round(t.cpuMs), sizes };
    } finally {
      agent.dispose();
    }
  }
  const pytorch = pytorchReference("bc", { warmup_steps: WARMUP, steps_measured: MEASURED, kinds: Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.sizes])) });
  const ratios = pytorch.available
    ? Object.fromEntries(Object.entries(out).map(([k, v]) => [k, stepRatios(v, (pytorch.kinds as Record<string, TorchThreads>)[k])]))
    : undefined;
  return { ...out, pytorch, ...(ratios ? { ratios } : {}) };
}
