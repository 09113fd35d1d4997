/**
 * Collection protocol of the regenerated locomotion datasets (docs/design/datasets.md §6.2), written in D4RL v2 layout
 * (§2.1) with the §6.5 metadata.
 *
 * - random: uniform actions in [-1, 1]; medium / expert: actions *sampled* from the committed SAC policy, with
 *   their log-probabilities; 1000-step episodes (timeout on the 1000th step, terminal on an unhealthy state),
 *   reset and continue until N rows; the last episode may be cut ("file-end").
 * - medium-replay: the medium run's replay buffer from its start to the medium checkpoint, in order, re-simulated
 *   from the replay log committed beside the medium policy (run seed, actions, log-probabilities, rewards).
 * - medium-expert: medium truncated to its last complete episode, then expert, capped at N rows.
 *
 * Every random choice comes from `Rng(seed)` split by purpose, so the same seed gives byte-identical files.
 */
import { createRequire } from "node:module";
import { existsSync, readFileSync, statSync } from "node:fs";
import { createHash } from "node:crypto";
import { Rng } from "../engine/rng.js";
import { loadArrays, type NamedArray } from "../engine/serialize.js";
import { SacActor } from "../algorithms/sac.js";
import { envInfo, makeEnv } from "../envs/registry.js";
import type { MujocoEnv } from "../envs/mujoco-env.js";
import type { ScalarValue, WriteArray } from "../data/h5.js";
import { writeD4rl, type D4rlArrays } from "../data/d4rl.js";
import { writeJsonAtomic } from "../util/atomic.js";
import { episodeSeed } from "./behaviour.js";
import {
  cardPathFor,
  datasetPath,
  defaultSize,
  envIdWithSemantics,
  PROVENANCE_LABEL,
  REGEN_REVISION,
  sha256File,
  type DatasetName,
} from "../data/registry.js";
import { normalizedScore100, scoreReference } from "../eval/scores.js";
import { readPolicyCard, replayLogPath, type PolicyCard, type PolicyVariant } from "./policies.js";
import { UserError } from "../errors.js";

const require = createRequire(import.meta.url);
const pkg = require("../../../package.json") as { version: string; dependencies: Record<string, string> };

/** Rows of one collection, D4RL columns, row-major. */
export interface Rows {
  n: number;
  obs: Float32Array;
  act: Float32Array;
  rew: Float32Array;
  nextObs: Float32Array;
  terminals: Uint8Array;
  timeouts: Uint8Array;
  qpos: Float32Array;
  qvel: Float32Array;
  logProb: Float32Array;
}

export interface GenerateOptions {
  size?: number;
  seed: number;
  /** Folder of the committed policies (default: the package's assets/policies). */
  policyDir?: string;
  log?: (line: string) => void;
}

export interface Generated {
  arrays: D4rlArrays;
  /** §6.5 metadata, also written as root attributes of the file. */
  attrs: Record<string, ScalarValue>;
  rows: number;
  episodes: number;
  /** Returns of the complete episodes (terminal or timeout) and their mean normalised score. */
  returns: number[];
  normalizedMean: number | null;
}

function progress(log: ((l: string) => void) | undefined, what: string, total: number): (done: number) => void {
  const every = Math.max(1, Math.ceil(total / 10));
  return (done) => {
    if (log && (done % every === 0 || done === total)) log(`dataset make: ${what} ${done}/${total} rows (${Math.round((100 * done) / total)}%)`);
  };
}

/** One step's choice: the action to take and its behaviour log-probability. */
type Choose = (obs: Float32Array, row: number) => { action: Float32Array; logProb: number };

/**
 * Steps `envId` for `n` rows, resetting with `resetSeed(k)` at the start of episode k and whenever an episode ends
 * (terminal on an unhealthy state, timeout on its 1000th step); the last episode may be cut at row n.
 */
