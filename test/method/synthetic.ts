/**
 * A small synthetic offline dataset for the method tests: 2-D linear dynamics observed through a 4-D observation,
 * a fixed linear behaviour controller with small noise, and a quadratic reward.
 *   s' = A s + Bu a + 0.05·n,  a = clip(K s + w·η + 0.02·n, −1, 1),  η ~ N(0, σ_b²), w = (1, 1)/√2,
 *   o = [s, 0.5·s],  r = −‖s‖²
 * The behaviour noise η is shared by both action dimensions. A diagonal-Normal action decoder cannot represent that
 * correlation, so the model has to carry η in the latent action u: the decoder then depends on u, and the test of
 * the jump-start property is not vacuous (a u far outside the prior decodes to actions far from the data).
 * `writeSyntheticD4rl` embeds the same dynamics in larger observation/action sizes (e.g. hopper's 11/3) as a D4RL
 * file, for the CLI tests.
 */
import { Rng } from "../../src/engine/rng.js";
import type { Episode } from "../../src/data/episode.js";
import { EpisodeStore } from "../../src/data/store.js";
import type { Env, StepResult } from "../../src/envs/env.js";
import { writeD4rl } from "../../src/data/d4rl.js";

export const OBS_DIM = 4;
export const ACT_DIM = 2;
const A = [
  [0.995, 0.1],
  [-0.1, 0.995],
];
const BU = [
  [0.03, 0],
  [0, 0.03],
];
const K = [
  [-0.8, 0.3],
  [-0.2, -0.7],
];

function observe(s: number[]): number[] {
  return [s[0], s[1], 0.5 * s[0], 0.5 * s[1]];
}

function step(s: number[], a: number[], rng: Rng): number[] {
  return [0, 1].map((i) => A[i][0] * s[0] + A[i][1] * s[1] + BU[i][0] * a[0] + BU[i][1] * a[1] + 0.05 * rng.normal());
}

export function behaviourAction(s: number[], rng: Rng, noise: number): number[] {
  const eta = noise * rng.normal();
  return [0, 1].map((i) => Math.max(-1, Math.min(1, K[i][0] * s[0] + K[i][1] * s[1] + Math.SQRT1_2 * eta + 0.02 * rng.normal())));
}

export function makeEpisodes(count: number, transitions: number, seed: number, noise = 0.3): Episode[] {
  const rng = new Rng(seed);
  const episodes: Episode[] = [];
  for (let e = 0; e < count; e++) {
    const L = transitions;
    const n = L + 1;
    const ep: Episode = {
      length: n,
      obsShape: [OBS_DIM],
      obs: new Float32Array(n * OBS_DIM),
      actDim: ACT_DIM,
      act: new Float32Array(n * ACT_DIM),
      actMask: new Float32Array(n),
      rew: new Float32Array(n),
      cont: new Float32Array(n).fill(1),
      isFirst: new Float32Array(n),
      end: "timeout",
    };
    ep.isFirst[0] = 1;
    let s = [rng.uniformRange(-2, 2), rng.uniformRange(-2, 2)];
    for (let t = 0; t < n; t++) {
      ep.obs.set(observe(s), t * OBS_DIM);
      if (t > 0) ep.rew[t] = -(s[0] ** 2 + s[1] ** 2);
      if (t === L) break;
      const a = behaviourAction(s, rng, noise);
      ep.act.set(a, t * ACT_DIM);
      ep.actMask[t] = 1;
      s = step(s, a, rng);
    }
    episodes.push(ep);
  }
  return episodes;
}

export function makeStore(count = 16, transitions = 40, seed = 1, noise = 0.3): EpisodeStore {
  return new EpisodeStore(makeEpisodes(count, transitions, seed, noise));
}

/** The same dynamics as an Env, for in-process evaluation in tests. */
export class LinearEnv implements Env {
  readonly id = "synthetic-linear";
  readonly observationSpace = { shape: [OBS_DIM], dtype: "float32" as const };
  readonly actionSpace = { dim: ACT_DIM, low: -1, high: 1 };
  readonly maxEpisodeSteps = 40;
  private s = [0, 0];
  private rng = new Rng(0);
  private t = 0;

  reset(options?: { seed?: number }): Float32Array {
    if (options?.seed !== undefined) this.rng = new Rng(options.seed);
    this.s = [this.rng.uniformRange(-2, 2), this.rng.uniformRange(-2, 2)];
    this.t = 0;
    return Float32Array.from(observe(this.s));
  }

  step(action: ArrayLike<number>): StepResult {
    const a = [0, 1].map((i) => Math.max(-1, Math.min(1, action[i])));
    this.s = step(this.s, a, this.rng);
    this.t++;
    return {
      obs: Float32Array.from(observe(this.s)),
      reward: -(this.s[0] ** 2 + this.s[1] ** 2),
      terminated: false,
      truncated: this.t >= this.maxEpisodeSteps,
      info: {},
    };
  }

  close(): void {}
}

/**
 * A D4RL locomotion-layout file with `count` timeout-ended episodes: observation j is (1 + 0.1·j)·s[j mod 2],
 * action k is a[k mod 2].
 */
export async function writeSyntheticD4rl(path: string, obsDim: number, actDim: number, count = 12, transitions = 30): Promise<void> {
  const eps = makeEpisodes(count, transitions, 3);
  const n = count * transitions;
  const observations = new Float32Array(n * obsDim);
  const next = new Float32Array(n * obsDim);
  const actions = new Float32Array(n * actDim);
  const rewards = new Float32Array(n);
  const terminals = new Uint8Array(n);
  const timeouts = new Uint8Array(n);
  const embed = (o: Float32Array, t: number, out: Float32Array, row: number) => {
    for (let j = 0; j < obsDim; j++) out[row * obsDim + j] = (1 + 0.1 * j) * o[t * OBS_DIM + (j % 2)];
  };
  let row = 0;
  for (const ep of eps) {
    for (let t = 0; t < transitions; t++, row++) {
      embed(ep.obs as Float32Array, t, observations, row);
      embed(ep.obs as Float32Array, t + 1, next, row);
      for (let k = 0; k < actDim; k++) actions[row * actDim + k] = ep.act[t * ACT_DIM + (k % 2)];
      rewards[row] = ep.rew[t + 1];
    }
    timeouts[row - 1] = 1;
  }
  await writeD4rl(path, {
    observations: { data: observations, shape: [n, obsDim] },
    actions: { data: actions, shape: [n, actDim] },
    rewards,
    terminals,
    timeouts,
    nextObservations: { data: next, shape: [n, obsDim] },
  });
}
