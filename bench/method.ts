/**
 * Method benchmark: milliseconds per model step and per agent step of C-LAP for the `small` and `full` presets at
 * hopper dimensions (obs 11, action 3), median over steps after warm-up. Batches are synthetic (random observations
 * and actions, every entry valid) because step time does not depend on the data's values.
 * `full` runs only a few steps so the section finishes in minutes on 2 cores.
 */
import { initEngine, tf } from "../src/engine/tf.js";
import { Rng } from "../src/engine/rng.js";
import { presetConfig, resolveConfig } from "../src/config/presets.js";
import { ClapAgent } from "../src/agents/clap.js";
import type { WindowBatch } from "../src/data/windows.js";

const OBS_DIM = 11;
const ACT_DIM = 3;

function syntheticBatch(B: number, T: number, rng: Rng): WindowBatch {
  const n = B * T;
  const fill = (len: number, f: () => number) => Float32Array.from({ length: len }, f);
  const act = fill(n * ACT_DIM, () => Math.tanh(rng.normal()));
  const prevAct = new Float32Array(n * ACT_DIM);
  for (let b = 0; b < B; b++) prevAct.set(act.subarray(b * T * ACT_DIM, ((b + 1) * T - 1) * ACT_DIM), (b * T + 1) * ACT_DIM);
  const isFirst = new Float32Array(n);
  for (let b = 0; b < B; b++) isFirst[b * T] = 1;
  return {
    B,
    T,
    obsShape: [OBS_DIM],
    actDim: ACT_DIM,
    obs: fill(n * OBS_DIM, () => rng.normal()),
    act,
    prevAct,
    actMask: new Float32Array(n).fill(1),
    rew: fill(n, () => rng.normal()),
    cont: new Float32Array(n).fill(1),
    isFirst,
    mask: new Float32Array(n).fill(1),
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function timeSteps(step: () => void, warmup: number, measured: number): number[] {
  for (let i = 0; i < warmup; i++) step();
  const times: number[] = [];
  for (let i = 0; i < measured; i++) {
    const t = performance.now();
    step();
    times.push(performance.now() - t);
  }
  return times;
}

async function benchPreset(name: string, warmup: number, measured: number): Promise<Record<string, unknown>> {
  const cfg = resolveConfig(presetConfig(name), "hopper-medium");
  const { batch: B, window: T } = cfg.data;
  const agent = new ClapAgent(cfg, { obsDim: OBS_DIM, actDim: ACT_DIM }, new Rng(0));
  const rng = new Rng(1);
  const batches = Array.from({ length: 4 }, () => syntheticBatch(B, T, rng));
  let i = 0;
  const next = () => batches[i++ % batches.length];
  const model = timeSteps(() => agent.modelStep(next()), warmup, measured);
  const agentTimes = timeSteps(() => agent.agentStep(next()), warmup, measured);
  const liveTensors = tf.memory().numTensors;
  agent.dispose();
  return {
    model_step_ms: Math.round(median(model) * 10) / 10,
    agent_step_ms: Math.round(median(agentTimes) * 10) / 10,
    steps_measured: measured,
    warmup_steps: warmup,
    sizes: {
      batch: B,
      window: T,
      deter: cfg.model.deter,
      stoch: cfg.model.stoch,
      hidden: cfg.model.hidden,
      layers: cfg.model.layers,
      embed: cfg.model.embed,
      latent_action: cfg.model.latentActionDim,
      horizon: cfg.agent.horizon,
      imagined_start_states: B * T,
      obs_dim: OBS_DIM,
      action_dim: ACT_DIM,
    },
    preset_steps: { model: cfg.model.steps, agent: cfg.agent.steps },
    live_tensors_after: liveTensors,
  };
}

export async function benchMethod(): Promise<Record<string, unknown>> {
  await initEngine();
  return {
    backend: tf.getBackend(),
    small: await benchPreset("small", 3, 20),
    full: await benchPreset("full", 1, 3),
  };
}