async function rollOut(envId: string, n: number, resetSeed: (episode: number) => number, choose: Choose, label: string, log?: (l: string) => void): Promise<Rows> {
  const env = (await makeEnv(envId, { seed: resetSeed(0) })) as MujocoEnv;
  try {
    const d = env.observationSpace.shape[0];
    const a = env.actionSpace.dim;
    const { nq, nv } = env.sim;
    const out: Rows = {
      n,
      obs: new Float32Array(n * d),
      act: new Float32Array(n * a),
      rew: new Float32Array(n),
      nextObs: new Float32Array(n * d),
      terminals: new Uint8Array(n),
      timeouts: new Uint8Array(n),
      qpos: new Float32Array(n * nq),
      qvel: new Float32Array(n * nv),
      logProb: new Float32Array(n),
    };
    const tick = progress(log, label, n);
    let episode = 0;
    let obs = env.reset({ seed: resetSeed(episode) }) as Float32Array;
    for (let i = 0; i < n; i++) {
      out.obs.set(obs, i * d);
      out.qpos.set(env.sim.qpos(), i * nq);
      out.qvel.set(env.sim.qvel(), i * nv);
      const { action, logProb } = choose(obs, i);
      out.act.set(action, i * a);
      out.logProb[i] = logProb;
      const r = env.step(action);
      out.rew[i] = r.reward;
      out.nextObs.set(r.obs, i * d);
      out.terminals[i] = r.terminated ? 1 : 0;
      out.timeouts[i] = r.truncated ? 1 : 0;
      obs = r.obs as Float32Array;
      if (r.terminated || r.truncated) {
        episode++;
        obs = env.reset({ seed: resetSeed(episode) }) as Float32Array;
      }
      tick(i + 1);
    }
    return out;
  } finally {
    env.close();
  }
}

/** Collects `n` rows in `env` with `actor` (sampled actions) or uniform random actions when `actor` is null. */
export async function collect(envId: string, n: number, seed: number, actor: SacActor | null, label: string, log?: (l: string) => void): Promise<Rows> {
  const root = new Rng(seed).split(label);
  const actRng = root.split("actions");
  const a = envInfo(envId).actionDim;
  const uniformLogProb = -a * Math.log(2);
  const choose: Choose =
    actor === null
      ? () => ({ action: new Float32Array(a).map(() => actRng.uniformRange(-1, 1)), logProb: uniformLogProb })
      : (obs) => actor.act(obs, actRng);
  return rollOut(envId, n, (k) => root.split(`episode/${k}`).nextU32() >>> 1, choose, label, log);
}

/** Rows [0, k) of a collection. */
function head(r: Rows, k: number): Rows {
  const per = (x: Float32Array | Uint8Array) => x.length / r.n;
  const cut = <T extends Float32Array | Uint8Array>(x: T): T => x.slice(0, k * per(x)) as T;
  return {
    n: k,
    obs: cut(r.obs),
    act: cut(r.act),
    rew: cut(r.rew),
    nextObs: cut(r.nextObs),
    terminals: cut(r.terminals),
    timeouts: cut(r.timeouts),
    qpos: cut(r.qpos),
    qvel: cut(r.qvel),
    logProb: cut(r.logProb),
  };
}

function concat(x: Rows, y: Rows): Rows {
  const cat = <T extends Float32Array | Uint8Array>(p: T, q: T): T => {
    const out = new (p.constructor as new (n: number) => T)(p.length + q.length);
    out.set(p);
    out.set(q, p.length);
    return out;
  };
  return {
    n: x.n + y.n,
    obs: cat(x.obs, y.obs),
    act: cat(x.act, y.act),
    rew: cat(x.rew, y.rew),
    nextObs: cat(x.nextObs, y.nextObs),
    terminals: cat(x.terminals, y.terminals),
    timeouts: cat(x.timeouts, y.timeouts),
    qpos: cat(x.qpos, y.qpos),
    qvel: cat(x.qvel, y.qvel),
    logProb: cat(x.logProb, y.logProb),
  };
}

/** Rows up to and including the last terminal or timeout (D4RL's stitch_dataset keeps whole episodes of medium). */
function truncateToLastEpisode(r: Rows): Rows {
  let k = r.n;
  while (k > 0 && r.terminals[k - 1] === 0 && r.timeouts[k - 1] === 0) k--;
  return head(r, k);
}

/** Episode count (complete episodes plus a trailing cut one) and the returns of the complete ones. */
export function episodeReturns(r: Pick<Rows, "n" | "rew" | "terminals" | "timeouts">): { episodes: number; returns: number[] } {
  const returns: number[] = [];
  let ret = 0;
  let open = false;
  for (let i = 0; i < r.n; i++) {
    ret += r.rew[i];
    open = true;
    if (r.terminals[i] || r.timeouts[i]) {
      returns.push(ret);
      ret = 0;
      open = false;
    }
  }
  return { episodes: returns.length + (open ? 1 : 0), returns };
}

