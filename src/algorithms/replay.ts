/**
 * The SAC replay buffer. It keeps every transition in arrival order with its terminal and timeout flags and
 * the simulator state before the step, because the medium-replay dataset is this buffer itself
 * (docs/design/datasets.md §6.1–§6.2): rows [0, k) are exactly the first k environment steps of the run, in order.
 * The model buffer of MOPO and MOBILE (docs/design/method.md §17.2) is the same ring with no simulator state
 * (`nq` = `nv` = 0): model rollouts have none.
 *
 * Storage grows by doubling up to `capacity`; past it the buffer is a ring that overwrites the oldest rows
 * (`inOrder` still returns oldest first). Saved files are always written oldest first.
 */
import type { Rng } from "../engine/rng.js";
import type { NamedArray } from "../engine/serialize.js";
import { UserError } from "../errors.js";
import type { SacBatch } from "./sac.js";

export interface ReplaySpec {
  obsDim: number;
  actDim: number;
  nq: number;
  nv: number;
  capacity: number;
}

export interface ReplayRow {
  obs: ArrayLike<number>;
  act: ArrayLike<number>;
  rew: number;
  nextObs: ArrayLike<number>;
  terminal: boolean;
  timeout: boolean;
  /** Simulator state before the step. */
  qpos: ArrayLike<number>;
  qvel: ArrayLike<number>;
  /** Behaviour log-probability of `act`. */
  logProb: number;
}

/** Column name → values per row; the widths come from the spec. */
type Columns = Record<(typeof COLUMNS)[number], Float32Array>;
const COLUMNS = ["obs", "act", "rew", "next_obs", "terminal", "timeout", "qpos", "qvel", "log_prob"] as const;

/** The rows of a buffer as D4RL-style columns (row-major, oldest first). */
export interface ReplayColumns extends Columns {
  rows: number;
}

const INITIAL_ROWS = 1 << 14;

export class ReplayBuffer {
  private cols: Columns;
  private allocated: number;
  private head = 0;
  private stored = 0;
  /** Rows ever added, including overwritten ones. */
  total = 0;

  constructor(readonly spec: ReplaySpec) {
    for (const k of ["obsDim", "actDim", "capacity"] as const) {
      if (!(Number.isInteger(spec[k]) && spec[k] > 0)) throw new UserError(`replay buffer: ${k} must be a positive integer, got ${spec[k]}`);
    }
    for (const k of ["nq", "nv"] as const) {
      if (!(Number.isInteger(spec[k]) && spec[k] >= 0)) throw new UserError(`replay buffer: ${k} must be a non-negative integer, got ${spec[k]}`);
    }
    this.allocated = Math.min(spec.capacity, INITIAL_ROWS);
    this.cols = this.allocate(this.allocated);
  }

  get size(): number {
    return this.stored;
  }

  private width(c: (typeof COLUMNS)[number]): number {
    const s = this.spec;
    switch (c) {
      case "obs":
      case "next_obs":
        return s.obsDim;
      case "act":
        return s.actDim;
      case "qpos":
        return s.nq;
      case "qvel":
        return s.nv;
      default:
        return 1;
    }
  }

  private allocate(rows: number): Columns {
    return Object.fromEntries(COLUMNS.map((c) => [c, new Float32Array(rows * this.width(c))])) as Columns;
  }

  private grow(): void {
    const rows = Math.min(this.spec.capacity, this.allocated * 2);
    const next = this.allocate(rows);
    for (const c of COLUMNS) next[c].set(this.cols[c]);
    this.cols = next;
    this.allocated = rows;
  }

  add(r: ReplayRow): void {
    if (this.head === this.allocated && this.allocated < this.spec.capacity) this.grow();
    if (this.head === this.spec.capacity) this.head = 0;
    const i = this.head;
    const put = (c: (typeof COLUMNS)[number], v: ArrayLike<number>) => {
      const w = this.width(c);
      if (v.length !== w) throw new Error(`replay buffer: ${c} has ${v.length} values, expected ${w}`);
      this.cols[c].set(v, i * w);
    };
    put("obs", r.obs);
    put("act", r.act);
    put("next_obs", r.nextObs);
    put("qpos", r.qpos);
    put("qvel", r.qvel);
    this.cols.rew[i] = r.rew;
    this.cols.terminal[i] = r.terminal ? 1 : 0;
    this.cols.timeout[i] = r.timeout ? 1 : 0;
    this.cols.log_prob[i] = r.logProb;
    this.head += 1;
    this.stored = Math.min(this.stored + 1, this.spec.capacity);
    this.total += 1;
  }

