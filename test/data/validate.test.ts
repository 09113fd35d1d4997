/**
 * One fixture per validation problem, made at test time (valid files written by our writers, then
 * broken: keys dropped, dtypes changed, NaN inserted, bytes cut or flipped). Each problem must come out
 * as one line naming the file, the key and the first bad index.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import test from "node:test";
import { unzipSync, zipSync } from "fflate";
import { UserError } from "../../src/errors.js";
import { Rng } from "../../src/engine/rng.js";
import { writeD4rl, type D4rlArrays } from "../../src/data/d4rl.js";
import { writeH5, type WriteArray } from "../../src/data/h5.js";
import { formatIssue, type Issue } from "../../src/data/issues.js";
import { loadDataset } from "../../src/data/load.js";
import { writeMinari } from "../../src/data/minari.js";
import { encodeNpz } from "../../src/data/npy.js";
import { syntheticD4rl } from "../../src/data/synthetic.js";
import { expectationsFor, validateDataset, type ValidateOptions } from "../../src/data/validate.js";
import { vd4rlMembers, writeVd4rl } from "../../src/data/vd4rl.js";
import { writeFileAtomic } from "../../src/util/atomic.js";
import { indexedD4rl, randomEpisode, tempDir } from "./fixtures.js";

/** 10 rows: a 5-step terminal episode and a 5-step timeout episode. */
const base = () => indexedD4rl([{ rows: 5, terminal: true }, { rows: 5, timeout: true }], "locomotion");

/** Writes arbitrary datasets (any dtype/shape) at the given keys, for dtype and shape faults. */
async function writeRaw(path: string, arrays: Record<string, WriteArray>): Promise<void> {
  await writeH5(path, (w) => {
    for (const [k, v] of Object.entries(arrays)) w.array(k, v);
  });
}

function rawOf(a: D4rlArrays): Record<string, WriteArray> {
  const n = a.rewards.length;
  return {
    observations: a.observations,
    actions: a.actions,
    rewards: { data: a.rewards, shape: [n] },
    terminals: { data: new Int8Array(a.terminals), shape: [n] },
    timeouts: { data: new Int8Array(a.timeouts), shape: [n] },
    ...(a.nextObservations ? { next_observations: a.nextObservations } : {}),
  };
}

interface Expected {
  severity?: Issue["severity"];
  key: string;
  index?: number[];
  message: RegExp;
}

async function expectIssue(path: string, e: Expected, opts: ValidateOptions = {}, file = path): Promise<void> {
  const report = await validateDataset(path, opts);
  const found = report.issues.find((i) => i.key === e.key && e.message.test(i.message));
  assert.ok(found, `expected ${e.key} ~ ${e.message} in:\n${report.issues.map(formatIssue).join("\n") || "(no issues)"}`);
  assert.equal(found.severity, e.severity ?? "error");
  assert.equal(found.file, file);
  assert.deepEqual(found.index, e.index);
  const line = formatIssue(found);
  assert.ok(!line.includes("\n"), "one line");
  assert.ok(line.startsWith(`${found.severity}: ${file}: ${e.key}${e.index ? `[${e.index.join(", ")}]` : ""}: `), line);
}

test("validate: a clean file has no issues", async (t) => {
  const path = join(tempDir(t), "ok.hdf5");
  await writeD4rl(path, base());
  const r = await validateDataset(path, { expect: { obsShape: [2], actDim: 2, timeoutSteps: 5 } });
  assert.deepEqual(r.issues, []);
  assert.deepEqual([r.format, r.episodes, r.transitions], ["d4rl", 2, 10]);
});