/**
 * D4RL's metadata/policy/* keys from the actor file: fc0, fc1 (hidden layers), last_fc (mean head) and
 * last_fc_log_std, with weights in PyTorch's [out, in] layout.
 */
function d4rlPolicyMetadata(arrays: Map<string, NamedArray>, source: string): Record<string, WriteArray | ScalarValue> {
  const layers: NamedArray[][] = [];
  for (let i = 0; arrays.has(`actor/l${i}/w`); i++) layers.push([arrays.get(`actor/l${i}/w`)!, arrays.get(`actor/l${i}/b`)!]);
  if (layers.length !== 3 || layers.some(([, b]) => b === undefined)) throw new UserError(`${source}: expected a 2-hidden-layer SAC actor`);
  const transposeCols = (w: NamedArray, c0: number, c1: number): WriteArray => {
    const [rows, cols] = w.shape;
    const out = new Float32Array((c1 - c0) * rows);
    for (let c = c0; c < c1; c++) for (let r = 0; r < rows; r++) out[(c - c0) * rows + r] = w.data[r * cols + c];
    return { data: out, shape: [c1 - c0, rows] };
  };
  const meta: Record<string, WriteArray | ScalarValue> = {};
  for (let i = 0; i < 2; i++) {
    const [w, b] = layers[i];
    meta[`policy/fc${i}/weight`] = transposeCols(w, 0, w.shape[1]);
    meta[`policy/fc${i}/bias`] = { data: b.data, shape: [b.data.length] };
  }
  const [w, b] = layers[2];
  const A = w.shape[1] / 2;
  meta["policy/last_fc/weight"] = transposeCols(w, 0, A);
  meta["policy/last_fc/bias"] = { data: b.data.slice(0, A), shape: [A] };
  meta["policy/last_fc_log_std/weight"] = transposeCols(w, A, 2 * A);
  meta["policy/last_fc_log_std/bias"] = { data: b.data.slice(A), shape: [A] };
  meta["policy/nonlinearity"] = "relu";
  meta["policy/output_distribution"] = "tanh_gaussian";
  return meta;
}

function loadPolicy(env: string, variant: PolicyVariant, dir: string | undefined): { actor: SacActor; arrays: Map<string, NamedArray>; card: PolicyCard; bin: string } {
  const { bin, card } = readPolicyCard(env, variant, dir);
  const arrays = loadArrays(bin);
  return { actor: SacActor.fromArrays(arrays, bin), arrays, card, bin };
}

function checkSize(size: number | undefined, variant: string): void {
  if (size !== undefined && !(Number.isInteger(size) && size > 0)) throw new UserError(`--size must be a positive integer, got ${size} (${variant})`);
}

