/**
 * Policy evaluation (docs/design/method.md §14): `evaluate(spec, envId, { episodes, seed, workers, envOptions, onEpisode })`.
 *
 * Reproducibility: episode i always uses the seeds `episodeSeeds(seed, i)`, one for the environment's reset and
 * one for `policy.reset`, and each episode starts from a fresh reset, so an episode's result depends only on
 * (policy, env, seed, i). The same seeds therefore give the same returns whatever the worker count, in-process
 * included, and the first k episodes of a longer evaluation equal a k-episode evaluation.
 *
 * Parallelism: `workers` ≥ 1 runs episodes on that many `worker_threads` (each loads the policy with
 * `loadPolicy` and makes its own env); episodes are handed out one at a time as workers free up. `workers: 0`
 * runs in the calling thread. A failure in a worker (policy load, env, a throwing `act`, a crashed thread)
 * rejects with an error naming the worker and the episode; a UserError stays a UserError. Workers are always
 * terminated, on success and on failure.
 *
 * `maxSteps` caps every episode's length (a capped episode counts as truncated), in workers and in-process alike.
 *
 * Results: per-episode returns, lengths, success (environments that report `info.success`, i.e. antmaze: true
 * when any step succeeded), normalised scores (scores.ts; null for environments without reference constants),
 * and mean ± std (population std, as numpy's default that D4RL-style reports use).
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import type { Env } from "../envs/env.js";
import { envInfo, makeEnv, type EnvOptions } from "../envs/registry.js";
import { Rng } from "../engine/rng.js";
import { UserError } from "../errors.js";
import { loadPolicy, type Policy, type PolicySpec } from "./policy.js";
import { normalizedScore100, scoreReference } from "./scores.js";

export interface EvaluateOptions {
  episodes: number;
  /** Base seed; episode i uses `episodeSeeds(seed, i)`. */
  seed: number;
  /** Worker threads (0 = run in this thread). Default: min(episodes, available CPUs). */
  workers?: number;
  /** Options for `makeEnv` (structured-cloneable: they are sent to the workers). */
  envOptions?: EnvOptions;
  /**
   * Cap on the steps of each episode (0 or absent: the environment's own limit). A capped episode ends truncated;
   * short evaluations keep smoke runs and tests fast without changing the environment.
   */
  maxSteps?: number;
  /** Called once per finished episode, in completion order (which varies with the worker count). */
  onEpisode?: (episode: EpisodeResult) => void;
}

export interface EpisodeSeeds {
  env: number;
  policy: number;
}

/** What one episode produced; `normalizedScore` is filled in by `evaluate`. */
export interface EpisodeResult {
  index: number;
  seeds: EpisodeSeeds;
  return: number;
  length: number;
  terminated: boolean;
  truncated: boolean;
  /** Only for environments that report `info.success` (antmaze). */
  success?: boolean;
  normalizedScore: number | null;
}

export interface EvaluationResult {
  envId: string;
  seed: number;
  episodes: EpisodeResult[];
  returns: number[];
  lengths: number[];
  /** Per-episode success, or null when the environment reports none. */
  successes: boolean[] | null;
  /** Per-episode normalised scores (0–100), or null when the environment has no reference constants. */
  normalizedScores: number[] | null;
  returnMean: number;
  returnStd: number;
  lengthMean: number;
  normalizedMean: number | null;
  normalizedStd: number | null;
  successRate: number | null;
}

/** The env and policy seeds of episode `index` under base seed `seed`. */
export function episodeSeeds(seed: number, index: number): EpisodeSeeds {
  const episode = new Rng(seed).split(`evaluation-episode-${index}`);
  return { env: episode.split("env").nextU32(), policy: episode.split("policy").nextU32() };
}

/** Runs one episode from a seeded reset, to its end or `maxSteps` (0: no cap); the caller owns env and policy. */
export function runEpisode(env: Env, policy: Policy, index: number, seeds: EpisodeSeeds, maxSteps = 0): EpisodeResult {
  let obs = env.reset({ seed: seeds.env });
  policy.reset(seeds.policy);
  let ret = 0;
  let length = 0;
  let success: boolean | undefined;
  for (;;) {
    const step = env.step(policy.act(obs));
    ret += step.reward;
    length++;
    if (typeof step.info.success === "boolean") success = success === true || step.info.success;
    const capped = maxSteps > 0 && length >= maxSteps;
    if (step.terminated || step.truncated || capped) {
      const result: EpisodeResult = { index, seeds, return: ret, length, terminated: step.terminated, truncated: step.truncated || !step.terminated, normalizedScore: null };
      if (success !== undefined) result.success = success;
      return result;
    }
    obs = step.obs;
  }
}

/** Data each worker starts with (worker.ts). */
export interface WorkerInit {
  spec: PolicySpec;
  envId: string;
  envOptions: EnvOptions;
  maxSteps: number;
}

/** Messages between `evaluate` and its workers. */
export type ToWorker = { type: "run"; index: number; seeds: EpisodeSeeds };
export type FromWorker =
  | { type: "ready" }
  | { type: "result"; result: EpisodeResult }
  | { type: "error"; index: number | null; name: string; message: string; stack?: string };

