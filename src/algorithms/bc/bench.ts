/**
 * BC's benchmark: milliseconds per training step (wall and process CPU, median after warm-up) of the small preset's
 * network and batch at hopper dimensions (obs 11, action 3), on synthetic transitions (step time does not depend on
 * the values), for both policy kinds.
 */
import { initEngine } from "../../engine/tf.js";
import { Rng } from "../../engine/rng.js";
import { round, timeMedian } from "../../bench/timing.js";
import { HOPPER_DIMS, syntheticTransitions } from "../bench-util.js";
import { BcAgent } from "./agent.js";
import { BC_PRESETS, resolveBcConfig } from "./config.js";

export async function benchBc(): Promise<Record<string, unknown>> {
  await initEngine();
  const out: Record<string, unknown> = {};
  for (const kind of ["deterministic", "gaussian"] as const) {
    const cfg = resolveBcConfig(BC_PRESETS.small(), "hopper-medium");
    cfg.bc.policy = kind;
    const rng = new Rng(0);
    const agent = new BcAgent(cfg, HOPPER_DIMS, rng);
    const batch = syntheticTransitions(cfg.data.batch, rng.split("batch"));
    try {
      const t = timeMedian(() => agent.step("agent", batch), 5, 50);
      out[kind] = { step_ms: round(t.ms), step_cpu_ms: round(t.cpuMs), sizes: { batch: cfg.data.batch, hidden: cfg.bc.hidden, layers: cfg.bc.layers, obs: HOPPER_DIMS.obsDim, action: HOPPER_DIMS.actDim } };
    } finally {
      agent.dispose();
    }
  }
  return out;
}