/** Builds a regenerated dataset in memory (the caller writes it). */
export async function generateDataset(name: DatasetName, o: GenerateOptions): Promise<Generated> {
  const { env, variant } = name;
  checkSize(o.size, variant);
  if (!(Number.isInteger(o.seed) && o.seed >= 0)) throw new UserError(`--seed must be a non-negative integer, got ${o.seed}`);
  const n = o.size ?? defaultSize(variant);
  let rows: Rows;
  let behaviour: Record<string, unknown> | null = null;
  let metadata: Record<string, WriteArray | ScalarValue> = {};
  const behaviourOf = (c: PolicyCard, expertReturn: number | null) => ({
    algorithm: "SAC",
    checkpointStep: c.checkpointStep,
    evalReturn: c.returnMean,
    expertReturn,
    trainingSeed: c.seed,
    policySha256: c.sha256,
  });
  switch (variant) {
    case "random":
      rows = await collect(env, n!, o.seed, null, "random", o.log);
      metadata = { algorithm: "random", iteration: 0 };
      break;
    case "medium":
    case "expert": {
      const p = loadPolicy(env, variant, o.policyDir);
      try {
        rows = await collect(env, n!, o.seed, p.actor, variant, o.log);
      } finally {
        p.actor.net.dispose();
      }
      const expertReturn = variant === "expert" ? p.card.returnMean : (p.card.selection.expertReturn ?? null);
      behaviour = behaviourOf(p.card, expertReturn);
      metadata = { algorithm: "SAC", iteration: p.card.checkpointStep, ...d4rlPolicyMetadata(p.arrays, p.bin) };
      break;
    }
    case "medium-replay": {
      const p = loadPolicy(env, "medium", o.policyDir);
      p.actor.net.dispose();
      rows = await replayRows(env, p.card, o.policyDir, o.size, o.log);
      behaviour = behaviourOf(p.card, p.card.selection.expertReturn ?? null);
      metadata = { algorithm: "SAC", iteration: p.card.checkpointStep };
      break;
    }
    case "medium-expert": {
      const m = loadPolicy(env, "medium", o.policyDir);
      const e = loadPolicy(env, "expert", o.policyDir);
      try {
        const half = Math.ceil(n! / 2);
        const medium = truncateToLastEpisode(await collect(env, half, o.seed, m.actor, "medium", o.log));
        const expert = await collect(env, n! - medium.n, o.seed, e.actor, "expert", o.log);
        rows = concat(medium, expert);
      } finally {
        m.actor.net.dispose();
        e.actor.net.dispose();
      }
      behaviour = { medium: behaviourOf(m.card, m.card.selection.expertReturn ?? null), expert: behaviourOf(e.card, e.card.returnMean) };
      metadata = { algorithm: "SAC", iteration: e.card.checkpointStep };
      break;
    }
  }
  const { episodes, returns } = episodeReturns(rows);
  const d = rows.obs.length / rows.n;
  const a = rows.act.length / rows.n;
  const nq = rows.qpos.length / rows.n;
  const nv = rows.qvel.length / rows.n;
  const attrs: Record<string, ScalarValue> = {
    protocol: "d4rl-v2",
    variant,
    dataset: name.id,
    envId: envIdWithSemantics(env),
    physics: { engine: `@mujoco/mujoco@${pkg.dependencies["@mujoco/mujoco"]}`, massModel: "legacy", islandDisabled: true },
    ...(behaviour ? { behaviour } : {}),
    seed: o.seed,
    rows: rows.n,
    episodes,
    generator: { name: "clap-rl", version: pkg.version, revision: `regen${REGEN_REVISION}` },
    label: PROVENANCE_LABEL,
  };
  const arrays: D4rlArrays = {
    observations: { data: rows.obs, shape: [rows.n, d] },
    actions: { data: rows.act, shape: [rows.n, a] },
    rewards: rows.rew,
    terminals: rows.terminals,
    timeouts: rows.timeouts,
    nextObservations: { data: rows.nextObs, shape: [rows.n, d] },
    infos: {
      qpos: { data: rows.qpos, shape: [rows.n, nq] },
      qvel: { data: rows.qvel, shape: [rows.n, nv] },
      action_log_probs: { data: rows.logProb, shape: [rows.n] },
    },
    metadata,
    attrs,
  };
  const scores = returns.map((r) => normalized(env, r)).filter((s): s is number => s !== null);
  const normalizedMean = scores.length === 0 ? null : scores.reduce((x, y) => x + y, 0) / scores.length;
  return { arrays, attrs, rows: rows.n, episodes, returns, normalizedMean };
}

/** Normalised 0–100 score of a return, or null for environments without reference constants. */
function normalized(env: string, ret: number): number | null {
  return scoreReference(env) === null ? null : normalizedScore100(env, ret);
}

/**
 * medium-replay rows, re-simulated from the committed replay log (see `writeReplayLog`): the run's episode resets
 * come from its seed (`episodeSeed`), its actions and log-probabilities from the log. The simulator is
 * deterministic wasm, so this reproduces the run's buffer exactly; every re-simulated reward is compared with the
 * buffer's, so a different simulator build fails loudly instead of yielding a silently different dataset.
 */
async function replayRows(env: string, card: PolicyCard, policyDir: string | undefined, size: number | undefined, log?: (l: string) => void): Promise<Rows> {
  const file = replayLogPath(env, policyDir);
  const replay = card.replay;
  if (replay === undefined || !existsSync(file)) {
    throw new UserError(`${env}/medium-replay needs the medium run's replay log ${file}; export it with "clap-rl behaviour export <run-dir> --variant medium"`);
  }
  const sha = sha256File(file);
  if (sha !== replay.sha256) throw new UserError(`${file}: checksum ${sha.slice(0, 12)}… does not match the medium card (${replay.sha256.slice(0, 12)}…)`);
  const logArrays = loadArrays(file);
  const get = (key: string): Float32Array => {
    const v = logArrays.get(key);
    if (v === undefined || v.shape[0] !== replay.rows) throw new UserError(`${file}: "${key}" is missing or does not hold ${replay.rows} rows`);
    return v.data;
  };
  const actions = get("actions");
  const logProbs = get("log_probs");
  const rewards = get("rewards");
  const a = actions.length / replay.rows;
  const k = Math.min(replay.rows, size ?? replay.rows);
  const rows = await rollOut(
    env,
    k,
    (e) => episodeSeed(replay.runSeed, e),
    (_, i) => ({ action: actions.subarray(i * a, (i + 1) * a), logProb: logProbs[i] }),
    "medium-replay",
    log,
  );
  const bad = rows.rew.findIndex((r, i) => r !== rewards[i]);
  if (bad >= 0) {
    throw new UserError(`${file}: re-simulation diverged from the run at row ${bad} (reward ${rows.rew[bad]} vs ${rewards[bad]}); this simulator build differs from the one that trained the policy`);
  }
  return rows;
}

