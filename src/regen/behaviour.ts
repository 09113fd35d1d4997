/**
 * Behaviour-policy training (docs/design/datasets.md §6.1): online SAC in a project environment, with a checkpoint and an
 * evaluation every `checkpointEvery` environment steps, so the medium checkpoint can be chosen afterwards, and
 * the whole replay buffer kept in order for medium-replay.
 *
 * Run directory:
 * - `run.json`          settings fixed at creation (env, seed, SAC config, schedule); a resume must match them;
 * - `checkpoints.json`  one entry per checkpoint: step, evaluation returns, normalised score, losses;
 * - `policies/step-NNNNNNN.bin`  actor weights of every checkpoint (small; what a dataset needs);
 * - `state-NNNNNNN.bin` full training state of the latest checkpoint (all networks, Adam moments);
 * - `replay-NNNNNNN.bin` the replay buffer at the latest checkpoint, oldest row first;
 * - `state.json`        RNG streams, counters and the names of the two files above. It is written last and is the
 *   commit point: a crash mid-checkpoint leaves the previous state.json naming the previous (intact) files.
 *
 * Resume is exact: episodes are reset with seeds derived from the run seed and the episode index, so the
 * episode in progress at the checkpoint is rebuilt by resetting with its seed and replaying its stored actions
 * (MuJoCo is deterministic); the rebuilt observation is checked against the stored one.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Rng, type RngState } from "../engine/rng.js";
import { loadArrays, type NamedArray, saveArrays } from "../engine/serialize.js";
import type { AdamState } from "../engine/optim.js";
import { resolveSacConfig, SacAgent, type SacConfig, type SacLosses } from "./sac.js";
import { makeEnv } from "../envs/registry.js";
import type { MujocoEnv } from "../envs/mujoco-env.js";
import { ReplayBuffer } from "./replay.js";
import { writeJsonAtomic } from "../util/atomic.js";
import { UserError } from "../errors.js";

export interface BehaviourSettings {
  env: string;
  seed: number;
  sac: SacConfig;
  /** Environment steps between checkpoints (spec: 10 000). */
  checkpointEvery: number;
  /** Deterministic evaluation episodes per checkpoint. */
  evalEpisodes: number;
  /** The first steps use uniform random actions (exploration before the actor has learned anything). */
  randomSteps: number;
  /** Gradient updates start once the buffer holds this many rows. */
  updateAfter: number;
}

export const BEHAVIOUR_DEFAULTS = Object.freeze({
  seed: 1,
  checkpointEvery: 10_000,
  evalEpisodes: 10,
  randomSteps: 5000,
  updateAfter: 5000,
});

export interface CheckpointEntry {
  step: number;
  updates: number;
  episodes: number;
  evalReturn: number;
  evalReturns: number[];
  evalLength: number;
  /** Mean return of the training episodes finished since the previous checkpoint (NaN if none). */
  trainReturn: number;
  losses: SacLosses | null;
  policy: string;
  wallSeconds: number;
}

interface TrainState {
  step: number;
  updates: number;
  episode: number;
  episodeStartRow: number;
  actRng: RngState;
  updateRng: RngState;
  optimisers: Record<"actor" | "critic" | "alpha", { step: number }>;
  wallSeconds: number;
  /** The checkpoint's weight and replay files, relative to the run directory. */
  files: { state: string; replay: string };
}

/** The replay file of the run's latest committed checkpoint (what medium-replay reads). */
export function replayFileOf(outDir: string): string {
  const p = join(outDir, "state.json");
  if (!existsSync(p)) throw new UserError(`${outDir}: not a behaviour run with a checkpoint (no state.json)`);
  return join(outDir, (JSON.parse(readFileSync(p, "utf8")) as TrainState).files.replay);
}

export interface TrainOptions {
  outDir: string;
  /** Total environment steps to reach (a resumed run continues up to this). */
  steps: number;
  resume: boolean;
  /** Progress lines (stderr in the CLI). */
  log?: (line: string) => void;
  /** Only for a new run: settings other than the defaults. */
  settings?: Partial<Omit<BehaviourSettings, "env" | "sac">> & { sac?: Partial<SacConfig> };
  env: string;
}