test("validate D4RL structure: missing key, bad dtype, bad shape, row-count mismatch", async (t) => {
  const dir = tempDir(t);
  const noRewards = rawOf(base());
  delete noRewards.rewards;
  await writeRaw(join(dir, "missing.hdf5"), noRewards);
  await expectIssue(join(dir, "missing.hdf5"), { key: "rewards", message: /^missing key$/ });

  const intObs = rawOf(base());
  intObs.observations = { data: Int32Array.from(base().observations.data as Float32Array), shape: [10, 2] };
  await writeRaw(join(dir, "dtype.hdf5"), intObs);
  await expectIssue(join(dir, "dtype.hdf5"), { key: "observations", message: /^dtype int32, expected float32$/ });

  const flatActions = rawOf(base());
  flatActions.actions = { data: new Float32Array(10), shape: [10] };
  await writeRaw(join(dir, "shape.hdf5"), flatActions);
  await expectIssue(join(dir, "shape.hdf5"), { key: "actions", message: /^shape \(10,\), expected \(N, act_dim\)$/ });

  const short = rawOf(base());
  short.rewards = { data: new Float32Array(9), shape: [9] };
  await writeRaw(join(dir, "rows.hdf5"), short);
  await expectIssue(join(dir, "rows.hdf5"), { key: "rewards", index: [9], message: /^has 9 rows but observations has 10$/ });

  const floatFlags = rawOf(base());
  floatFlags.terminals = { data: Float32Array.from({ length: 10 }, (_, i) => (i === 1 ? 2 : 0)), shape: [10] };
  await writeRaw(join(dir, "flags.hdf5"), floatFlags);
  await expectIssue(join(dir, "flags.hdf5"), { key: "terminals", index: [1], message: /^flag value 2 is neither 0 nor 1$/ });
});

test("validate D4RL values: NaN, Inf, actions out of bounds, overlapping flags (warning)", async (t) => {
  const dir = tempDir(t);
  const nan = base();
  (nan.observations.data as Float32Array)[3 * 2 + 1] = NaN;
  (nan.observations.data as Float32Array)[8 * 2] = NaN;
  await writeD4rl(join(dir, "nan.hdf5"), nan);
  await expectIssue(join(dir, "nan.hdf5"), { key: "observations", index: [3, 1], message: /^NaN \(2 non-finite values in total\)$/ });

  const inf = base();
  inf.rewards[7] = -Infinity;
  await writeD4rl(join(dir, "inf.hdf5"), inf);
  await expectIssue(join(dir, "inf.hdf5"), { key: "rewards", index: [7], message: /^-Infinity/ });

  const oob = base();
  (oob.actions.data as Float32Array)[2 * 2] = 1.5;
  (oob.actions.data as Float32Array)[6 * 2 + 1] = -1.0005;
  await writeD4rl(join(dir, "oob.hdf5"), oob);
  await expectIssue(join(dir, "oob.hdf5"), { key: "actions", index: [2, 0], message: /^value 1\.5 outside \[-1, 1\] \(tolerance 0\.001; 1 value out of bounds\)$/ });

  const both = base();
  both.timeouts[4] = 1;
  await writeD4rl(join(dir, "both.hdf5"), both);
  await expectIssue(join(dir, "both.hdf5"), { severity: "warning", key: "timeouts", index: [4], message: /both set on 1 row; treated as terminal/ });
});

