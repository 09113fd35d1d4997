/**
 * Fixtures for the report tests: a small hopper dataset with simulator states (so the action check can segment by
 * contacts), and fabricated run directories in the trainer's layout (for the parsing and comparison tests, which
 * must not depend on training).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Rng } from "../../src/engine/rng.js";
import { makeEnv } from "../../src/envs/registry.js";
import type { MujocoEnv } from "../../src/envs/mujoco-env.js";
import { writeD4rl } from "../../src/data/d4rl.js";
import { clapPreset as presetConfig, resolveClapConfig as resolveConfig } from "../../src/algorithms/clap/config.js";
import type { ClapConfig } from "../../src/algorithms/clap/config.js";

/**
 * `rows` hopper transitions in D4RL layout with infos/qpos and infos/qvel, acting with a smooth random policy (a
 * sine per joint with a random phase per episode), so episodes last long enough to leave and touch the floor.
 */
export async function writeHopperDataset(path: string, rows: number, seed = 0): Promise<void> {
  const env = (await makeEnv("hopper", { seed })) as MujocoEnv;
  const rng = new Rng(seed);
  const d = env.observationSpace.shape[0];
  const a = env.actionSpace.dim;
  const { nq, nv } = env.sim;
  const obs = new Float32Array(rows * d);
  const next = new Float32Array(rows * d);
  const act = new Float32Array(rows * a);
  const rew = new Float32Array(rows);
  const terminals = new Uint8Array(rows);
  const timeouts = new Uint8Array(rows);
  const qpos = new Float32Array(rows * nq);
  const qvel = new Float32Array(rows * nv);
  try {
    let o = env.reset({ seed: rng.int(1 << 30) });
    let phase = Array.from({ length: a }, () => rng.uniformRange(0, 2 * Math.PI));
    let t = 0;
    for (let i = 0; i < rows; i++) {
      obs.set(o, i * d);
      qpos.set(env.sim.qpos(), i * nq);
      qvel.set(env.sim.qvel(), i * nv);
      const action = phase.map((p, j) => Math.max(-1, Math.min(1, 0.3 * Math.sin(0.4 * t + p + j) + 0.1 * rng.normal())));
      act.set(action, i * a);
      const r = env.step(action);
      rew[i] = r.reward;
      next.set(r.obs, i * d);
      terminals[i] = r.terminated ? 1 : 0;
      // Short episodes keep the fixture small; the cut is recorded as a timeout like a time limit.
      timeouts[i] = !r.terminated && (r.truncated || t === 59) ? 1 : 0;
      o = r.obs as Float32Array;
      t++;
      if (terminals[i] || timeouts[i]) {
        o = env.reset({ seed: rng.int(1 << 30) });
        phase = phase.map(() => rng.uniformRange(0, 2 * Math.PI));
        t = 0;
      }
    }
  } finally {
    env.close();
  }
  await writeD4rl(path, {
    observations: { data: obs, shape: [rows, d] },
    actions: { data: act, shape: [rows, a] },
    rewards: rew,
    terminals,
    timeouts,
    nextObservations: { data: next, shape: [rows, d] },
    infos: { qpos: { data: qpos, shape: [rows, nq] }, qvel: { data: qvel, shape: [rows, nv] } },
  });
}

export interface FakeRunOptions {
  dataset?: string;
  datasetPath?: string;
  seed?: number;
  status?: "done" | "running" | "stopped" | "diverged";
  /** Evaluation scores at steps 0, every, 2·every, …; a finished run's last entry is its final evaluation. */
  scores: number[];
  every?: number;
  /** Planned agent steps (default 2·every). */
  steps?: number;
  env?: string;
  /** Config changes applied after the tiny preset. */
  edit?: (c: ClapConfig) => void;
  /** Evaluations without normalised scores (an environment without references). */
  scoreless?: boolean;
  /** Raw text appended to metrics.jsonl (e.g. a cut-off line). */
  tail?: string;
}

/** A run directory in the trainer's layout with made-up metrics (no checkpoints). */
export function fakeRun(dir: string, o: FakeRunOptions): string {
  mkdirSync(dir, { recursive: true });
  const every = o.every ?? 10;
  const config = resolveConfig(presetConfig("tiny"), o.dataset ?? "hopper-medium");
  config.seed = o.seed ?? 0;
  config.eval.every = every;
  config.agent.steps = o.steps ?? 2 * every;
  o.edit?.(config);
  const lines: string[] = [];
  for (let s = 10; s <= config.model.steps; s += 10) lines.push(JSON.stringify({ phase: "model", step: s, elapsed_s: s / 100, loss: 10 - s / 10, obs: 5, act: 1 }));
  o.scores.forEach((score, i) => {
    const step = i * every;
    if (step > 0) lines.push(JSON.stringify({ phase: "agent", step, elapsed_s: 1 + step / 10, actor_loss: -score / 100, value_loss: 0.5 }));
    lines.push(
      JSON.stringify({
        phase: "eval",
        step,
        elapsed_s: 1 + step / 10,
        value_estimate: score / 10,
        policy_action_mse: 0.1,
        episodes: 2,
        return_mean: score * 30,
        return_std: 3,
        length_mean: 100,
        ...(o.scoreless ? {} : { score_mean: score, score_std: 1 }),
      }),
    );
  });
  const status = o.status ?? "done";
  const manifest = {
    package: { name: "clap-rl", version: "0.1.0" },
    engine: { tfjsCore: "4.22.0", backend: "wasm" },
    node: process.version,
    algo: "clap",
    preset: "tiny",
    seed: config.seed,
    dataset: { name: o.dataset ?? "hopper-medium", path: o.datasetPath ?? join(dir, "no-such-dataset.hdf5"), sha256: null, episodes: 4, transitions: 400 },
    env: o.env ?? "hopper",
    command: ["clap-rl", "train"],
    startedAt: "2026-01-01T00:00:00.000Z",
    endedAt: status === "running" ? null : "2026-01-01T00:05:00.000Z",
    status,
    modelCheckpoint: join(dir, "model"),
  };
  writeFileSync(join(dir, "config.json"), JSON.stringify(config, null, 2));
  writeFileSync(join(dir, "manifest.json"), JSON.stringify(manifest, null, 2));
  writeFileSync(join(dir, "metrics.jsonl"), lines.join("\n") + "\n" + (o.tail ?? ""));
  return dir;
}
