import { before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
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
  // A crash mid-checkpoint leaves newer files that state.json does not name yet; the resume must ignore them.
  writeFileSync(join(split, "replay-0000180.bin"), "partial");
  writeFileSync(join(split, "state-0000180.bin"), "partial");
  await trainBehaviour({ env: "hopper", outDir: split, steps: 180, resume: true });
  const a = readCheckpoints(straight);
  const b = readCheckpoints(split);
  assert.deepEqual(a.map((c) => c.step), [60, 120, 180]);
  assert.deepEqual(b.map((c) => c.step), [60, 120, 180]);
  const strip = (c: (typeof a)[number]) => ({ ...c, wallSeconds: 0 });
  assert.deepEqual(b.map(strip), a.map(strip));
  assert.ok(a[2].losses !== null && Number.isFinite(a[2].losses.critic));
  assert.deepEqual(readdirSync(straight).filter((f) => f.endsWith(".bin")).sort(), ["replay-0000180.bin", "state-0000180.bin"], "older checkpoint files are removed");
  for (const f of ["state-0000180.bin", "replay-0000180.bin", "policies/step-0000180.bin"]) {
    assert.ok(readFileSync(join(straight, f)).equals(readFileSync(join(split, f))), `${f} differs after resume`);
  }
  assert.ok(lines.some((l) => l.includes("checkpoint 180")), "progress lines name the checkpoints");
  await assert.rejects(trainBehaviour({ env: "walker2d", outDir: split, steps: 200, resume: true }), /not "walker2d"/);
});
