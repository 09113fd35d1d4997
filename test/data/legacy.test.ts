/**
 * The layouts D4RL files have had (issue 12 item 14), each accepted: v0 files without `timeouts` (episodes cut 1000
 * steps after the last terminal), flags stored as bool / uint8 / int8 / float32, with and without
 * `next_observations`, with and without `infos/*`. Files are written by the project's HDF5 writer; bool flags (an
 * HDF5 enum, which h5wasm cannot write) by h5py, and that part is skipped where h5py is not installed.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import test from "node:test";
import { writeH5, type WriteArray } from "../../src/data/h5.js";
import type { NumericArray } from "../../src/data/arrays.js";
import { loadDataset } from "../../src/data/load.js";
import { expectationsFor, splitAtFor, validateDataset } from "../../src/data/validate.js";
import { Rng } from "../../src/engine/rng.js";
import { tempDir } from "./fixtures.js";

/** Rows of each stretch and whether it ends at a terminal: 300 T, 2200 without one (cut 1000 + 1000 + …), 150 T. */
const STRETCHES = [
  { rows: 300, terminal: true },
  { rows: 2200, terminal: false },
  { rows: 150, terminal: true },
];
const N = STRETCHES.reduce((s, e) => s + e.rows, 0);
/** The episodes a reader must find: the 1000-step cuts count from the last terminal, so 200 + 150 is one episode. */
const ENDS = ["terminal", "timeout", "timeout", "terminal"];

interface Legacy {
  observations: Float32Array;
  next: Float32Array;
  actions: Float32Array;
  rewards: Float32Array;
  terminals: Uint8Array;
  timeouts: Uint8Array;
}

function legacyRows(): Legacy {
  const rng = new Rng(12);
  const obs = new Float32Array((N + 1) * 11).map(() => rng.normal());
  const terminals = new Uint8Array(N);
  const timeouts = new Uint8Array(N);
  let row = 0;
  for (const s of STRETCHES) {
    row += s.rows;
    if (s.terminal) terminals[row - 1] = 1;
  }
  // What D4RL's collectors wrote: a timeout at the 1000th step since the last terminal or timeout.
  for (let i = 0, step = 0; i < N; i++) {
    if (terminals[i]) step = 0;
    else if (step === 999) (timeouts[i] = 1), (step = 0);
    else step++;
  }
  return {
    observations: obs.slice(0, N * 11),
    next: obs.slice(11),
    actions: new Float32Array(N * 3).map(() => 2 * rng.uniform() - 1),
    rewards: new Float32Array(N).map(() => rng.normal()),
    terminals,
    timeouts,
  };
}

type Flags = "uint8" | "int8" | "float32" | "bool";

async function writeLegacy(path: string, d: Legacy, o: { flags: Exclude<Flags, "bool">; timeouts: boolean; next: boolean; infos: boolean }): Promise<void> {
  const flag = (f: Uint8Array): NumericArray => (o.flags === "uint8" ? f : o.flags === "int8" ? new Int8Array(f) : new Float32Array(f));
  const arrays: Record<string, WriteArray> = {
    observations: { data: d.observations, shape: [N, 11] },
    actions: { data: d.actions, shape: [N, 3] },
    rewards: { data: d.rewards, shape: [N] },
    terminals: { data: flag(d.terminals), shape: [N] },
    ...(o.timeouts ? { timeouts: { data: flag(d.timeouts), shape: [N] } } : {}),
    ...(o.next ? { next_observations: { data: d.next, shape: [N, 11] } } : {}),
    ...(o.infos ? { "infos/qpos": { data: new Float32Array(N * 6), shape: [N, 6] }, "infos/action_log_probs": { data: new Float32Array(N), shape: [N] } } : {}),
  };
  await writeH5(path, (w) => {
    for (const [k, v] of Object.entries(arrays)) w.array(k, v);
  });
}

