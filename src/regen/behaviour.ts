/**
 * Behaviour-policy training (docs/design/datasets.md §6.1): online SAC in a project environment, with a checkpoint and an
 * evaluation every `checkpointEvery` environment steps, so the medium checkpoint can be chosen afterwards, and
 * the whole replay buffer kept in order for medium-replay.
 *
 * Run directory:
 * - `run.json`          settings fixed at creation (env, seed, SAC config, schedule); a resume must match them;
 * - `checkpoints.json`  one entry per checkpoint: step, evaluation returns, normalised score, losses;
 * - `policies/step-NNNNNNN.bin`  actor weights of every checkpoint (small; what a dataset needs);
 * - `checkpoint/`       the latest checkpoint in the one format every run uses (src/algorithms/checkpoint.ts):
 *   `agent.bin` (actor, critics, targets, temperature and their optimisers), `replay.bin` (the replay buffer, oldest
 *   row first), the RNG streams and the loop's counters in `state.json`. It is swapped in whole and checksummed, so a
 *   crash mid-checkpoint leaves the previous one.
 *
 * Evaluation at each checkpoint is the one evaluator's (src/eval/evaluate.ts) on the checkpoint's policy file, so a
 * behaviour policy is scored exactly as `clap-rl eval` and the dataset cards score it.
 *
 * Resume is exact: episodes are reset with seeds derived from the run seed and the episode index, so the
 * episode in progress at the checkpoint is rebuilt by resetting with its seed and replaying its stored actions
 * (MuJoCo is deterministic); the rebuilt observation is checked against the stored one.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Rng } from "../engine/rng.js";
import { saveArrays } from "../engine/serialize.js";
import { resolveSacConfig, SacAgent, sacPolicySpec, type SacConfig, type SacLosses } from "../algorithms/sac.js";
import { makeEnv } from "../envs/registry.js";
import type { MujocoEnv } from "../envs/mujoco-env.js";
import { evaluate } from "../eval/evaluate.js";
import { loadCheckpointWith, saveCheckpoint, type LoadedCheckpoint } from "../algorithms/checkpoint.js";
import { ReplayBuffer } from "../algorithms/replay.js";
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
  /** D4RL-normalised mean score of the evaluation (null for environments without reference constants). */
  evalScore: number | null;
  /** Mean return of the training episodes finished since the previous checkpoint (NaN if none). */
  trainReturn: number;
  losses: SacLosses | null;
  policy: string;
  wallSeconds: number;
}

/** The `algo` of a behaviour run's checkpoint: not an offline algorithm, so it is in no registry. */
const BEHAVIOUR_ALGO = "sac-behaviour";

type BehaviourConfig = BehaviourSettings & { algo: typeof BEHAVIOUR_ALGO };

/** The loop's counters, kept in the checkpoint's state.json (`loop`). */
interface LoopCounters {
  step: number;
  updates: number;
  episode: number;
  episodeStartRow: number;
  wallSeconds: number;
}

function validateBehaviourConfig(raw: unknown, where: string): BehaviourConfig {
  if ((raw as { algo?: unknown } | null)?.algo !== BEHAVIOUR_ALGO) throw new UserError(`${where}: not the config of a behaviour run (algo is not "${BEHAVIOUR_ALGO}")`);
  return raw as BehaviourConfig;
}

/** The latest checkpoint of a behaviour run, or one line saying why there is none. */
function loadBehaviourCheckpoint(outDir: string): LoadedCheckpoint<BehaviourConfig> {
  if (existsSync(join(outDir, "state.json")) && !existsSync(join(outDir, "checkpoint"))) {
    throw new UserError(`${outDir}: a behaviour run in the format of clap-rl before its checkpoints were unified (state.json at the top); this version cannot continue it — start a new run`);
  }
  return loadCheckpointWith(outDir, validateBehaviourConfig, "resume");
}