test("validate D4RL consistency: next-observation continuity, timeout position, halfcheetah terminals, antmaze zero rewards, sizes", async (t) => {
  const dir = tempDir(t);
  const jump = base();
  (jump.nextObservations!.data as Float32Array)[2 * 2] = 99;
  await writeD4rl(join(dir, "jump.hdf5"), jump);
  await expectIssue(join(dir, "jump.hdf5"), { key: "next_observations", index: [2, 0], message: /differs from observations\[3\] inside an episode/ });

  await writeD4rl(join(dir, "ok.hdf5"), base());
  await expectIssue(join(dir, "ok.hdf5"), { key: "timeouts", index: [9], message: /^set after 5 steps, expected 1000 \(1 episode\)$/ }, { expect: { timeoutSteps: 1000 } });
  await expectIssue(join(dir, "ok.hdf5"), { key: "terminals", index: [4], message: /never terminates/ }, { expect: expectationsFor("halfcheetah") });
  await expectIssue(join(dir, "ok.hdf5"), { key: "observations", message: /shape \[2\], the environment expects \[11\]/ }, { expect: expectationsFor("hopper") });
  await expectIssue(join(dir, "ok.hdf5"), { key: "actions", message: /2 values per action, the environment expects 3/ }, { expect: expectationsFor("hopper") });

  const ant = indexedD4rl([{ rows: 6, timeout: true }], "antmaze");
  ant.rewards.fill(0);
  await writeD4rl(join(dir, "ant.hdf5"), ant);
  await expectIssue(join(dir, "ant.hdf5"), { key: "rewards", message: /^all zero/ }, { expect: { rewardsNotAllZero: true } });
  assert.throws(() => expectationsFor("hoper"), /unknown environment "hoper".*hopper/);
  // Antmaze data episodes are 1000-step collection episodes even though umaze evaluation stops at 700.
  assert.deepEqual(expectationsFor("antmaze-umaze"), {
    obsShape: [29],
    pixelShape: [64, 64, 3],
    actDim: 8,
    timeoutSteps: 1000,
    rewardsNotAllZero: true,
    splitAt: "timeouts",
  });
});

test("validate files: truncated, not HDF5, corrupt compressed chunk, missing path", async (t) => {
  const dir = tempDir(t);
  const good = join(dir, "good.hdf5");
  await writeD4rl(good, syntheticD4rl({ rows: 20000, obsDim: 17, actDim: 2, seed: 1, layout: "antmaze" }));
  const bytes = readFileSync(good);
  writeFileSync(join(dir, "cut.hdf5"), bytes.subarray(0, Math.floor(bytes.length * 0.8)));
  await expectIssue(join(dir, "cut.hdf5"), { key: "(file)", message: /cannot open HDF5 file.*truncated file: eof = \d+.*stored_eof = \d+/ });
  writeFileSync(join(dir, "text.hdf5"), "not a dataset\n");
  await expectIssue(join(dir, "text.hdf5"), { key: "(file)", message: /^not an HDF5 file or npz archive \(truncated or corrupt HDF5\?\)$/ });
  // The observations dataset (written first, 1.2 MB compressed) spans the middle of the file.
  const flipped = Buffer.from(bytes);
  for (let i = Math.floor(bytes.length / 2); i < Math.floor(bytes.length / 2) + 256; i++) flipped[i] ^= 0xa5;
  writeFileSync(join(dir, "flip.hdf5"), flipped);
  await expectIssue(join(dir, "flip.hdf5"), { key: "observations", message: /^read failed \(corrupt data\?\) \(HDF5: .*\)$/ });
  await expectIssue(join(dir, "nope.hdf5"), { key: "(file)", message: /^no such file or directory$/ });
});