/**
 * SHA-256 over what the file holds: every array (key, shape, raw bytes) and every scalar/attribute, keys sorted.
 * This is the dataset's checksum rather than the file bytes' hash because HDF5 stamps object headers with the
 * write time and h5wasm cannot turn that off (no H5Pset_obj_track_times), so two identical datasets written a
 * second apart differ in a few header bytes.
 */
export function contentSha256(a: D4rlArrays): string {
  const entries: [string, WriteArray | ScalarValue][] = [
    ["observations", a.observations],
    ["actions", a.actions],
    ["rewards", { data: a.rewards, shape: [a.rewards.length] }],
    ["terminals", { data: a.terminals, shape: [a.terminals.length] }],
    ["timeouts", { data: a.timeouts, shape: [a.timeouts.length] }],
    ...(a.nextObservations ? [["next_observations", a.nextObservations] as [string, WriteArray]] : []),
    ...Object.entries(a.infos ?? {}).map(([k, v]): [string, WriteArray] => [`infos/${k}`, v]),
    ...Object.entries(a.metadata ?? {}).map(([k, v]): [string, WriteArray | ScalarValue] => [`metadata/${k}`, v]),
    ...Object.entries(a.attrs ?? {}).map(([k, v]): [string, ScalarValue] => [`@${k}`, v]),
  ];
  entries.sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
  const h = createHash("sha256");
  for (const [k, v] of entries) {
    h.update(`${k}\0`);
    if (typeof v === "object" && v !== null && "data" in v && ArrayBuffer.isView((v as WriteArray).data)) {
      const w = v as WriteArray;
      h.update(`${w.data.constructor.name}[${w.shape.join(",")}]\0`);
      h.update(new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength));
    } else {
      h.update(JSON.stringify(v) + "\0");
    }
  }
  return h.digest("hex");
}

export interface DatasetCard {
  id: string;
  path: string;
  /** Checksum of the dataset content (see contentSha256); equal for equal seeds. */
  sha256: string;
  /** Hash of the file bytes, for detecting a changed or corrupted file (varies with the write time). */
  fileSha256: string;
  bytes: number;
  rows: number;
  episodes: number;
  returnMean: number | null;
  normalizedMean: number | null;
  seconds: number;
  date: string;
  metadata: Record<string, ScalarValue>;
}

/**
 * `dataset make`: generates the dataset and writes it (temp file + rename, by the D4RL writer) with its card.
 * An existing file is kept unless `force`.
 */
export async function makeDataset(name: DatasetName, o: GenerateOptions & { force?: boolean }): Promise<{ card: DatasetCard; made: boolean }> {
  const path = datasetPath(name, o.size ?? null, o.seed);
  const cardPath = cardPathFor(path);
  if (!o.force && existsSync(path) && existsSync(cardPath)) {
    return { card: JSON.parse(readFileSync(cardPath, "utf8")) as DatasetCard, made: false };
  }
  const t0 = performance.now();
  const g = await generateDataset(name, o);
  o.log?.(`dataset make: writing ${path}`);
  await writeD4rl(path, g.arrays);
  const card: DatasetCard = {
    id: name.id,
    path,
    sha256: contentSha256(g.arrays),
    fileSha256: sha256File(path),
    bytes: statSync(path).size,
    rows: g.rows,
    episodes: g.episodes,
    returnMean: g.returns.length === 0 ? null : g.returns.reduce((x, y) => x + y, 0) / g.returns.length,
    normalizedMean: g.normalizedMean,
    seconds: (performance.now() - t0) / 1000,
    date: new Date().toISOString(),
    metadata: g.attrs,
  };
  writeJsonAtomic(cardPath, card);
  return { card, made: true };
}
