/**
 * Checkpoints: one directory holding everything a run needs to continue exactly where it stopped.
 *
 *   model.bin        model parameters ("param/…") and model optimiser moments ("opt/<name>/m|v/…")
 *   agent.bin        agent parameters and optimiser moments (absent in a model-only checkpoint)
 *   state.json       phase, step counters, optimiser step counts, RNG states, dims, dataset
 *   config.json      the resolved run config
 *   obs-stats.json   observation mean/std used to normalise (null for images or obsNorm off)
 *
 * Atomicity: the directory is written under a temp name beside the target and swapped in by rename; the previous
 * checkpoint is moved to `<dir>.old` first and removed last, so a crash leaves one complete checkpoint (the loader
 * falls back to `<dir>.old` when `<dir>` is missing).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { tf } from "../engine/tf.js";
import type { RngState } from "../engine/rng.js";
import { assignArrays, loadArrays, saveArrays, variablesToArrays, type NamedArray } from "../engine/serialize.js";
import { writeJsonAtomic } from "../util/atomic.js";
import { UserError } from "../errors.js";
import { upgradeConfig, validateConfig, type ClapConfig } from "../config/schema.js";
import { obsStatsFromJson, obsStatsToJson, type ObsStats } from "../data/store.js";
import type { ModelDims } from "../models/latent-action-model.js";
import type { ParamGroup } from "./algorithm.js";

export const CHECKPOINT_FORMAT = "clap-rl-checkpoint-v1";

export type Phase = "model" | "agent" | "done";

export interface CheckpointState {
  format: typeof CHECKPOINT_FORMAT;
  algo: string;
  /** The phase that continues on resume ("done" when training finished). */
  phase: Phase;
  modelStep: number;
  agentStep: number;
  dims: ModelDims;
  dataset: { name: string; path: string };
  /** Groups stored in this checkpoint ("model", "agent"). */
  groups: string[];
  /** Adam step counts, keyed "<group>/<optimiser>". */
  optimiserSteps: Record<string, number>;
  rng: Record<string, RngState>;
  savedAt: string;
}

export interface CheckpointInput {
  state: Omit<CheckpointState, "format" | "groups" | "optimiserSteps" | "savedAt">;
  groups: Record<string, ParamGroup>;
  config: ClapConfig;
  obsStats: ObsStats | null;
}

export function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new UserError(`cannot read '${path}'`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UserError(`'${path}' is not valid JSON (${(e as Error).message})`);
  }
}

export function saveCheckpoint(dir: string, input: CheckpointInput): void {
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const optimiserSteps: Record<string, number> = {};
  for (const [group, g] of Object.entries(input.groups)) {
    const arrays = variablesToArrays(g.params, "param/");
    for (const [name, opt] of Object.entries(g.optimisers)) {
      const st = opt.getState();
      optimiserSteps[`${group}/${name}`] = st.step;
      for (const slot of ["m", "v"] as const) {
        for (const [p, data] of Object.entries(st[slot])) {
          arrays.set(`opt/${name}/${slot}/${p}`, { shape: [data.length], data });
        }
      }
    }
    saveArrays(join(tmp, `${group}.bin`), arrays);
  }
  const state: CheckpointState = {
    format: CHECKPOINT_FORMAT,
    ...input.state,
    groups: Object.keys(input.groups),
    optimiserSteps,
    savedAt: new Date().toISOString(),
  };
  writeJsonAtomic(join(tmp, "config.json"), input.config);
  writeJsonAtomic(join(tmp, "obs-stats.json"), input.obsStats ? obsStatsToJson(input.obsStats) : null);
  // state.json last: its presence marks a complete directory.
  writeJsonAtomic(join(tmp, "state.json"), state);
  const old = `${dir}.old`;
  rmSync(old, { recursive: true, force: true });
  if (existsSync(dir)) renameSync(dir, old);
  renameSync(tmp, dir);
  rmSync(old, { recursive: true, force: true });
}

/**
 * A checkpoint directory from a checkpoint or a run directory. For a run directory, `prefer: "checkpoint"` takes its
 * latest checkpoint (else its saved model) and `prefer: "model"` its phase-1 model (else its latest checkpoint).
 */
export function resolveCheckpointDir(path: string, prefer: "checkpoint" | "model" = "checkpoint"): string {
  const latest = [join(path, "checkpoint"), `${join(path, "checkpoint")}.old`];
  const model = [join(path, "model"), `${join(path, "model")}.old`];
  const order = [path, ...(prefer === "checkpoint" ? [...latest, ...model] : [...model, ...latest]), `${path}.old`];
  for (const candidate of order) {
    if (existsSync(join(candidate, "state.json"))) return candidate;
  }
  throw new UserError(`no checkpoint in '${path}' (expected state.json there or in its checkpoint/ or model/ folder)`);
}

export class LoadedCheckpoint {
  private readonly arrays = new Map<string, Map<string, NamedArray>>();

  constructor(
    readonly dir: string,
    readonly state: CheckpointState,
    readonly config: ClapConfig,
    readonly obsStats: ObsStats | null,
  ) {}

  get dims(): ModelDims {
    return this.state.dims;
  }

  hasGroup(group: string): boolean {
    return this.state.groups.includes(group);
  }

  private groupArrays(group: string): Map<string, NamedArray> {
    if (!this.hasGroup(group)) throw new UserError(`${this.dir}: checkpoint has no '${group}' parameters`);
    let a = this.arrays.get(group);
    if (!a) {
      a = loadArrays(join(this.dir, `${group}.bin`));
      this.arrays.set(group, a);
    }
    return a;
  }

  /** Assigns stored values to these (already prefixed) parameters of a group. */
  restoreParams(group: string, params: Map<string, tf.Variable>): void {
    assignArrays(params, this.groupArrays(group), "param/", `${this.dir}/${group}.bin`);
  }

  /** Restores a group's parameters and its optimisers' moments and step counts. */
  restoreGroup(group: string, g: ParamGroup): void {
    this.restoreParams(group, g.params);
    const arrays = this.groupArrays(group);
    for (const [name, opt] of Object.entries(g.optimisers)) {
      const step = this.state.optimiserSteps[`${group}/${name}`];
      if (step === undefined) throw new UserError(`${this.dir}: no state for optimiser '${group}/${name}'`);
      // Optimiser moments are keyed by the optimiser's own parameter names, which need not match the group's.
      const m: Record<string, Float32Array> = {};
      const v: Record<string, Float32Array> = {};
      for (const [key, a] of arrays) {
        for (const [slot, out] of [
          ["m", m],
          ["v", v],
        ] as const) {
          const prefix = `opt/${name}/${slot}/`;
          if (key.startsWith(prefix)) out[key.slice(prefix.length)] = a.data;
        }
      }
      opt.setState({ step, m, v });
    }
  }
}

export function loadCheckpoint(path: string, prefer: "checkpoint" | "model" = "checkpoint"): LoadedCheckpoint {
  const dir = resolveCheckpointDir(path, prefer);
  const state = readJson(join(dir, "state.json")) as CheckpointState;
  if (state?.format !== CHECKPOINT_FORMAT) throw new UserError(`${dir}/state.json: not a ${CHECKPOINT_FORMAT} checkpoint`);
  const config = readJson(join(dir, "config.json"));
  upgradeConfig(config);
  validateConfig(config, `${dir}/config.json`);
  const statsJson = readJson(join(dir, "obs-stats.json"));
  const obsStats = statsJson === null ? null : obsStatsFromJson(statsJson, `${dir}/obs-stats.json`);
  return new LoadedCheckpoint(dir, state, config, obsStats);
}