  /** Physical index of the k-th oldest stored row. */
  private physical(k: number): number {
    const oldest = this.stored < this.spec.capacity ? 0 : this.head % this.spec.capacity;
    return (oldest + k) % this.spec.capacity;
  }

  /** A uniform minibatch (with replacement) for SAC; timeouts bootstrap, only terminals do not. */
  sample(batchSize: number, rng: Rng): SacBatch {
    if (this.stored === 0) throw new Error("replay buffer: cannot sample from an empty buffer");
    const { obsDim: d, actDim: a } = this.spec;
    const out: SacBatch = {
      obs: new Float32Array(batchSize * d),
      act: new Float32Array(batchSize * a),
      rew: new Float32Array(batchSize),
      nextObs: new Float32Array(batchSize * d),
      terminal: new Float32Array(batchSize),
    };
    for (let j = 0; j < batchSize; j++) {
      const i = rng.int(this.stored);
      out.obs.set(this.cols.obs.subarray(i * d, (i + 1) * d), j * d);
      out.nextObs.set(this.cols.next_obs.subarray(i * d, (i + 1) * d), j * d);
      out.act.set(this.cols.act.subarray(i * a, (i + 1) * a), j * a);
      out.rew[j] = this.cols.rew[i];
      out.terminal[j] = this.cols.terminal[i];
    }
    return out;
  }

  /** The oldest `limit` rows (default all) as fresh column arrays, oldest first. */
  inOrder(limit = this.stored): ReplayColumns {
    if (!(Number.isInteger(limit) && limit >= 0 && limit <= this.stored)) {
      throw new UserError(`replay buffer: asked for ${limit} rows but it holds ${this.stored}`);
    }
    const out = { ...this.allocate(limit), rows: limit };
    for (const c of COLUMNS) {
      const w = this.width(c);
      const first = this.physical(0);
      // At most two contiguous runs: from the oldest row to the end of storage, then from the start.
      const run1 = Math.min(limit, this.spec.capacity - first);
      out[c].set(this.cols[c].subarray(first * w, (first + run1) * w), 0);
      if (run1 < limit) out[c].set(this.cols[c].subarray(0, (limit - run1) * w), run1 * w);
    }
    return out;
  }

  /** Row k (0 = oldest) of one column, as a view. */
  row(c: (typeof COLUMNS)[number], k: number): Float32Array {
    const w = this.width(c);
    const i = this.physical(k);
    return this.cols[c].subarray(i * w, (i + 1) * w);
  }

  /** The buffer as named arrays, oldest row first (what a behaviour run's checkpoint keeps as replay.bin). */
  toArrays(): Map<string, NamedArray> {
    const s = this.spec;
    const cols = this.inOrder();
    const arrays = new Map<string, NamedArray>();
    arrays.set("spec", { shape: [5], data: Float32Array.from([s.obsDim, s.actDim, s.nq, s.nv, s.capacity]) });
    // The file holds float32 only; integers below 2^24 (16.7 M) are exact, far above any run's step count.
    arrays.set("total", { shape: [1], data: Float32Array.from([this.total]) });
    for (const c of COLUMNS) arrays.set(c, { shape: [this.stored, this.width(c)], data: cols[c] });
    return arrays;
  }

  /** A buffer from `toArrays()`'s arrays; `path` names their file in errors. */
  static fromArrays(arrays: Map<string, NamedArray>, path: string): ReplayBuffer {
    const get = (k: string) => {
      const a = arrays.get(k);
      if (!a) throw new UserError(`${path}: replay file has no '${k}' array`);
      return a;
    };
    const [obsDim, actDim, nq, nv, capacity] = get("spec").data;
    if (!(capacity < 1 << 24)) throw new UserError(`${path}: replay capacity ${capacity} is too large for this file format`);
    const buf = new ReplayBuffer({ obsDim, actDim, nq, nv, capacity });
    const rows = get("rew").shape[0];
    while (buf.allocated < rows) buf.grow();
    for (const c of COLUMNS) {
      const a = get(c);
      if (a.shape[0] !== rows || a.shape[1] !== buf.width(c)) throw new UserError(`${path}: replay column '${c}' has shape [${a.shape}], expected [${rows},${buf.width(c)}]`);
      buf.cols[c].set(a.data);
    }
    buf.stored = rows;
    buf.head = rows;
    buf.total = get("total").data[0];
    return buf;
  }
}