function checkInt(what: string, v: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(v) || v < min || v > max) throw new UserError(`evaluate: ${what} must be an integer in [${min}, ${max}], got ${v}`);
}

export async function evaluate(spec: PolicySpec, envId: string, options: EvaluateOptions): Promise<EvaluationResult> {
  const info = envInfo(envId);
  checkInt("episodes", options.episodes, 1);
  checkInt("seed", options.seed, 0, 0xffffffff);
  const requested = options.workers ?? availableParallelism();
  checkInt("workers", requested, 0);
  const workers = Math.min(requested, options.episodes);
  const envOptions = options.envOptions ?? {};
  const maxSteps = options.maxSteps ?? 0;
  checkInt("maxSteps", maxSteps, 0);
  const scored = scoreReference(info.id) !== null;
  const report = (r: EpisodeResult): EpisodeResult => {
    r.normalizedScore = scored ? normalizedScore100(envId, r.return) : null;
    options.onEpisode?.(r);
    return r;
  };
  const episodes =
    workers === 0
      ? await runInProcess({ spec, envId, envOptions, maxSteps }, options.episodes, options.seed, report)
      : await runInWorkers({ spec, envId, envOptions, maxSteps }, options.episodes, options.seed, workers, report);
  return summarise(envId, options.seed, episodes);
}

async function runInProcess(init: WorkerInit, episodes: number, seed: number, report: (r: EpisodeResult) => EpisodeResult): Promise<EpisodeResult[]> {
  const env = await makeEnv(init.envId, init.envOptions);
  let policy: Policy | null = null;
  try {
    policy = await loadPolicy(init.spec, { obsShape: [...env.observationSpace.shape], actDim: env.actionSpace.dim });
    const results: EpisodeResult[] = [];
    for (let i = 0; i < episodes; i++) results.push(report(runEpisode(env, policy, i, episodeSeeds(seed, i), init.maxSteps)));
    return results;
  } finally {
    policy?.dispose();
    env.close();
  }
}

function workerError(k: number, msg: Extract<FromWorker, { type: "error" }>): Error {
  const where = msg.index === null ? `evaluation worker ${k} failed to start` : `evaluation worker ${k} failed on episode ${msg.index}`;
  if (msg.name === "UserError") return new UserError(msg.message);
  const err = new Error(`${where}: ${msg.message}`);
  if (msg.stack !== undefined) err.stack = `${err.name}: ${err.message}\n[worker stack]\n${msg.stack}`;
  return err;
}

async function runInWorkers(
  init: WorkerInit,
  episodes: number,
  seed: number,
  count: number,
  report: (r: EpisodeResult) => EpisodeResult,
): Promise<EpisodeResult[]> {
  const url = new URL("./worker.js", import.meta.url);
  const pool: Worker[] = [];
  try {
    return await new Promise<EpisodeResult[]>((resolve, reject) => {
      const results: EpisodeResult[] = new Array(episodes);
      let next = 0;
      let finished = 0;
      let settled = false;
      const fail = (e: unknown): void => {
        if (settled) return;
        settled = true;
        reject(e);
      };
      const dispatch = (w: Worker): void => {
        if (next >= episodes) return;
        const index = next++;
        w.postMessage({ type: "run", index, seeds: episodeSeeds(seed, index) } satisfies ToWorker);
      };
      for (let k = 0; k < count; k++) {
        const w = new Worker(url, { workerData: init });
        pool.push(w);
        w.on("message", (msg: FromWorker) => {
          if (settled) return;
          if (msg.type === "error") return fail(workerError(k, msg));
          if (msg.type === "result") {
            try {
              results[msg.result.index] = report(msg.result);
            } catch (e) {
              return fail(e);
            }
            if (++finished === episodes) {
              settled = true;
              return resolve(results);
            }
          }
          dispatch(w);
        });
        w.on("error", (e) => fail(new Error(`evaluation worker ${k} crashed: ${e.message}`, { cause: e })));
        w.on("exit", (code) => fail(new Error(`evaluation worker ${k} exited (code ${code}) before the evaluation finished`)));
      }
    });
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
  }
}

function meanStd(xs: number[]): { mean: number; std: number } {
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  const variance = xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length;
  return { mean, std: Math.sqrt(variance) };
}

function summarise(envId: string, seed: number, episodes: EpisodeResult[]): EvaluationResult {
  const returns = episodes.map((e) => e.return);
  const lengths = episodes.map((e) => e.length);
  const successes = episodes.every((e) => e.success !== undefined) ? episodes.map((e) => e.success === true) : null;
  const normalizedScores = episodes.every((e) => e.normalizedScore !== null) ? episodes.map((e) => e.normalizedScore as number) : null;
  const r = meanStd(returns);
  const n = normalizedScores === null ? null : meanStd(normalizedScores);
  return {
    envId,
    seed,
    episodes,
    returns,
    lengths,
    successes,
    normalizedScores,
    returnMean: r.mean,
    returnStd: r.std,
    lengthMean: meanStd(lengths).mean,
    normalizedMean: n?.mean ?? null,
    normalizedStd: n?.std ?? null,
    successRate: successes === null ? null : successes.filter(Boolean).length / successes.length,
  };
}
