/**
 * PLAS's benchmark (docs/design/method.md §17.1): milliseconds per VAE step and per agent step (one critic step, one
 * actor step and the target update; wall and process CPU, median after warm-up) of the small preset's networks and
 * batch at hopper dimensions, on synthetic transitions (step time does not depend on the values).
 */
import { initEngine } from "../../engine/tf.js";
import { Rng } from "../../engine/rng.js";
import { round, timeMedian } from "../../bench/timing.js";
import { HOPPER_DIMS, syntheticTransitions } from "../bench-util.js";
import { PlasAgent } from "./agent.js";
import { PLAS_PRESETS, resolvePlasConfig } from "./config.js";

export async function benchPlas(): Promise<Record<string, unknown>> {
  await initEngine();
  const cfg = resolvePlasConfig(PLAS_PRESETS.small(), "hopper-medium");
  const rng = new Rng(0);
  const agent = new PlasAgent(cfg, HOPPER_DIMS, rng);
  const batch = syntheticTransitions(cfg.data.batch, rng.split("batch"));
  try {
    const vae = timeMedian(() => agent.step("model", batch), 5, 30);
    const step = timeMedian(() => agent.step("agent", batch), 5, 30);
    const { vae: v, agent: a } = cfg;
    return {
      vae: { step_ms: round(vae.ms), step_cpu_ms: round(vae.cpuMs) },
      agent: { step_ms: round(step.ms), step_cpu_ms: round(step.cpuMs) },
      sizes: {
        batch: cfg.data.batch,
        vae: `${v.layers} × ${v.hidden}, latent ${agent.vae.latentDim}`,
        actor: `${a.actorHidden1}-${a.actorHidden2}`,
        critic: `2 × ${a.criticHidden1}-${a.criticHidden2}`,
        obs: HOPPER_DIMS.obsDim,
        action: HOPPER_DIMS.actDim,
      },
    };
  } finally {
    agent.dispose();
  }
}
