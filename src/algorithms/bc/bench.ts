/**
 * BC's benchmark: milliseconds per training step (wall and process CPU, median after warm-up) of the small preset's
 * network and batch at hopper dimensions (obs 11, action 3), on synthetic transitions (step time does not depend on
 * the values), for both policy kinds.
 */
import { initEngine } from "../../engine/tf.js";
import { Rng } from "../../engine/rng.js";
import type { TransitionBatch } from "../../data/transitions.js";
import { round, timeMedian } from "../../bench/timing.js";
import { BcAgent } from "./agent.js";
import { BC_PRESETS, resolveBcConfig } from "./config.js";

const OBS_DIM = 11;
const ACT_DIM = 3;

function syntheticBatch(B: number, rng: Rng): TransitionBatch {
  const fill = (n: number, f: () => number) => Float32Array.from({ length: n }, f);
  return {
    kind: "transitions",
    B,
    obsDim: OBS_DIM,
    actDim: ACT_DIM,
    obs: fill(B * OBS_DIM, () => rng.normal()),
    act: fill(B * ACT_DIM, () => Math.tanh(rng.normal())),
    rew: fill(B, () => rng.normal()),
    nextObs: fill(B * OBS_DIM, () => rng.normal()),
    cont: new Float32Array(B).fill(1),
    isFirst: new Float32Array(B),
  };
}

export async function benchBc(): Promise<Record<string, unknown>> {
  await initEngine();
  const out: Record<string, unknown> = {};
  for (const kind of ["deterministic", "gaussian"] as const) {
    const cfg = resolveBcConfig(BC_PRESETS.small(), "hopper-medium");
    cfg.bc.policy = kind;
    const rng = new Rng(0);
    const agent = new BcAgent(cfg, { obsDim: OBS_DIM, actDim: ACT_DIM }, rng);
    const batch = syntheticBatch(cfg.data.batch, rng.split("batch"));
    try {
      const t = timeMedian(() => agent.step("agent", batch), 5, 50);
      out[kind] = { step_ms: round(t.ms), step_cpu_ms: round(t.cpuMs), sizes: { batch: cfg.data.batch, hidden: cfg.bc.hidden, layers: cfg.bc.layers, obs: OBS_DIM, action: ACT_DIM } };
    } finally {
      agent.dispose();
    }
  }
  return out;
}
