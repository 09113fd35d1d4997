/**
 * Environment benchmark: for every registered environment, agent steps per second under uniform-random actions
 * (resetting whenever an episode ends) and milliseconds per 64 × 64 frame of the ray-cast renderer, measured on
 * the states that rollout visits (median over frames, after warm-up renders, so that a busy machine's stalls do not
 * dominate). Single thread. Sizes keep the whole section well under a minute on 2 vCPUs.
 */
import { listEnvs, makeEnv } from "../envs/registry.js";
import { MujocoEnv } from "../envs/mujoco-env.js";
import { RayCastRenderer } from "../envs/render.js";
import { Rng } from "../engine/rng.js";
import { median } from "./timing.js";

const WARMUP_STEPS = 100;
const STEPS = 2000;
const RENDER_EVERY = 10;
const WARMUP_FRAMES = 20;

interface EnvBench {
  stepsPerSecond: number;
  /** Physics steps per second (agent steps × frame skip), comparable with docs/design/environments.md §1.6. */
  physicsStepsPerSecond: number | null;
  /** Median over the rollout's frames. */
  msPerFrame: number | null;
  episodesEnded: number;
}

async function benchOne(id: string, rng: Rng): Promise<EnvBench> {
  const env = await makeEnv(id);
  try {
    const renderer = env instanceof MujocoEnv ? new RayCastRenderer(env.sim, { camera: env.camera.name }) : null;
    const action = new Float64Array(env.actionSpace.dim);
    let ended = 0;
    env.reset({ seed: 1 });
    const step = (): void => {
      for (let i = 0; i < action.length; i++) action[i] = rng.uniformRange(-1, 1);
      const r = env.step(action);
      if (r.terminated || r.truncated) {
        ended++;
        env.reset();
      }
    };
    for (let t = 0; t < WARMUP_STEPS; t++) step();
    for (let k = 0; k < WARMUP_FRAMES; k++) renderer?.render();
    let stepMs = 0;
    const frameMs: number[] = [];
    for (let t = 0; t < STEPS; t++) {
      const t0 = performance.now();
      step();
      stepMs += performance.now() - t0;
      if (renderer !== null && t % RENDER_EVERY === 0) {
        const t1 = performance.now();
        renderer.render();
        frameMs.push(performance.now() - t1);
      }
    }
    const stepsPerSecond = (1000 * STEPS) / stepMs;
    return {
      stepsPerSecond: Math.round(stepsPerSecond),
      physicsStepsPerSecond: env instanceof MujocoEnv ? Math.round(stepsPerSecond * env.frameSkip) : null,
      msPerFrame: renderer === null ? null : Number(median(frameMs).toFixed(3)),
      episodesEnded: ended,
    };
  } finally {
    env.close();
  }
}

export async function benchEnvs(): Promise<Record<string, unknown>> {
  const rng = new Rng(0);
  const results: Record<string, unknown> = {
    method: `uniform-random actions, ${STEPS} agent steps after ${WARMUP_STEPS} warm-up, one 64×64 frame every ${RENDER_EVERY} steps (median ms); single thread`,
  };
  for (const { id } of listEnvs()) results[id] = await benchOne(id, rng.split(id));
  return results;
}