test("validate Minari: an empty episode and a row-count mismatch are named by episode group", async (t) => {
  const dir = tempDir(t);
  const rng = new Rng(3);
  const eps = [0, 1].map(() => randomEpisode(rng, { entries: 4, obsShape: [3], actDim: 2, end: "timeout" }));
  await writeMinari(join(dir, "m"), eps);
  await writeH5(join(dir, "e", "data", "main_data.hdf5"), (w) => {
    w.array("episode_0/observations", { data: eps[0].obs, shape: [4, 3] });
    w.array("episode_0/actions", { data: eps[0].act.slice(0, 6), shape: [3, 2] });
    w.array("episode_0/rewards", { data: new Float32Array(3), shape: [3] });
    w.array("episode_0/terminations", { data: new Int8Array(3), shape: [3] });
    w.array("episode_0/truncations", { data: new Int8Array(3), shape: [3] });
    w.array("episode_1/observations", { data: new Float32Array(3), shape: [1, 3] });
    w.array("episode_1/actions", { data: new Float32Array(0), shape: [0, 2] }, false);
    w.array("episode_1/rewards", { data: new Float32Array(0), shape: [0] }, false);
    w.array("episode_1/terminations", { data: new Int8Array(0), shape: [0] }, false);
    w.array("episode_1/truncations", { data: new Int8Array(0), shape: [0] }, false);
    w.array("episode_2/observations", { data: eps[1].obs, shape: [4, 3] });
    w.array("episode_2/actions", { data: eps[1].act.slice(0, 6), shape: [3, 2] });
    w.array("episode_2/rewards", { data: new Float32Array(2), shape: [2] });
    w.array("episode_2/terminations", { data: new Int8Array(3), shape: [3] });
    w.array("episode_2/truncations", { data: new Int8Array(3), shape: [3] });
  });
  const bad = join(dir, "e", "data", "main_data.hdf5");
  await expectIssue(join(dir, "e"), { key: "episode_1/observations", message: /^empty episode \(0 steps\)$/ }, {}, bad);
  await expectIssue(join(dir, "e"), { key: "episode_2/rewards", index: [2], message: /^has 2 rows, expected 3/ }, {}, bad);
  assert.deepEqual((await validateDataset(join(dir, "m"))).issues, []);
});

test("validate V-D4RL: empty member, truncated archive, row mismatch, image size against the environment", async (t) => {
  const dir = tempDir(t);
  const rng = new Rng(4);
  const ep = randomEpisode(rng, { entries: 5, obsShape: [8, 8, 3], actDim: 6, end: "timeout", image: true });
  const members = vd4rlMembers(ep);
  const emptyDir = join(dir, "empty");
  const good = encodeNpz(members);
  // An archive whose reward.npy member has zero bytes.
  const files: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(unzipSync(good))) files[k] = k === "reward.npy" ? new Uint8Array(0) : v;
  writeFileAtomic(join(emptyDir, "20240101T000000-a-5.npz"), zipSync(files));
  await expectIssue(emptyDir, { key: "reward.npy", message: /^empty member \(0 bytes\)$/ }, {}, join(emptyDir, "20240101T000000-a-5.npz"));

  const cutDir = join(dir, "cut");
  writeFileAtomic(join(cutDir, "20240101T000000-b-5.npz"), good.subarray(0, good.length - 40));
  await expectIssue(cutDir, { key: "(archive)", message: /^not a readable zip\/npz archive/ }, {}, join(cutDir, "20240101T000000-b-5.npz"));

  const rowsDir = join(dir, "rows");
  writeFileAtomic(join(rowsDir, "20240101T000000-c-5.npz"), encodeNpz({ ...members, reward: { data: new Float32Array(4), shape: [4] } }));
  await expectIssue(rowsDir, { key: "reward.npy", index: [4], message: /^has 4 rows but image\.npy has 5$/ }, {}, join(rowsDir, "20240101T000000-c-5.npz"));

  const okDir = join(dir, "ok");
  writeVd4rl(okDir, [ep]);
  await expectIssue(okDir, { key: "observations", message: /shape \[8,8,3\], the environment expects \[64,64,3\]/ }, { expect: expectationsFor("dmc-walker-walk") });
});

test("loadDataset runs the cheap checks: the first error becomes one UserError line naming file, key and index", async (t) => {
  const dir = tempDir(t);
  const nan = base();
  (nan.observations.data as Float32Array)[3 * 2 + 1] = NaN;
  (nan.actions.data as Float32Array)[0] = 7;
  const path = join(dir, "nan.hdf5");
  await writeD4rl(path, nan);
  await assert.rejects(loadDataset(path), (e: unknown) => {
    assert.ok(e instanceof UserError);
    assert.equal(
      e.message,
      `${path}: observations[3, 1]: NaN (1 non-finite value in total) (and 1 more; run "clap-rl dataset validate ${path}" for all)`,
    );
    return true;
  });
});
