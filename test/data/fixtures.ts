/** Fixture builders for the data tests: files are made at test time by the project's own writers. */
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { Rng } from "../../src/engine/rng.js";
import type { D4rlArrays } from "../../src/data/d4rl.js";
import type { Episode, EpisodeEnd } from "../../src/data/episode.js";

/** A temp directory removed after the test. */
export function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), "clap-rl-data-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function sha256(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

/** Actions that encode their row index exactly in float32 and stay inside [−1, 1]. */
export const actCode = (i: number, j: number) => (j === 0 ? i / 4096 : -i / 4096);
/** The successor observation stored at the last row of an episode, distinct from every row index. */
export const FINAL_OBS = 10000;

export interface RowEpisode {
  rows: number;
  terminal?: boolean;
  timeout?: boolean;
  /** Rows (relative to the episode start) whose terminal flag is set without ending the episode (antmaze goals). */
  goals?: number[];
}

/**
 * D4RL rows whose values encode their own index: observations[i] = [i, −i], actions[i] = actCode(i, ·),
 * rewards[i] = 2000 + i; in the locomotion layout next_observations[i] = observations[i+1] inside an
 * episode and [FINAL_OBS + i, …] at its last row.
 */
export function indexedD4rl(episodes: RowEpisode[], layout: "locomotion" | "antmaze"): D4rlArrays {
  const n = episodes.reduce((s, e) => s + e.rows, 0);
  const obs = new Float32Array(n * 2);
  const next = new Float32Array(n * 2);
  const act = new Float32Array(n * 2);
  const rewards = new Float32Array(n);
  const terminals = new Uint8Array(n);
  const timeouts = new Uint8Array(n);
  let i = 0;
  for (const e of episodes) {
    for (let k = 0; k < e.rows; k++, i++) {
      obs[2 * i] = i;
      obs[2 * i + 1] = -i;
      const last = k === e.rows - 1;
      next[2 * i] = last ? FINAL_OBS + i : i + 1;
      next[2 * i + 1] = last ? -(FINAL_OBS + i) : -(i + 1);
      act[2 * i] = actCode(i, 0);
      act[2 * i + 1] = actCode(i, 1);
      rewards[i] = 2000 + i;
      if (last && e.terminal) terminals[i] = 1;
      if (last && e.timeout) timeouts[i] = 1;
      if (e.goals?.includes(k)) terminals[i] = 1;
    }
  }
  return {
    observations: { data: obs, shape: [n, 2] },
    actions: { data: act, shape: [n, 2] },
    rewards,
    terminals,
    timeouts,
    ...(layout === "locomotion" ? { nextObservations: { data: next, shape: [n, 2] } } : {}),
  };
}

/** A random canonical episode (vector or image observations) for round trips. */
export function randomEpisode(
  rng: Rng,
  opts: { entries: number; obsShape: number[]; actDim: number; end: EpisodeEnd; image?: boolean; finalAction?: boolean },
): Episode {
  const { entries: L1, actDim: a } = opts;
  const d = opts.obsShape.reduce((x, y) => x * y, 1);
  const obs = opts.image ? Uint8Array.from({ length: L1 * d }, () => rng.int(256)) : Float32Array.from({ length: L1 * d }, () => rng.normal());
  const withFinal = opts.finalAction ?? false;
  const act = new Float32Array(L1 * a);
  const actMask = new Float32Array(L1);
  for (let t = 0; t < L1; t++) {
    if (t < L1 - 1 || withFinal) {
      actMask[t] = 1;
      for (let j = 0; j < a; j++) act[t * a + j] = rng.uniformRange(-1, 1);
    }
  }
  const rew = Float32Array.from({ length: L1 }, (_, t) => (t === 0 ? 0 : rng.normal()));
  const cont = new Float32Array(L1).fill(1);
  if (opts.end === "terminal") cont[L1 - 1] = 0;
  const isFirst = new Float32Array(L1);
  isFirst[0] = 1;
  return { length: L1, obsShape: [...opts.obsShape], obs, actDim: a, act, actMask, rew, cont, isFirst, end: opts.end };
}
