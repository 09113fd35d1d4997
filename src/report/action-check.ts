/**
 * The action-distribution check of the paper's Appendix F (docs/design/method.md §12): do actions generated from the latent
 * action prior and the action decoder match the dataset's actions locally?
 *
 * Procedure (the readings this project adopts are marked):
 * 1. Take one dataset trajectory: the longest episode, the first on ties [project reading; the paper uses one
 *    hopper-expert trajectory].
 * 2. For each of its steps, find the k = 20 nearest observations (Euclidean on z-scored observations, with the
 *    statistics the model was trained with) among the entries of the *other* episodes that carry an action, and
 *    take their dataset actions. Leaving the query's own episode out keeps its own action from being one of its
 *    neighbours [project reading].
 * 3. For each neighbour, the latent state is the posterior filtered along the neighbour's own episode from its
 *    start up to the neighbour's step (docs/design/method.md §12 project default; "filter: episode-prefix" in the output), with the
 *    dataset's previous actions and the posterior mean (the deterministic reading used for evaluation, docs/design/method.md §8).
 *    Then u ~ p(u | s) and a ~ p(a | s, u) are sampled once per neighbour, and a is clipped to [−1, 1] as the
 *    environment would execute it.
 * 4. Segments: flight and stance phases from foot–floor contacts when the dataset stores qpos/qvel and the run's
 *    environment is a MuJoCo model (each maximal run of steps with or without any floor contact is a segment);
 *    otherwise fixed-length segments of `segmentLength` steps.
 * 5. Per segment and action dimension: a Normal fitted to the pooled dataset actions and one to the pooled
 *    generated actions (mean, population std), and KL(dataset ‖ generated), stds floored at STD_FLOOR.
 *
 * Nearest neighbours are found by exact brute force: a query trajectory of L ≤ 1000 steps against N dataset rows
 * costs L·N·d, a few seconds for a million rows, and needs no index structure (tree indexes lose their advantage
 * at the 11–27 observation dimensions of these tasks anyway).
 */
import { tf } from "../engine/tf.js";
import { Rng } from "../engine/rng.js";
import type { EpisodeStore, InfoColumn, ObsStats } from "../data/store.js";
import type { LatentActionModel, LatentState } from "../models/latent-action-model.js";
import { makeEnv } from "../envs/registry.js";
import { MujocoEnv } from "../envs/mujoco-env.js";

/** Std floor of the per-segment Normal fits, in action units (1% of the half-range), so KL stays finite. */
export const STD_FLOOR = 1e-2;

export interface NormalFit {
  mean: number;
  std: number;
}

/** Mean and population std. */
export function fitNormal(values: ArrayLike<number>): NormalFit {
  const n = values.length;
  if (n === 0) return { mean: NaN, std: NaN };
  let s = 0;
  for (let i = 0; i < n; i++) s += values[i];
  const mean = s / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (values[i] - mean) ** 2;
  return { mean, std: Math.sqrt(ss / n) };
}

/** KL(p ‖ q) of two univariate Normals, stds floored at `floor`. */
export function klNormal1d(p: NormalFit, q: NormalFit, floor = STD_FLOOR): number {
  const sp = Math.max(p.std, floor);
  const sq = Math.max(q.std, floor);
  return Math.log(sq / sp) + (sp * sp + (p.mean - q.mean) ** 2) / (2 * sq * sq) - 0.5;
}

/**
 * The k nearest rows of `points` ([N, dim]) to each row of `queries` ([n, dim]) by Euclidean distance, nearest
 * first, the lower index first on ties. Returns [n, k] row indices.
 */