const EVAL_SEED_BASE = 1_000_000;

/** Seed for the reset of training episode k; a pure function so a resume can rebuild the episode in progress. */
export function episodeSeed(runSeed: number, k: number): number {
  return new Rng(runSeed).split(`episode/${k}`).nextU32() >>> 1;
}

export function policyPath(outDir: string, step: number): string {
  return join(outDir, "policies", `step-${String(step).padStart(7, "0")}.bin`);
}

export function readCheckpoints(outDir: string): CheckpointEntry[] {
  const p = join(outDir, "checkpoints.json");
  if (!existsSync(p)) return [];
  return JSON.parse(readFileSync(p, "utf8")) as CheckpointEntry[];
}

export function readSettings(outDir: string): BehaviourSettings {
  const p = join(outDir, "run.json");
  if (!existsSync(p)) throw new UserError(`${outDir}: not a behaviour run directory (no run.json)`);
  return JSON.parse(readFileSync(p, "utf8")) as BehaviourSettings;
}

/** Mean return of deterministic (tanh-mean) episodes with fixed seeds; does not touch any training stream. */
export function evaluateAgent(agent: SacAgent, env: MujocoEnv, episodes: number, seedBase = EVAL_SEED_BASE): { returns: number[]; meanLength: number } {
  const returns: number[] = [];
  let steps = 0;
  for (let e = 0; e < episodes; e++) {
    let obs = env.reset({ seed: seedBase + e });
    let ret = 0;
    for (;;) {
      const r = env.step(agent.act(obs, null).action);
      ret += r.reward;
      steps++;
      obs = r.obs as Float32Array;
      if (r.terminated || r.truncated) break;
    }
    returns.push(ret);
  }
  return { returns, meanLength: steps / episodes };
}

const mean = (xs: number[]) => (xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length);

function optimiserArrays(states: Record<string, AdamState>): Map<string, NamedArray> {
  const out = new Map<string, NamedArray>();
  for (const [opt, s] of Object.entries(states)) {
    for (const slot of ["m", "v"] as const) {
      for (const [name, data] of Object.entries(s[slot])) out.set(`opt/${opt}/${slot}/${name}`, { shape: [data.length], data });
    }
  }
  return out;
}

function optimiserStatesFrom(arrays: Map<string, NamedArray>, steps: TrainState["optimisers"]): Record<"actor" | "critic" | "alpha", AdamState> {
  const out = {} as Record<"actor" | "critic" | "alpha", AdamState>;
  for (const opt of ["actor", "critic", "alpha"] as const) {
    const s: AdamState = { step: steps[opt].step, m: {}, v: {} };
    for (const [k, a] of arrays) {
      for (const slot of ["m", "v"] as const) {
        const prefix = `opt/${opt}/${slot}/`;
        if (k.startsWith(prefix)) s[slot][k.slice(prefix.length)] = a.data;
      }
    }
    out[opt] = s;
  }
  return out;
}

/**
 * Trains (or resumes) a SAC behaviour run up to `steps` environment steps. Returns the checkpoint list.
 * A new run refuses a directory that already holds one; `resume` requires one.
 */