/** The replay buffer of the run's latest checkpoint (what medium-replay's log is written from). */
export function readReplay(outDir: string): ReplayBuffer {
  const ckpt = loadBehaviourCheckpoint(outDir);
  return ReplayBuffer.fromArrays(ckpt.extraArrays("replay"), join(ckpt.dir, "replay.bin"));
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

/** Base seed of the checkpoint evaluations (src/eval/evaluate.ts derives each episode's seeds from it). */
const EVAL_SEED = 1_000_000;

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

const mean = (xs: number[]) => (xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length);

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
  const obsDim = env.observationSpace.shape[0];
  const actDim = env.actionSpace.dim;
  const root = new Rng(settings.seed);
  const agent = new SacAgent(obsDim, actDim, root.split("init"), settings.sac);
  let buffer: ReplayBuffer;
  let st: LoopCounters;
  let actRng: Rng;
  let updateRng: Rng;
  let checkpoints: CheckpointEntry[];
  try {
    if (opts.resume) {
      const ckpt = loadBehaviourCheckpoint(outDir);
      ckpt.restoreGroup("agent", agent.group());
      buffer = ReplayBuffer.fromArrays(ckpt.extraArrays("replay"), join(ckpt.dir, "replay.bin"));
      st = ckpt.state.loop as unknown as LoopCounters;
      if (buffer.total !== st.step) throw new UserError(`${ckpt.dir}: replay.bin holds ${buffer.total} steps but state.json is at step ${st.step}`);
      actRng = Rng.fromState(ckpt.state.rng.act);
      updateRng = Rng.fromState(ckpt.state.rng.update);
      checkpoints = readCheckpoints(outDir).filter((c) => c.step <= st.step);
      log(`behaviour: resuming ${settings.env} at step ${st.step} (episode ${st.episode})`);
    } else {
      mkdirSync(join(outDir, "policies"), { recursive: true });
      writeJsonAtomic(join(outDir, "run.json"), settings);
      buffer = new ReplayBuffer({ obsDim, actDim, nq: env.sim.nq, nv: env.sim.nv, capacity: settings.sac.replaySize });
      st = { step: 0, updates: 0, episode: 0, episodeStartRow: 0, wallSeconds: 0 };
      actRng = root.split("act");
      updateRng = root.split("update");
      checkpoints = [];
      log(`behaviour: new SAC run on ${settings.env}, seed ${settings.seed}, in ${outDir}`);
    }

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
        const policy = policyPath(outDir, st.step);
        saveArrays(policy, agent.policyArrays());
        const ev = await evaluate(sacPolicySpec(policy), settings.env, { episodes: settings.evalEpisodes, seed: EVAL_SEED, workers: 0 });
        st.wallSeconds = wallBase + (performance.now() - started) / 1000;
        const entry: CheckpointEntry = {
          step: st.step,
          updates: st.updates,
          episodes: st.episode,
          evalReturn: ev.returnMean,
          evalReturns: ev.returns,
          evalLength: ev.lengthMean,
          evalScore: ev.normalizedMean,
          trainReturn: mean(finished),
          losses: lastLosses,
          policy: policy.slice(outDir.length + 1),
          wallSeconds: st.wallSeconds,
        };
        finished = [];
        // The entry goes in before the checkpoint: a resume drops entries past the checkpoint's step.
        checkpoints.push(entry);
        writeJsonAtomic(join(outDir, "checkpoints.json"), checkpoints);
        saveCheckpoint(join(outDir, "checkpoint"), {
          state: {
            algo: BEHAVIOUR_ALGO,
            phase: "agent",
            modelStep: 0,
            agentStep: st.updates,
            dims: { obsDim, actDim },
            dataset: { name: `online:${settings.env}`, path: "" },
            rng: { act: actRng.getState(), update: updateRng.getState() },
            loop: { ...st },
          },
          groups: { agent: agent.group() },
          config: { algo: BEHAVIOUR_ALGO, ...settings },
          obsStats: null,
          arrays: { replay: buffer.toArrays() },
        });
        const score = ev.normalizedMean === null ? "" : `  score ${ev.normalizedMean.toFixed(1)}`;
        log(`behaviour: checkpoint ${st.step}  eval return ${entry.evalReturn.toFixed(1)}${score} (len ${ev.lengthMean.toFixed(0)})  train return ${entry.trainReturn.toFixed(1)}  ${(st.wallSeconds / 60).toFixed(1)} min`);
      }
    }
    return checkpoints;
  } finally {
    agent.dispose();
    env.close();
  }
}