export function nearestNeighbours(points: Float32Array, queries: Float32Array, dim: number, k: number): Int32Array {
  const N = points.length / dim;
  const n = queries.length / dim;
  if (!Number.isInteger(N) || !Number.isInteger(n)) throw new Error("nearestNeighbours: array lengths are not multiples of dim");
  if (k > N) throw new Error(`nearestNeighbours: k = ${k} exceeds the ${N} points`);
  const out = new Int32Array(n * k);
  const bestD = new Float64Array(k);
  const bestI = new Int32Array(k);
  for (let q = 0; q < n; q++) {
    const qo = q * dim;
    bestD.fill(Infinity);
    bestI.fill(-1);
    for (let p = 0; p < N; p++) {
      const po = p * dim;
      const worst = bestD[k - 1];
      let d = 0;
      // Partial distances: stop summing once the point cannot enter the current k best.
      for (let j = 0; j < dim && d < worst; j++) {
        const diff = points[po + j] - queries[qo + j];
        d += diff * diff;
      }
      if (d >= worst) continue;
      let i = k - 1;
      while (i > 0 && bestD[i - 1] > d) {
        bestD[i] = bestD[i - 1];
        bestI[i] = bestI[i - 1];
        i--;
      }
      bestD[i] = d;
      bestI[i] = p;
    }
    out.set(bestI, q * k);
  }
  return out;
}

export interface Segment {
  /** First step (inclusive) and end (exclusive) along the trajectory. */
  start: number;
  end: number;
  kind: "flight" | "stance" | "fixed";
}

/** Maximal runs of steps with the same contact state: "stance" (some floor contact) or "flight" (none). */
export function contactSegments(contact: readonly boolean[]): Segment[] {
  const out: Segment[] = [];
  for (let t = 0; t < contact.length; ) {
    let e = t + 1;
    while (e < contact.length && contact[e] === contact[t]) e++;
    out.push({ start: t, end: e, kind: contact[t] ? "stance" : "flight" });
    t = e;
  }
  return out;
}

export function fixedSegments(length: number, size: number): Segment[] {
  if (!(size >= 1)) throw new Error(`fixedSegments: size must be at least 1, got ${size}`);
  const out: Segment[] = [];
  for (let s = 0; s < length; s += size) out.push({ start: s, end: Math.min(length, s + size), kind: "fixed" });
  return out;
}

export interface DimComparison {
  data: NormalFit;
  generated: NormalFit;
  /** KL(dataset ‖ generated). */
  kl: number;
}

export interface SegmentComparison extends Segment {
  dims: DimComparison[];
}

/**
 * Per-segment, per-dimension comparison of pooled actions laid out [L, k, A] (step, neighbour, dimension) for both
 * the dataset and the generated actions.
 */
export function compareSegments(data: Float32Array, generated: Float32Array, k: number, A: number, segments: readonly Segment[]): SegmentComparison[] {
  return segments.map((seg) => {
    const n = (seg.end - seg.start) * k;
    const dims: DimComparison[] = [];
    for (let d = 0; d < A; d++) {
      const dv = new Float64Array(n);
      const gv = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const o = (seg.start * k + i) * A + d;
        dv[i] = data[o];
        gv[i] = generated[o];
      }
      const fd = fitNormal(dv);
      const fg = fitNormal(gv);
      dims.push({ data: fd, generated: fg, kl: klNormal1d(fd, fg) });
    }
    return { ...seg, dims };
  });
}

/** Per-step mean and std over the k neighbours, [A][L] (one series per action dimension, for the charts). */
export function perStepStats(values: Float32Array, L: number, k: number, A: number): { mean: number[][]; std: number[][] } {
  const mean = Array.from({ length: A }, () => new Array<number>(L));
  const std = Array.from({ length: A }, () => new Array<number>(L));
  const buf = new Float64Array(k);
  for (let t = 0; t < L; t++) {
    for (let d = 0; d < A; d++) {
      for (let j = 0; j < k; j++) buf[j] = values[(t * k + j) * A + d];
      const f = fitNormal(buf);
      mean[d][t] = f.mean;
      std[d][t] = f.std;
    }
  }
  return { mean, std };
}

