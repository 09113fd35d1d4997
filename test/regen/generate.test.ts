import { before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initEngine } from "../../src/engine/tf.js";
import { readCheckpoints, readReplay, trainBehaviour } from "../../src/regen/behaviour.js";
import { makeDataset } from "../../src/regen/generate.js";
import { parseDatasetName, sha256File } from "../../src/data/registry.js";
import { exportBehaviourPolicy, replayLogPath, type PolicyCard } from "../../src/regen/policies.js";
import { loadArrays, saveArrays } from "../../src/engine/serialize.js";
import { H5Reader } from "../../src/data/h5.js";
import { UserError } from "../../src/errors.js";
import { TINY } from "./tiny.js";

before(async () => {
  await initEngine();
  process.env.CLAP_RL_HOME = mkdtempSync(join(tmpdir(), "clap-home-"));
});

function datasetKeys(r: H5Reader, group = ""): string[] {
  return r.keys(group).flatMap((k) => {
    const p = group === "" ? k : `${group}/${k}`;
    return r.isGroup(p) ? datasetKeys(r, p) : [p];
  });
}

test("random data: same seed gives the same checksum, D4RL layout, 1000-step timeouts, progress on the log", async () => {
  const name = parseDatasetName("clap:halfcheetah/random");
  const lines: string[] = [];
  const a = await makeDataset(name, { size: 2100, seed: 0, log: (l) => lines.push(l) });
  const b = await makeDataset(name, { size: 2100, seed: 0, force: true });
  const c = await makeDataset(name, { size: 2100, seed: 1 });
  const kept = await makeDataset(name, { size: 2100, seed: 0 });
  assert.equal(a.card.sha256, b.card.sha256);
  assert.notEqual(a.card.sha256, c.card.sha256);
  assert.notEqual(a.card.path, c.card.path);
  assert.equal(kept.made, false, "an existing dataset is kept without --force");
  assert.ok(lines.some((l) => /random 2100\/2100 rows \(100%\)/.test(l)));
  const dir = join(process.env.CLAP_RL_HOME!, "datasets");
  assert.deepEqual(readdirSync(dir).filter((f) => f.includes(".tmp")), [], "no temp files left behind");
  const r = await H5Reader.open(a.card.path);
  try {
    assert.equal(datasetKeys(r).length, 11);
    const timeouts = r.readArray("timeouts").data;
    const flagged = [...timeouts.keys()].filter((i) => timeouts[i] !== 0);
    assert.deepEqual(flagged, [999, 1999]);
    assert.deepEqual(r.readArray("observations").shape, [2100, 17]);
    assert.deepEqual(r.readArray("infos/qpos").shape, [2100, 9]);
    const lp = r.readArray("infos/action_log_probs").data;
    assert.ok(Math.abs(Number(lp[0]) + 6 * Math.log(2)) < 1e-5, "uniform actions have log-density −d·ln 2");
    assert.equal(r.attrs("/").variant, "random");
  } finally {
    r.close();
  }
  assert.equal(a.card.episodes, 3);

  // `dataset list` shows every made file of an id, not only the default-size one.
  const { main } = await import("../../src/cli/main.js");
  const out: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => (out.push(String(chunk)), true)) as typeof process.stdout.write;
  let code: number;
  try {
    code = await main(["dataset", "list", "--json"]);
  } finally {
    process.stdout.write = write;
  }
  assert.equal(code, 0);
  const listed = JSON.parse(out.join("")) as { id: string; made: boolean; files: { path: string; rows: number; seed: number; sha256: string }[] }[];
  const entry = listed.find((e) => e.id === "clap:halfcheetah/random-regen1")!;
  assert.equal(entry.made, false, "the default 1M-row file was not made");
  assert.deepEqual(
    entry.files.map((f) => [f.rows, f.seed, f.sha256]),
    [
      [2100, 0, a.card.sha256],
      [2100, 1, c.card.sha256],
    ],
  );
  assert.deepEqual(listed.find((e) => e.id === "clap:walker2d/random-regen1")!.files, []);
});

