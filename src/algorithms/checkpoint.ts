/**
 * Checkpoints, one format for every algorithm and for the online behaviour SAC runs of dataset regeneration
 * (src/regen/behaviour.ts): one directory holding everything a run needs to continue exactly where it stopped.
 * Parameters are grouped by phase ("model", "agent"); which parameters a group holds is the algorithm's business.
 *
 *   model.bin        model parameters ("param/…") and model optimiser moments ("opt/<name>/m|v/…")
 *   agent.bin        agent parameters and optimiser moments (absent in a model-only checkpoint)
 *   state.json       phase, step counters, optimiser step counts, RNG states, dims, dataset
 *   config.json      the resolved run config
 *   obs-stats.json   observation mean/std used to normalise (null for images or obsNorm off)
 *   <name>.bin       further tensor files a loop keeps beside its parameters (a behaviour run's replay buffer)
 *
 * Atomicity: the directory is written under a temp name beside the target and swapped in by rename; the previous
 * checkpoint is moved to `<dir>.old` first and removed last, so a crash leaves one complete checkpoint (the loader
 * falls back to `<dir>.old` when `<dir>` is missing).
 *
 * Integrity (issue 12): state.json records the SHA-256 of every other file and of its own content, and loading
 * verifies them all before anything is restored, so a damaged or edited checkpoint is one line naming the file, never
 * a resume with wrong numbers. Checkpoints written before checksums existed load unverified.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { tf } from "../engine/tf.js";
import type { RngState } from "../engine/rng.js";
import { assignArrays, encodeArrays, loadArrays, variablesToArrays, type NamedArray } from "../engine/serialize.js";
import { jsonText, writeFileAtomic, writeJsonAtomic } from "../util/atomic.js";
import { DAMAGED_CHECKPOINT_EXIT, fsError, isFsError, UserError } from "../errors.js";
import type { CommonConfig } from "../config/schema.js";
import { obsStatsFromJson, obsStatsToJson, type ObsStats } from "../data/store.js";
import type { ModelDims } from "../models/latent-action-model.js";
import type { ParamGroup } from "./plugin.js";
import type { PolicyContext } from "../eval/policy.js";

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
  /**
   * Counters of a loop other than the offline trainer's, which keeps its own in `modelStep`/`agentStep` (the online
   * behaviour SAC: environment step, episode, wall time).
   */
  loop?: Record<string, number>;
  savedAt: string;
  /** SHA-256 of each other file of the checkpoint, by file name (absent in checkpoints of older versions). */
  files?: Record<string, string>;
  /** SHA-256 of this state's JSON without this field (see stateChecksum). */
  checksum?: string;
}

/** What every saved config has: the name of the algorithm (or loop) it belongs to, checked against state.json. */
export interface SavedConfig {
  algo: string;
}

export interface CheckpointInput {
  state: Omit<CheckpointState, "format" | "groups" | "optimiserSteps" | "savedAt">;
  groups: Record<string, ParamGroup>;
  config: SavedConfig;
  obsStats: ObsStats | null;
  /** Further tensor files, `<name>.bin`, written and checksummed with the rest. */
  arrays?: Record<string, Map<string, NamedArray>>;
}

/** Checks (and upgrades) a saved config; throws one UserError line naming `where`. */
export type ConfigValidator<C> = (raw: unknown, where: string) => C;

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

function sha256(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * The checksum of a state: the hash of its JSON text without `checksum`. JSON.parse followed by JSON.stringify gives
 * back the same text for what JSON.stringify wrote, so the loader can recompute it from the parsed object.
 */
function stateChecksum(state: CheckpointState): string {
  const { checksum: _, ...rest } = state;
  return sha256(JSON.stringify(rest));
}

/**
 * Verifies a checkpoint's recorded checksums; throws one line naming the damaged file. `dir` holds the files; a state
 * without checksums (an older clap-rl's) is accepted as it is.
 */
function verifyChecksums(dir: string, state: CheckpointState): void {
  const damaged = (file: string, why: string) =>
    new UserError(`${join(dir, file)}: ${why}; the checkpoint is damaged and is not used (restore it from a copy, or start the run again with --force)`, DAMAGED_CHECKPOINT_EXIT);
  if (state.checksum === undefined) return;
  if (state.checksum !== stateChecksum(state)) throw damaged("state.json", "contents do not match its checksum");
  for (const [file, expected] of Object.entries(state.files ?? {})) {
    let data: Buffer;
    try {
      data = readFileSync(join(dir, file));
    } catch (e) {
      throw isFsError(e) && e.code !== "ENOENT" ? fsError(join(dir, file), "read the checkpoint file", e) : damaged(file, "is missing");
    }
    if (sha256(data) !== expected) throw damaged(file, "contents do not match the checksum recorded in state.json");
  }
}

export function saveCheckpoint(dir: string, input: CheckpointInput): void {
  // Temp folders of processes killed while saving are removed here; the run is locked, so none belongs to a live one.
  for (const name of existsSync(dirname(dir)) ? readdirSync(dirname(dir)) : []) {
    if (name.startsWith(`${basename(dir)}.tmp-`)) rmSync(join(dirname(dir), name), { recursive: true, force: true });
  }
  const tmp = `${dir}.tmp-${process.pid}`;
  mkdirSync(tmp, { recursive: true });
  const optimiserSteps: Record<string, number> = {};
  const files: Record<string, string> = {};
  const write = (file: string, data: string | Uint8Array) => {
    writeFileAtomic(join(tmp, file), data);
    files[file] = sha256(data);
  };
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
    write(`${group}.bin`, encodeArrays(arrays));
  }
  for (const [name, arrays] of Object.entries(input.arrays ?? {})) {
    if (name in input.groups) throw new Error(`checkpoint: '${name}.bin' would overwrite the parameter group of that name`);
    write(`${name}.bin`, encodeArrays(arrays));
  }
  write("config.json", jsonText(input.config));
  write("obs-stats.json", jsonText(input.obsStats ? obsStatsToJson(input.obsStats) : null));
  const state: CheckpointState = {
    format: CHECKPOINT_FORMAT,
    ...input.state,
    groups: Object.keys(input.groups),
    optimiserSteps,
    savedAt: new Date().toISOString(),
    files,
  };
  state.checksum = stateChecksum(state);
  // state.json last: its presence marks a complete directory.
  writeJsonAtomic(join(tmp, "state.json"), state);
  const old = `${dir}.old`;
  rmSync(old, { recursive: true, force: true });
  if (existsSync(dir)) renameSync(dir, old);
  renameSync(tmp, dir);
  rmSync(old, { recursive: true, force: true });
}

