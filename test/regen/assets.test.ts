import { before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initEngine } from "../../src/engine/tf.js";
import { makeDataset } from "../../src/regen/generate.js";
import { LOCOMOTION_ENVS, parseDatasetName, sha256File } from "../../src/data/registry.js";
import { readPolicyCard, replayLogPath } from "../../src/regen/policies.js";

before(async () => {
  await initEngine();
  process.env.CLAP_RL_HOME = mkdtempSync(join(tmpdir(), "clap-assets-"));
});

test("every environment ships medium and expert policies whose cards match their files", () => {
  for (const env of LOCOMOTION_ENVS) {
    const medium = readPolicyCard(env, "medium").card;
    const expert = readPolicyCard(env, "expert").card;
    assert.equal(medium.seed, expert.seed, `${env}: medium and expert come from one run`);
    assert.ok(medium.checkpointStep <= expert.runSteps);
    assert.ok(medium.returnMean < expert.returnMean, `${env}: medium below expert`);
    assert.equal(medium.replay?.rows, medium.checkpointStep, `${env}: the replay log covers the run up to the medium checkpoint`);
    assert.equal(sha256File(replayLogPath(env)), medium.replay?.sha256, `${env}: replay log checksum`);
  }
});

test("the committed replay logs re-simulate: the first 3000 rows of each medium-replay match the run's rewards", async () => {
  for (const env of LOCOMOTION_ENVS) {
    const r = await makeDataset(parseDatasetName(`clap:${env}/medium-replay`), { seed: 0, size: 3000 });
    assert.equal(r.card.rows, 3000);
    assert.ok(r.card.episodes > 1, `${env}: the first 3000 steps of a run span several episodes`);
  }
});
