/**
 * Branch rollouts in a learned dynamics ensemble, shared by MOPO and MOBILE (docs/design/method.md §17.2 step 2):
 * from observations drawn from the data, the current policy acts, one elite member chosen at random per row samples
 * [Δobs | reward], and a row stops once the environment's termination function, applied to the predicted next
 * observation, fires (pitfall §17.6.1: rollouts that ignore terminals wreck MOPO on hopper). A prediction that blows
 * up ("numerical": non-finite or out of range) ends its row as terminal too, and is counted.
 */
import { tf } from "../engine/tf.js";
import type { Rng } from "../engine/rng.js";
import type { TerminationFn } from "../envs/termination.js";
import type { DynamicsEnsemble } from "../models/dynamics-ensemble.js";

/** Every member's prediction for the rows of one rollout step, raw units, [members, rows, width] row-major. */
export interface StepPrediction {
  mean: Float32Array;
  std: Float32Array;
  members: number;
  rows: number;
  /** obsDim + 1: [Δobs | reward]. */
  width: number;
}

export interface RolloutOptions {
  /** Rollout length h. */
  length: number;
  termination: TerminationFn;
  /** Elite choice and the Gaussian noise of each sample. */
  rng: Rng;
  /** Subtracted from each row's sampled reward (MOPO: λ · u(s, a)); absent: rewards as the model samples them. */
  penalty?: (p: StepPrediction) => Float32Array;
}

/** The transitions of a rollout, row-major, in the order they were generated. */
export interface RolloutResult {
  count: number;
  obs: Float32Array;
  act: Float32Array;
  /** Reward after the penalty. */
  rew: Float32Array;
  nextObs: Float32Array;
  /** 1 where the predicted next observation is terminal (task rule or numerical blow-up). */
  terminal: Float32Array;
  stats: { rawRewardMean: number; penaltyMean: number; terminated: number; numerical: number; steps: number };
}

/**
 * Rolls out `length` steps from `start` ([N, obsDim]); `act` maps N observations to N actions of the policy being
 * trained (sampled, as the agent acts while it learns).
 */
export function modelRollout(ens: DynamicsEnsemble, act: (obs: Float32Array, rows: number) => Float32Array, start: Float32Array, opts: RolloutOptions): RolloutResult {
  const d = ens.dims.obsDim;
  const a = ens.dims.actDim;
  const w = ens.outDim;
  const E = ens.opts.members;
  const out = { obs: [] as Float32Array[], act: [] as Float32Array[], rew: [] as Float32Array[], nextObs: [] as Float32Array[], terminal: [] as Float32Array[] };
  const stats = { rawRewardMean: 0, penaltyMean: 0, terminated: 0, numerical: 0, steps: 0 };
  const elites = ens.elites;
  let obs = start;
  let rows = start.length / d;
  let count = 0;
  for (let h = 0; h < opts.length && rows > 0; h++) {
    const action = act(obs, rows);
    const pred = tf.tidy(() => {
      const p = ens.predict(tf.tensor2d(obs, [rows, d]), tf.tensor2d(action, [rows, a]));
      return [p.mean, p.std];
    });
    const step: StepPrediction = { mean: pred[0].dataSync() as Float32Array, std: pred[1].dataSync() as Float32Array, members: E, rows, width: w };
    tf.dispose(pred);
    const penalty = opts.penalty?.(step) ?? null;
    const next = new Float32Array(rows * d);
    const rew = new Float32Array(rows);
    const terminal = new Float32Array(rows);
    const alive: number[] = [];
    for (let i = 0; i < rows; i++) {
      const e = elites[opts.rng.int(elites.length)];
      const at = (e * rows + i) * w;
      for (let j = 0; j < d; j++) next[i * d + j] = obs[i * d + j] + step.mean[at + j] + step.std[at + j] * opts.rng.normal();
      const raw = step.mean[at + d] + step.std[at + d] * opts.rng.normal();
      stats.rawRewardMean += raw;
      rew[i] = raw - (penalty ? penalty[i] : 0);
      if (penalty) stats.penaltyMean += penalty[i];
      const kind = opts.termination(next, i * d);
      if (kind === "none") alive.push(i);
      else {
        terminal[i] = 1;
        if (kind === "numerical") stats.numerical += 1;
        else stats.terminated += 1;
      }
    }
    out.obs.push(obs);
    out.act.push(action);
    out.rew.push(rew);
    out.nextObs.push(next);
    out.terminal.push(terminal);
    count += rows;
    stats.steps += 1;
    obs = new Float32Array(alive.length * d);
    alive.forEach((i, k) => obs.set(next.subarray(i * d, (i + 1) * d), k * d));
    rows = alive.length;
  }
  stats.rawRewardMean /= Math.max(1, count);
  stats.penaltyMean /= Math.max(1, count);
  const cat = (parts: Float32Array[]) => {
    const r = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) (r.set(p, o), (o += p.length));
    return r;
  };
  return { count, obs: cat(out.obs), act: cat(out.act), rew: cat(out.rew), nextObs: cat(out.nextObs), terminal: cat(out.terminal), stats };
}
