import { before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initEngine } from "../../src/engine/tf.js";
import { readCheckpoints, trainBehaviour } from "../../src/regen/behaviour.js";
import { UserError } from "../../src/errors.js";
import { TINY } from "./tiny.js";

before(async () => {
  await initEngine();
});


test("a resumed run continues exactly: same losses, evaluation and weights as an uninterrupted one", async () => {
  const root = mkdtempSync(join(tmpdir(), "clap-behaviour-"));
  const straight = join(root, "straight");
  const split = join(root, "split");
  const lines: string[] = [];
  await trainBehaviour({ env: "hopper", outDir: straight, steps: 180, resume: false, settings: TINY, log: (l) => lines.push(l) });
  await trainBehaviour({ env: "hopper", outDir: split, steps: 120, resume: false, settings: TINY });
  await assert.rejects(trainBehaviour({ env: "hopper", outDir: split, steps: 180, resume: false, settings: TINY }), UserError);
  // A crash mid-checkpoint leaves a half-written temp folder beside the checkpoint; the resume must ignore it.
  mkdirSync(join(split, "checkpoint.tmp-999999"));
  writeFileSync(join(split, "checkpoint.tmp-999999", "replay.bin"), "partial");
  await trainBehaviour({ env: "hopper", outDir: split, steps: 180, resume: true });
  const a = readCheckpoints(straight);
  const b = readCheckpoints(split);
  assert.deepEqual(a.map((c) => c.step), [60, 120, 180]);
  assert.deepEqual(b.map((c) => c.step), [60, 120, 180]);
  const strip = (c: (typeof a)[number]) => ({ ...c, wallSeconds: 0 });
  assert.deepEqual(b.map(strip), a.map(strip));
  assert.ok(a[2].losses !== null && Number.isFinite(a[2].losses.critic));
  assert.deepEqual(readdirSync(split).sort(), ["checkpoint", "checkpoints.json", "policies", "run.json"], "one checkpoint, no temp folders left");
  assert.equal(a[2].evalScore !== null && Number.isFinite(a[2].evalScore), true, "evaluations carry the normalised score");
  for (const f of ["checkpoint/agent.bin", "checkpoint/replay.bin", "policies/step-0000180.bin"]) {
    assert.ok(readFileSync(join(straight, f)).equals(readFileSync(join(split, f))), `${f} differs after resume`);
  }
  assert.ok(lines.some((l) => l.includes("checkpoint 180")), "progress lines name the checkpoints");
  await assert.rejects(trainBehaviour({ env: "walker2d", outDir: split, steps: 200, resume: true }), /not "walker2d"/);

  // The checkpoint is the one every run uses: a damaged replay buffer is named, never resumed from.
  const replay = join(split, "checkpoint", "replay.bin");
  const bytes = readFileSync(replay);
  bytes[bytes.length - 1] ^= 0xff;
  writeFileSync(replay, bytes);
  await assert.rejects(trainBehaviour({ env: "hopper", outDir: split, steps: 240, resume: true }), /replay\.bin: contents do not match the checksum/);
});