export async function trainBehaviour(opts: TrainOptions): Promise<CheckpointEntry[]> {
  const log = opts.log ?? (() => {});
  const { outDir } = opts;
  const hasRun = existsSync(join(outDir, "run.json"));
  let settings: BehaviourSettings;
  if (opts.resume) {
    if (!hasRun) throw new UserError(`--resume: ${outDir} holds no behaviour run (no run.json)`);
    settings = readSettings(outDir);
    if (settings.env !== opts.env) throw new UserError(`--resume: ${outDir} is a run on "${settings.env}", not "${opts.env}"`);
  } else {
    if (hasRun) throw new UserError(`${outDir} already holds a behaviour run; pass --resume to continue it or choose another --out`);
    const s = opts.settings ?? {};
    settings = {
      env: opts.env,
      seed: s.seed ?? BEHAVIOUR_DEFAULTS.seed,
      sac: resolveSacConfig(s.sac),
      checkpointEvery: s.checkpointEvery ?? BEHAVIOUR_DEFAULTS.checkpointEvery,
      evalEpisodes: s.evalEpisodes ?? BEHAVIOUR_DEFAULTS.evalEpisodes,
      randomSteps: s.randomSteps ?? BEHAVIOUR_DEFAULTS.randomSteps,
      updateAfter: s.updateAfter ?? BEHAVIOUR_DEFAULTS.updateAfter,
    };
    for (const k of ["checkpointEvery", "evalEpisodes"] as const) {
      if (!(Number.isInteger(settings[k]) && settings[k] > 0)) throw new UserError(`behaviour settings: ${k} must be a positive integer, got ${settings[k]}`);
    }
  }
  if (!(Number.isInteger(opts.steps) && opts.steps > 0)) throw new UserError(`--steps must be a positive integer, got ${opts.steps}`);

  const env = (await makeEnv(settings.env, { seed: settings.seed })) as MujocoEnv;
  const evalEnv = (await makeEnv(settings.env, { seed: settings.seed })) as MujocoEnv;
  const obsDim = env.observationSpace.shape[0];
  const actDim = env.actionSpace.dim;
  const root = new Rng(settings.seed);
  const agent = new SacAgent(obsDim, actDim, root.split("init"), settings.sac);
  let buffer: ReplayBuffer;
  let st: TrainState;
  let checkpoints: CheckpointEntry[];
  try {
    if (opts.resume) {
      const stateJson = JSON.parse(readFileSync(join(outDir, "state.json"), "utf8")) as TrainState;
      const statePath = join(outDir, stateJson.files.state);
      const arrays = loadArrays(statePath);
      agent.loadStateArrays(arrays, statePath);
      agent.setOptimiserStates(optimiserStatesFrom(arrays, stateJson.optimisers));
      buffer = ReplayBuffer.load(join(outDir, stateJson.files.replay));
      if (buffer.total !== stateJson.step) throw new UserError(`${outDir}: ${stateJson.files.replay} holds ${buffer.total} steps but state.json is at step ${stateJson.step}`);
      st = stateJson;
      checkpoints = readCheckpoints(outDir).filter((c) => c.step <= st.step);
      log(`behaviour: resuming ${settings.env} at step ${st.step} (episode ${st.episode})`);
    } else {
      mkdirSync(join(outDir, "policies"), { recursive: true });
      writeJsonAtomic(join(outDir, "run.json"), settings);
      buffer = new ReplayBuffer({ obsDim, actDim, nq: env.sim.nq, nv: env.sim.nv, capacity: settings.sac.replaySize });
      st = {
        step: 0,
        updates: 0,
        episode: 0,
        episodeStartRow: 0,
        actRng: root.split("act").getState(),
        updateRng: root.split("update").getState(),
        optimisers: { actor: { step: 0 }, critic: { step: 0 }, alpha: { step: 0 } },
        wallSeconds: 0,
        files: { state: "", replay: "" },
      };
      checkpoints = [];
      log(`behaviour: new SAC run on ${settings.env}, seed ${settings.seed}, in ${outDir}`);
    }

    const actRng = Rng.fromState(st.actRng);
    const updateRng = Rng.fromState(st.updateRng);
    let obs = env.reset({ seed: episodeSeed(settings.seed, st.episode) });
    let episodeReturn = 0;
    // Rebuild the episode in progress: replay its stored actions from the same reset.
    for (let row = st.episodeStartRow; row < st.step; row++) {
      const r = env.step(buffer.row("act", row));
      obs = r.obs as Float32Array;
      episodeReturn += r.reward;
    }
    if (st.step > st.episodeStartRow) {
      const stored = buffer.row("next_obs", st.step - 1);
      if (!obs.every((v, i) => v === stored[i])) throw new Error(`${outDir}: the rebuilt episode does not match the stored transitions (non-deterministic simulation?)`);
    }

    const started = performance.now();
    let windowStart = { time: started, step: st.step };
    const wallBase = st.wallSeconds;
    let lastLosses: SacLosses | null = checkpoints.at(-1)?.losses ?? null;
    let finished: number[] = [];
    const logEvery = Math.max(1, Math.floor(settings.checkpointEvery / 4));

    while (st.step < opts.steps) {
      const qpos = env.sim.qpos();
      const qvel = env.sim.qvel();
      let action: Float32Array;
      let logProb: number;
      if (st.step < settings.randomSteps) {
        action = new Float32Array(actDim).map(() => actRng.uniformRange(-1, 1));
        logProb = -actDim * Math.log(2);
      } else {
        ({ action, logProb } = agent.act(obs, actRng));
      }
      const r = env.step(action);
      const next = r.obs as Float32Array;
      buffer.add({ obs, act: action, rew: r.reward, nextObs: next, terminal: r.terminated, timeout: r.truncated, qpos, qvel, logProb });
      episodeReturn += r.reward;
      st.step++;
      obs = next;
      if (r.terminated || r.truncated) {
        finished.push(episodeReturn);
        episodeReturn = 0;
        st.episode++;
        st.episodeStartRow = st.step;
        obs = env.reset({ seed: episodeSeed(settings.seed, st.episode) });
      }
      if (buffer.size >= settings.updateAfter) {
        for (let u = 0; u < settings.sac.updatesPerStep; u++) {
          lastLosses = agent.update(buffer.sample(settings.sac.batchSize, updateRng), updateRng);
          st.updates++;
        }
      }
      if (st.step % logEvery === 0 && st.step % settings.checkpointEvery !== 0) {
        const now = performance.now();
        const rate = (1000 * (st.step - windowStart.step)) / (now - windowStart.time);
        windowStart = { time: now, step: st.step };
        log(`behaviour: step ${st.step}/${opts.steps}  episodes ${st.episode}  ${rate.toFixed(1)} steps/s  q ${lastLosses?.q.toFixed(1) ?? "-"}  alpha ${lastLosses?.alpha.toFixed(3) ?? "-"}`);
      }
      if (st.step % settings.checkpointEvery === 0) {
        const ev = evaluateAgent(agent, evalEnv, settings.evalEpisodes);
        st.actRng = actRng.getState();
        st.updateRng = updateRng.getState();
        st.wallSeconds = wallBase + (performance.now() - started) / 1000;
        const entry: CheckpointEntry = {
          step: st.step,
          updates: st.updates,
          episodes: st.episode,
          evalReturn: mean(ev.returns),
          evalReturns: ev.returns,
          evalLength: ev.meanLength,
          trainReturn: mean(finished),
          losses: lastLosses,
          policy: policyPath(outDir, st.step).slice(outDir.length + 1),
          wallSeconds: st.wallSeconds,
        };
        finished = [];
        saveCheckpoint(outDir, agent, buffer, st, entry, checkpoints);
        log(`behaviour: checkpoint ${st.step}  eval return ${entry.evalReturn.toFixed(1)} (len ${ev.meanLength.toFixed(0)})  train return ${entry.trainReturn.toFixed(1)}  ${(st.wallSeconds / 60).toFixed(1)} min`);
      }
    }
    return checkpoints;
  } finally {
    agent.dispose();
    env.close();
    evalEnv.close();
  }
}

