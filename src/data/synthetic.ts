/**
 * Seeded synthetic D4RL-layout data with the structure of real files (consistent next_observations,
 * 1000-step timeouts, occasional terminals, actions in [−1, 1]), for benchmarks and tests of the loaders.
 * The values are random; they are not environment data.
 */
import { Rng } from "../engine/rng.js";
import type { D4rlArrays, D4rlLayout } from "./d4rl.js";

export interface SyntheticD4rlOptions {
  rows: number;
  obsDim: number;
  actDim: number;
  seed: number;
  layout?: D4rlLayout;
  /** Timeout after this many steps of an episode (default 1000). */
  episodeSteps?: number;
  /** Per-step probability of a terminal (locomotion layout only; default 0.001). */
  terminalRate?: number;
}

export function syntheticD4rl(o: SyntheticD4rlOptions): D4rlArrays {
  const rng = new Rng(o.seed);
  const layout = o.layout ?? "locomotion";
  const steps = o.episodeSteps ?? 1000;
  const pTerm = layout === "locomotion" ? (o.terminalRate ?? 0.001) : 0;
  const { rows: n, obsDim: d, actDim: a } = o;
  const observations = new Float32Array(n * d);
  const next = new Float32Array(n * d);
  const actions = new Float32Array(n * a);
  const rewards = new Float32Array(n);
  const terminals = new Uint8Array(n);
  const timeouts = new Uint8Array(n);
  const cur = new Float32Array(d);
  rng.fillNormal(cur);
  let step = 0;
  for (let i = 0; i < n; i++) {
    observations.set(cur, i * d);
    for (let j = 0; j < a; j++) actions[i * a + j] = rng.uniformRange(-1, 1);
    for (let j = 0; j < d; j++) cur[j] = 0.9 * cur[j] + 0.3 * rng.normal();
    next.set(cur, i * d);
    rewards[i] = rng.normal();
    step++;
    if (rng.uniform() < pTerm) terminals[i] = 1;
    else if (step === steps) timeouts[i] = 1;
    if (terminals[i] || timeouts[i]) {
      step = 0;
      rng.fillNormal(cur);
    }
  }
  return {
    observations: { data: observations, shape: [n, d] },
    actions: { data: actions, shape: [n, a] },
    rewards,
    terminals,
    timeouts,
    ...(layout === "locomotion" ? { nextObservations: { data: next, shape: [n, d] } } : {}),
  };
}