/**
 * Floor contacts along rows of qpos/qvel (each row a simulator state): true where any geom touches a geom of the
 * world body (the floor). Null when the environment is not a MuJoCo model or the state sizes do not match it.
 */
export async function floorContacts(envId: string, qpos: InfoColumn, qvel: InfoColumn, episode: number, rows: number): Promise<boolean[] | null> {
  const env = await makeEnv(envId);
  try {
    if (!(env instanceof MujocoEnv)) return null;
    const sim = env.sim;
    if (qpos.cols !== sim.nq || qvel.cols !== sim.nv) return null;
    const qp = qpos.perEpisode[episode];
    const qv = qvel.perEpisode[episode];
    if (qp.length < rows * sim.nq || qv.length < rows * sim.nv) return null;
    const out: boolean[] = [];
    for (let t = 0; t < rows; t++) {
      sim.setState(qp.subarray(t * sim.nq, (t + 1) * sim.nq), qv.subarray(t * sim.nv, (t + 1) * sim.nv));
      // sim.ts has no contact accessor; withRaw is its documented escape hatch. Embind handles are deleted here.
      out.push(
        sim.withRaw((_mj, model, data) => {
          const bodyOf = model.geom_bodyid as Int32Array;
          const contacts = data.contact;
          let touching = false;
          try {
            for (let i = 0; i < data.ncon && !touching; i++) {
              const c = contacts.get(i);
              if (!c) continue;
              touching = (bodyOf[c.geom1] === 0) !== (bodyOf[c.geom2] === 0);
              c.delete();
            }
          } finally {
            contacts.delete();
          }
          return touching;
        }),
      );
    }
    return out;
  } finally {
    env.close();
  }
}

export interface ActionCheckOptions {
  /** Neighbours per step (the paper's 20). */
  k: number;
  /** Seeds the latent-action and decoder samples. */
  seed: number;
  /** Fixed segment length when no contact information is available. */
  segmentLength: number;
  /** The trajectory to check (episode index); default the longest episode. */
  episode?: number;
  /** At most this many steps of the trajectory (from its start). */
  maxSteps?: number;
}

export interface ActionCheckResult {
  episode: number;
  /** Steps of the trajectory that were checked. */
  steps: number;
  k: number;
  actDim: number;
  filter: "episode-prefix";
  segmentation: "contact" | "fixed";
  segmentLength: number | null;
  /** Dataset rows the neighbours were searched in. */
  pool: number;
  /** Per step, per dimension ([A][L]): dataset and generated action mean and std over the k neighbours. */
  perStep: { dataMean: number[][]; dataStd: number[][]; genMean: number[][]; genStd: number[][] };
  segments: SegmentComparison[];
  /** The whole trajectory as one segment. */
  overall: DimComparison[];
}

export interface ActionCheckInput {
  model: LatentActionModel;
  store: EpisodeStore;
  /** Statistics the model's inputs are normalised with (null: the model takes raw observations). */
  modelStats: ObsStats | null;
  /** Statistics the neighbour search z-scores with. */
  searchStats: ObsStats;
  /** Contact flags for the first `steps` entries of an episode, or null when unavailable. */
  contacts?: (episode: number, steps: number) => Promise<boolean[] | null>;
}

function longestEpisode(store: EpisodeStore): number {
  let best = 0;
  store.episodes.forEach((ep, i) => {
    if (ep.length > store.episodes[best].length) best = i;
  });
  return best;
}

function normalise(obs: Float32Array, t: number, D: number, stats: ObsStats | null, out: Float32Array, at: number): void {
  for (let j = 0; j < D; j++) {
    const v = obs[t * D + j];
    out[at + j] = stats ? (v - stats.mean[j]) / stats.std[j] : v;
  }
}

/**
 * Latent features (posterior mean filtered from each episode's start) at the requested (episode, step) entries.
 * Episodes are filtered together, time-major, the batch shrinking as episodes reach their last requested step.
 * Returns [requests, featDim] in request order.
 */