function saveCheckpoint(outDir: string, agent: SacAgent, buffer: ReplayBuffer, st: TrainState, entry: CheckpointEntry, checkpoints: CheckpointEntry[]): void {
  saveArrays(policyPath(outDir, st.step), agent.policyArrays());
  const opt = agent.optimiserStates();
  st.optimisers = { actor: { step: opt.actor.step }, critic: { step: opt.critic.step }, alpha: { step: opt.alpha.step } };
  const previous = st.files;
  const tag = String(st.step).padStart(7, "0");
  st.files = { state: `state-${tag}.bin`, replay: `replay-${tag}.bin` };
  buffer.save(join(outDir, st.files.replay));
  saveArrays(join(outDir, st.files.state), new Map([...agent.stateArrays(), ...optimiserArrays(opt)]));
  // The entry goes in before the commit point: a resume drops entries past the committed step.
  checkpoints.push(entry);
  writeJsonAtomic(join(outDir, "checkpoints.json"), checkpoints);
  writeJsonAtomic(join(outDir, "state.json"), st);
  // Only once the new state.json is in place are the previous checkpoint's files unreferenced.
  for (const f of [previous.state, previous.replay]) if (f !== "" && !Object.values(st.files).includes(f)) rmSync(join(outDir, f), { force: true });
}
