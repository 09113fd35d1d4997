/**
 * PLAS's benchmark (docs/design/method.md §17.1): milliseconds per VAE step and per agent step (one critic step, one
 * actor step and the target update; wall and process CPU, median after warm-up) of the small preset's networks and
 * batch at hopper dimensions, on synthetic transitions (step time does not depend on the values), and the same two
 * steps in PyTorch (bench/pytorch_reference.py) with the ratios.
 */
import { initEngine } from "../../engine/tf.js";
import { Rng } from "../../engine/rng.js";
import { round, timeMedian } from "../../bench/timing.js";
import { pytorchReference, stepRatios, type TorchThreads } from "../../bench/pytorch.js";
import { HOPPER_DIMS, syntheticTransitions } from "../bench-util.js";
import { PlasAgent } from "./agent.js";
import { PLAS_PRESETS, resolvePlasConfig } from "./config.js";

const WARMUP = 5;
const MEASURED = 30;

export async function benchPlas(): Promise<Record<string, unknown>> {
  await initEngine();
  const cfg = resolvePlasConfig(PLAS_PRESETS.small(), "hopper-medium");
  const rng = new Rng(0);
  const agent = new PlasAgent(cfg, HOPPER_DIMS, rng);
  const batch = syntheticTransitions(cfg.data.batch, rng.split("batch"));
  let times: Record<"vae" | "agent", { step_ms: number; step_cpu_ms: number }>;
  try {
    const vae = timeMedian(() => agent.step("model", batch), WARMUP, MEASURED);
    const step = timeMedian(() => agent.step("agent", batch), WARMUP, MEASURED);
    times = { vae: { step_ms: round(vae.ms), step_cpu_ms: round(vae.cpuMs) }, agent: { step_ms: round(step.ms), step_cpu_ms: round(step.cpuMs) } };
  } finally {
    agent.dispose();
  }
  const { vae: v, agent: a } = cfg;
  const sizes = {
    batch: cfg.data.batch,
    vae_hidden: v.hidden,
    vae_layers: v.layers,
    latent: v.latentPerAction * HOPPER_DIMS.actDim,
    actor_hidden: [a.actorHidden1, a.actorHidden2],
    critic_hidden: [a.criticHidden1, a.criticHidden2],
    perturbation: a.perturbation,
    obs: HOPPER_DIMS.obsDim,
    action: HOPPER_DIMS.actDim,
  };
  const pytorch = pytorchReference("plas", { warmup_steps: WARMUP, steps_measured: MEASURED, sizes });
  const ratios = pytorch.available
    ? Object.fromEntries((["vae", "agent"] as const).map((k) => [k, stepRatios(times[k], (pytorch.steps as Record<string, TorchThreads>)[k])]))
    : undefined;
  return { ...times, sizes, pytorch, ...(ratios ? { ratios } : {}) };
}