export function filteredFeatures(model: LatentActionModel, store: EpisodeStore, stats: ObsStats | null, requests: { episode: number; step: number }[]): Float32Array {
  const D = store.obsSize;
  const A = store.actDim;
  const F = model.featDim;
  const lastStep = new Map<number, number>();
  for (const r of requests) lastStep.set(r.episode, Math.max(lastStep.get(r.episode) ?? 0, r.step));
  const order = [...lastStep.keys()].sort((a, b) => lastStep.get(b)! - lastStep.get(a)! || a - b);
  const row = new Map(order.map((e, i) => [e, i]));
  const atStep = new Map<number, { row: number; request: number }[]>();
  requests.forEach((r, i) => {
    const list = atStep.get(r.step) ?? [];
    list.push({ row: row.get(r.episode)!, request: i });
    atStep.set(r.step, list);
  });
  const out = new Float32Array(requests.length * F);
  const horizon = order.length ? lastStep.get(order[0])! : -1;
  let active = order.length;
  let state: LatentState = model.initialState(active);
  for (let t = 0; t <= horizon; t++) {
    while (active > 0 && lastStep.get(order[active - 1])! < t) active--;
    const obs = new Float32Array(active * D);
    const prev = new Float32Array(active * A);
    for (let i = 0; i < active; i++) {
      const ep = store.episodes[order[i]];
      normalise(ep.obs as Float32Array, t, D, stats, obs, i * D);
      if (t > 0) prev.set(ep.act.subarray((t - 1) * A, t * A), i * A);
    }
    const old = state;
    const n = active;
    state = tf.tidy(() => {
      const s = old.h.shape[0] === n ? old : { h: tf.slice(old.h, [0, 0], [n, -1]), z: tf.slice(old.z, [0, 0], [n, -1]) };
      const next = model.filterStep(s, tf.tensor2d(prev, [n, A]), tf.tensor2d(obs, [n, D]));
      return { h: tf.keep(next.h), z: tf.keep(next.z) };
    });
    tf.dispose([old.h, old.z]);
    const wanted = atStep.get(t);
    if (wanted) {
      const feats = tf.tidy(() => tf.gather(model.features(state), tf.tensor1d(wanted.map((w) => w.row), "int32")));
      const data = feats.dataSync();
      feats.dispose();
      wanted.forEach((w, i) => out.set(data.subarray(i * F, (i + 1) * F), w.request * F));
    }
  }
  tf.dispose([state.h, state.z]);
  return out;
}

/** Rows per batch when sampling actions, to bound memory on long trajectories. */
const SAMPLE_CHUNK = 4096;

/** Samples u ~ p(u | s), a ~ p(a | s, u) at each feature row, clipped to [−1, 1]. Returns [rows, A]. */
function sampleActions(model: LatentActionModel, feats: Float32Array, rows: number, rng: Rng): Float32Array {
  const F = model.featDim;
  const A = model.dims.actDim;
  const out = new Float32Array(rows * A);
  for (let s = 0; s < rows; s += SAMPLE_CHUNK) {
    const n = Math.min(SAMPLE_CHUNK, rows - s);
    const uSeed = rng.tfSeed();
    const aSeed = rng.tfSeed();
    const a = tf.tidy(() => {
      const feat = tf.tensor2d(feats.subarray(s * F, (s + n) * F), [n, F]);
      const u = model.latentActionPrior(feat).rsample(uSeed) as tf.Tensor2D;
      return tf.clipByValue(model.actionDecoder(feat, u).rsample(aSeed), -1, 1);
    });
    out.set(a.dataSync(), s * A);
    a.dispose();
  }
  return out;
}

/** The dataset rows (with an action) outside episode `q`: where the check searches for neighbours. */
function neighbourPool(store: EpisodeStore, q: number): { poolEpisode: number[]; poolStep: number[] } {
  const poolEpisode: number[] = [];
  const poolStep: number[] = [];
  store.episodes.forEach((ep, e) => {
    if (e === q) return;
    for (let t = 0; t < ep.length; t++) {
      if (ep.actMask[t]) {
        poolEpisode.push(e);
        poolStep.push(t);
      }
    }
  });
  return { poolEpisode, poolStep };
}