test("medium and medium-replay from a (tiny) behaviour run; missing policies and buffers are clear errors", async () => {
  const root = mkdtempSync(join(tmpdir(), "clap-gen-"));
  const run = join(root, "run");
  const assets = join(root, "policies");
  await assert.rejects(makeDataset(parseDatasetName("clap:hopper/medium"), { size: 100, seed: 0, policyDir: assets }), /no medium behaviour policy for hopper/);
  await trainBehaviour({ env: "hopper", outDir: run, steps: 120, resume: false, settings: TINY });
  const card = await exportBehaviourPolicy({ runDir: run, variant: "medium", step: 120, episodes: 2, assets });
  assert.equal(card.checkpointStep, 120);
  assert.ok(Number.isFinite(card.returnMean) && card.normalizedScore !== null);

  const medium = await makeDataset(parseDatasetName("clap:hopper/medium"), { size: 400, seed: 0, policyDir: assets });
  const again = await makeDataset(parseDatasetName("clap:hopper/medium"), { size: 400, seed: 0, policyDir: assets, force: true });
  assert.equal(medium.card.sha256, again.card.sha256);
  const r = await H5Reader.open(medium.card.path);
  try {
    const keys = datasetKeys(r);
    assert.equal(keys.length, 21, keys.join(" "));
    assert.deepEqual(r.readArray("metadata/policy/fc0/weight").shape, [16, 11]);
    assert.deepEqual(r.readArray("metadata/policy/last_fc_log_std/weight").shape, [3, 16]);
    assert.equal(Number(r.jsonValue("metadata/iteration")), 120);
    const lp = r.readArray("infos/action_log_probs").data;
    assert.ok(new Set(Array.from(lp, Number)).size > 100, "sampled actions have varying log-probabilities");
  } finally {
    r.close();
  }

  // medium-replay is re-simulated from the committed replay log and must equal the run's buffer, every column.
  assert.deepEqual(card.replay && { rows: card.replay.rows, runSeed: card.replay.runSeed }, { rows: 120, runSeed: TINY.seed });
  const replayName = parseDatasetName("clap:hopper/medium-replay");
  const replay = await makeDataset(replayName, { seed: 0, policyDir: assets });
  assert.equal(replay.card.rows, 120);
  const buf = readReplay(run).inOrder(120);
  const flag = (x: Float32Array) => Array.from(x, (v) => (v !== 0 ? 1 : 0));
  const rr = await H5Reader.open(replay.card.path);
  try {
    assert.equal(datasetKeys(rr).length, 11);
    const col = (k: string) => Array.from(rr.readArray(k).data, Number);
    assert.deepEqual(col("observations"), Array.from(buf.obs));
    assert.deepEqual(col("next_observations"), Array.from(buf.next_obs));
    assert.deepEqual(col("actions"), Array.from(buf.act));
    assert.deepEqual(col("rewards"), Array.from(buf.rew));
    assert.deepEqual(col("terminals"), flag(buf.terminal));
    assert.deepEqual(col("timeouts"), flag(buf.timeout));
    assert.deepEqual(col("infos/qpos"), Array.from(buf.qpos));
    assert.deepEqual(col("infos/qvel"), Array.from(buf.qvel));
    assert.deepEqual(col("infos/action_log_probs"), Array.from(buf.log_prob));
    assert.ok(buf.terminal.some((v) => v !== 0), "the tiny run's episodes end on terminals, so resets are replayed too");
  } finally {
    rr.close();
  }
  const part = await makeDataset(replayName, { seed: 0, size: 50, policyDir: assets });
  assert.equal(part.card.rows, 50);

  // A log that no longer matches its card, or a run the simulator does not reproduce, is refused.
  const logFile = replayLogPath("hopper", assets);
  const cardFile = join(assets, "hopper-medium.json");
  const pristine = readFileSync(logFile);
  const arrays = loadArrays(logFile);
  arrays.get("rewards")!.data[37] += 0.5;
  saveArrays(logFile, arrays);
  await assert.rejects(makeDataset(replayName, { seed: 0, policyDir: assets, force: true }), /checksum .* does not match the medium card/);
  const edited = JSON.parse(readFileSync(cardFile, "utf8")) as PolicyCard;
  writeFileSync(cardFile, JSON.stringify({ ...edited, replay: { ...edited.replay, sha256: sha256File(logFile) } }));
  await assert.rejects(makeDataset(replayName, { seed: 0, policyDir: assets, force: true }), /re-simulation diverged from the run at row 37/);
  writeFileSync(logFile, pristine);
  writeFileSync(cardFile, JSON.stringify(edited));
  rmSync(logFile);
  await assert.rejects(makeDataset(replayName, { seed: 0, policyDir: assets, force: true }), /needs the medium run's replay log/);
  writeFileSync(logFile, pristine);
  await assert.rejects(makeDataset(parseDatasetName("clap:hopper/expert"), { size: 10, seed: 0, policyDir: assets }), UserError);
  const expert = await exportBehaviourPolicy({ runDir: run, variant: "expert", episodes: 1, assets });
  const cps = readCheckpoints(run);
  assert.equal(cps.length, 2);
  assert.notEqual(cps[0].evalReturn, cps[1].evalReturn);
  const best = cps[0].evalReturn > cps[1].evalReturn ? cps[0] : cps[1];
  assert.equal(expert.checkpointStep, best.step, "the expert is the checkpoint with the highest evaluation return");
  // medium: the first checkpoint at ratio × the best checkpoint's return; ratio 1 can only be met by the best one.
  const mediumDir = join(root, "medium-rule");
  const rule = await exportBehaviourPolicy({ runDir: run, variant: "medium", ratio: 1, episodes: 1, assets: mediumDir });
  assert.equal(rule.checkpointStep, best.step);
  assert.equal(rule.selection.expertReturn, best.evalReturn);
  assert.equal(rule.replay?.rows, best.step);
  await assert.rejects(exportBehaviourPolicy({ runDir: run, variant: "medium", ratio: 1.01, episodes: 1, assets: mediumDir }), /no checkpoint reaches/);
  const me = await makeDataset(parseDatasetName("clap:hopper/medium-expert"), { size: 300, seed: 0, policyDir: assets });
  assert.equal(me.card.rows, 300);
  const behaviour = me.card.metadata.behaviour as Record<string, { checkpointStep: number }>;
  assert.equal(behaviour.medium.checkpointStep, 120);
  assert.equal(behaviour.expert.checkpointStep, best.step);
  assert.throws(() => parseDatasetName("clap:hopper/mediums"), /unknown dataset "clap:hopper\/mediums"/);
  assert.throws(() => parseDatasetName("d4rl:hopper-medium-v2"), UserError);
});

test("the CLI refuses an unknown dataset name or run directory with one line and exit code 2", async () => {
  const { main } = await import("../../src/cli/main.js");
  const lines: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => (lines.push(String(chunk)), true)) as typeof process.stderr.write;
  let unknown: number;
  let missing: number;
  try {
    unknown = await main(["dataset", "make", "clap:hopper/bogus"]);
    missing = await main(["behaviour", "export", join(tmpdir(), "clap-no-such-run"), "--variant", "medium"]);
  } finally {
    process.stderr.write = write;
  }
  assert.equal(unknown, 2);
  assert.equal(missing, 2);
  assert.equal(lines.length, 2, lines.join(""));
  assert.match(lines[0], /^clap-rl: unknown dataset "clap:hopper\/bogus"; known: .*\n$/);
  assert.match(lines[1], /^clap-rl: .*clap-no-such-run: not a behaviour run directory \(no run.json\)\n$/);
});