/** Which checkpoint of a run directory to load (see resolveCheckpointDir). */
export type CheckpointPreference = "checkpoint" | "model" | "resume";

/**
 * A checkpoint directory from a checkpoint or a run directory. For a run directory, `prefer: "checkpoint"` takes its
 * latest checkpoint (else its saved model) and `prefer: "model"` its phase-1 model (else its latest checkpoint).
 * `prefer: "resume"` takes the latest checkpoint only: the phase-1 model alone cannot continue a run.
 */
export function resolveCheckpointDir(path: string, prefer: CheckpointPreference = "checkpoint"): string {
  if (!existsSync(path)) throw new UserError(`'${path}': no such run or checkpoint folder`);
  const latest = [join(path, "checkpoint"), `${join(path, "checkpoint")}.old`];
  if (prefer === "resume") {
    const found = latest.find((c) => existsSync(join(c, "state.json")));
    if (found) return found;
    if (existsSync(latest[0])) throw new UserError(`${join(latest[0], "state.json")}: missing, so the checkpoint is incomplete and the run cannot continue from it (restore the file, or start the run again with --force)`);
    throw new UserError(`'${path}': no checkpoint to resume from (no checkpoint/state.json)`);
  }
  const model = [join(path, "model"), `${join(path, "model")}.old`];
  const order = [path, ...(prefer === "checkpoint" ? [...latest, ...model] : [...model, ...latest]), `${path}.old`];
  for (const candidate of order) {
    if (existsSync(join(candidate, "state.json"))) return candidate;
  }
  throw new UserError(`no checkpoint in '${path}' (expected state.json there or in its checkpoint/ or model/ folder)`);
}

export class LoadedCheckpoint<C extends SavedConfig = CommonConfig> {
  private readonly arrays = new Map<string, Map<string, NamedArray>>();

  constructor(
    readonly dir: string,
    readonly state: CheckpointState,
    readonly config: C,
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

  /** A tensor file saved with `CheckpointInput.arrays` (verified with the rest when the checkpoint was loaded). */
  extraArrays(name: string): Map<string, NamedArray> {
    const file = `${name}.bin`;
    if (this.state.files !== undefined && !(file in this.state.files)) throw new UserError(`${this.dir}: checkpoint has no '${file}'`);
    return loadArrays(join(this.dir, file));
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

/**
 * Loads a checkpoint's state, config and statistics (parameters are read on demand); `validate` checks the config
 * against its algorithm's schema (src/algorithms/registry.ts `loadCheckpoint` picks it from the saved algo).
 */
export function loadCheckpointWith<C extends SavedConfig>(path: string, validate: ConfigValidator<C>, prefer: CheckpointPreference = "checkpoint"): LoadedCheckpoint<C> {
  const dir = resolveCheckpointDir(path, prefer);
  const state = readJson(join(dir, "state.json")) as CheckpointState;
  if (state?.format !== CHECKPOINT_FORMAT) throw new UserError(`${dir}/state.json: not a ${CHECKPOINT_FORMAT} checkpoint`);
  verifyChecksums(dir, state);
  const config = validate(readJson(join(dir, "config.json")), `${dir}/config.json`);
  if (config.algo !== state.algo) throw new UserError(`${dir}: state.json is for algorithm '${state.algo}', config.json for '${config.algo}'`);
  const statsJson = readJson(join(dir, "obs-stats.json"));
  const obsStats = statsJson === null ? null : obsStatsFromJson(statsJson, `${dir}/obs-stats.json`);
  return new LoadedCheckpoint(dir, state, config, obsStats);
}

/** A policy loaded from `dir` must fit the environment it is evaluated in: one line naming both shapes otherwise. */
export function checkPolicyContext(dir: string, dims: ModelDims, ctx: PolicyContext | undefined): void {
  if (ctx && (ctx.actDim !== dims.actDim || ctx.obsShape.reduce((x, y) => x * y, 1) !== dims.obsDim)) {
    throw new UserError(
      `${dir}: the policy was trained for observations of ${dims.obsDim} values and ${dims.actDim} actions, the environment has [${ctx.obsShape}] and ${ctx.actDim}`,
    );
  }
}