/** Why the check cannot run on this dataset (too few rows outside the checked episode for k neighbours), or null. */
export function actionCheckImpossible(store: EpisodeStore, opts: ActionCheckOptions): string | null {
  const n = neighbourPool(store, opts.episode ?? longestEpisode(store)).poolEpisode.length;
  return n < opts.k ? `only ${n} dataset rows lie outside the checked episode, fewer than the k = ${opts.k} neighbours it compares with` : null;
}

export async function actionCheck(input: ActionCheckInput, opts: ActionCheckOptions): Promise<ActionCheckResult> {
  const { model, store, modelStats, searchStats } = input;
  if (!model.latentAction) throw new Error("actionCheck: the model has no latent actions");
  const D = store.obsSize;
  const A = store.actDim;
  const k = opts.k;
  const q = opts.episode ?? longestEpisode(store);
  const qEp = store.episodes[q];
  if (!qEp) throw new Error(`actionCheck: no episode ${q}`);
  const qSteps: number[] = [];
  for (let t = 0; t < qEp.length && qSteps.length < (opts.maxSteps ?? Infinity); t++) if (qEp.actMask[t]) qSteps.push(t);
  const L = qSteps.length;

  const { poolEpisode, poolStep } = neighbourPool(store, q);
  const N = poolEpisode.length;
  if (N < k) throw new Error(`actionCheck: only ${N} dataset rows outside the checked episode, fewer than k = ${k}`);
  const points = new Float32Array(N * D);
  for (let i = 0; i < N; i++) normalise(store.episodes[poolEpisode[i]].obs as Float32Array, poolStep[i], D, searchStats, points, i * D);
  const queries = new Float32Array(L * D);
  qSteps.forEach((t, i) => normalise(qEp.obs as Float32Array, t, D, searchStats, queries, i * D));
  const nn = nearestNeighbours(points, queries, D, k);

  // Each distinct neighbour row is filtered once, however many query steps share it.
  const requestOf = new Map<number, number>();
  const requests: { episode: number; step: number }[] = [];
  for (const p of nn) {
    if (!requestOf.has(p)) {
      requestOf.set(p, requests.length);
      requests.push({ episode: poolEpisode[p], step: poolStep[p] });
    }
  }
  const unique = filteredFeatures(model, store, modelStats, requests);
  const F = model.featDim;
  const feats = new Float32Array(L * k * F);
  const dataActs = new Float32Array(L * k * A);
  nn.forEach((p, i) => {
    const r = requestOf.get(p)!;
    feats.set(unique.subarray(r * F, (r + 1) * F), i * F);
    const ep = store.episodes[poolEpisode[p]];
    dataActs.set(ep.act.subarray(poolStep[p] * A, (poolStep[p] + 1) * A), i * A);
  });
  const genActs = sampleActions(model, feats, L * k, new Rng(opts.seed));

  const contact = input.contacts ? await input.contacts(q, L) : null;
  const segments = contact ? contactSegments(contact) : fixedSegments(L, opts.segmentLength);
  const data = perStepStats(dataActs, L, k, A);
  const gen = perStepStats(genActs, L, k, A);
  return {
    episode: q,
    steps: L,
    k,
    actDim: A,
    filter: "episode-prefix",
    segmentation: contact ? "contact" : "fixed",
    segmentLength: contact ? null : opts.segmentLength,
    pool: N,
    perStep: { dataMean: data.mean, dataStd: data.std, genMean: gen.mean, genStd: gen.std },
    segments: compareSegments(dataActs, genActs, k, A, segments),
    overall: compareSegments(dataActs, genActs, k, A, [{ start: 0, end: L, kind: "fixed" }])[0].dims,
  };
}