/** The same layouts with numpy bool flags, through h5py; false when h5py is not there. */
function writeBoolLegacy(dir: string, base: string): string[] | false {
  const script = `
import h5py, numpy as np, itertools, sys
src = h5py.File(sys.argv[1], "r")
d = {k: src[k][()] for k in ["observations", "actions", "rewards", "terminals", "timeouts", "next_observations"]}
for t, n, i in itertools.product([True, False], repeat=3):
    name = f"{sys.argv[2]}/bool-{int(t)}{int(n)}{int(i)}-medium.hdf5"
    with h5py.File(name, "w") as f:
        for k in ["observations", "actions", "rewards"]: f[k] = d[k]
        f["terminals"] = d["terminals"].astype(bool)
        if t: f["timeouts"] = d["timeouts"].astype(bool)
        if n: f["next_observations"] = d["next_observations"]
        if i: f["infos/qpos"] = np.zeros((len(d["rewards"]), 6), np.float32)
    print(name)
`;
  for (const python of ["python3", "/usr/bin/python3"]) {
    const r = spawnSync(python, ["-c", script, base, dir], { encoding: "utf8" });
    if (r.status === 0) return r.stdout.trim().split("\n");
  }
  return false;
}

async function assertAccepted(path: string, timeouts: boolean): Promise<void> {
  const report = await validateDataset(path, { expect: expectationsFor("hopper") });
  assert.equal(report.errors, 0, `${path}: ${JSON.stringify(report.issues)}`);
  assert.equal(report.episodes, ENDS.length, path);
  assert.deepEqual(report.issues.map((i) => i.key), timeouts ? [] : ["timeouts"], "only v0 files get a note, that timeouts are derived");
  const store = await loadDataset(path, { splitAt: splitAtFor("hopper") });
  assert.deepEqual(store.episodes.map((e) => e.end), ENDS, path);
}

test("legacy D4RL layouts: every combination of flag storage, timeouts, next_observations and infos is accepted with the same episodes", async (t) => {
  const dir = tempDir(t);
  const rows = legacyRows();
  let base = "";
  for (const flags of ["uint8", "int8", "float32"] as const) {
    for (const timeouts of [true, false]) {
      for (const next of [true, false]) {
        for (const infos of [true, false]) {
          const path = join(dir, `${flags}-${+timeouts}${+next}${+infos}-medium.hdf5`);
          await writeLegacy(path, rows, { flags, timeouts, next, infos });
          await assertAccepted(path, timeouts);
          if (flags === "uint8" && timeouts && next) base = path;
        }
      }
    }
  }
  const bools = writeBoolLegacy(dir, base);
  if (bools === false) {
    t.diagnostic("bool flags not checked: python3 with h5py is not installed");
    return;
  }
  assert.equal(bools.length, 8);
  for (const path of bools) await assertAccepted(path, /bool-1/.test(path));
});

test("rewards of shape (N, 1) are read as a column, as D4RL's get_dataset does, with a warning; rewards as a group is one error line", async (t) => {
  const dir = tempDir(t);
  const rows = legacyRows();
  const write = (path: string, rewards: Record<string, WriteArray>) =>
    writeH5(path, (w) => {
      w.array("observations", { data: rows.observations, shape: [N, 11] });
      w.array("actions", { data: rows.actions, shape: [N, 3] });
      w.array("terminals", { data: rows.terminals, shape: [N] });
      w.array("timeouts", { data: rows.timeouts, shape: [N] });
      w.array("next_observations", { data: rows.next, shape: [N, 11] });
      for (const [k, v] of Object.entries(rewards)) w.array(k, v);
    });
  const column = join(dir, "column-medium.hdf5");
  await write(column, { rewards: { data: rows.rewards, shape: [N, 1] } });
  const store = await loadDataset(column);
  assert.deepEqual(store.warnings.map((w) => `${w.key}: ${w.message}`), [`rewards: shape (${N}, 1) read as a column of ${N} values (N,), as D4RL's get_dataset does`]);
  assert.equal(store.episodes[0].rew[1], rows.rewards[0]);

  const group = join(dir, "group-medium.hdf5");
  await write(group, { "rewards/x": { data: rows.rewards, shape: [N] } });
  const report = await validateDataset(group);
  assert.deepEqual(report.issues.map((i) => `${i.key}: ${i.message}`), ["rewards: is a group, expected an array dataset"]);
  await assert.rejects(loadDataset(group), (e: Error) => e.message === `${group}: rewards: is a group, expected an array dataset`);
});
