import { test } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { createProgress, recordingProgress } from "../../src/util/progress.js";

/** A stream that records what is written; `isTTY` decides bars vs lines like a real stderr. */
function sink(isTTY: boolean): { stream: NodeJS.WriteStream; text: () => string } {
  let buf = "";
  const w = new Writable({
    write(chunk, _enc, cb) {
      buf += String(chunk);
      cb();
    },
  }) as unknown as NodeJS.WriteStream & { columns: number; isTTY: boolean; cursorTo: () => boolean; clearLine: () => boolean; moveCursor: () => boolean; clearScreenDown: () => boolean };
  w.isTTY = isTTY;
  w.columns = 200;
  // cli-progress positions the cursor through these tty methods; a recording stream only needs them to exist.
  w.cursorTo = () => true;
  w.clearLine = () => true;
  w.moveCursor = () => true;
  w.clearScreenDown = () => true;
  return { stream: w, text: () => buf };
}

test("plain progress: a line when the caller passes info (periodic), and one at the end only if none was printed", () => {
  const s = sink(false);
  const p = createProgress({ stream: s.stream });
  const t = p.task("model", 100, { start: 20 });
  for (let i = 21; i <= 100; i++) t.update(i, i % 40 === 0 ? `loss ${i}` : undefined);
  t.finish();
  p.log("a message");
  const quiet = p.task("dataset medium", 5, { unit: "rows" });
  quiet.update(5);
  quiet.finish();
  const lines = s.text().trim().split("\n");
  assert.equal(lines.length, 4, s.text());
  assert.match(lines[0], /^model 40\/100 \(40%\) [\d.]+ steps\/s ETA \S+ \| loss 40$/);
  assert.match(lines[1], /^model 80\/100 \(80%\) .* \| loss 80$/);
  assert.equal(lines[2], "a message");
  assert.match(lines[3], /^dataset medium 5\/5 \(100%\) [\d.]+ rows\/s ETA 0s$/);
});

test("bar progress on a terminal: a cli-progress bar with rate, ETA and the latest info, replaced by one summary line", async () => {
  const s = sink(true);
  const p = createProgress({ stream: s.stream });
  const t = p.task("agent", 10, { unit: "steps" });
  t.update(4, "actor_loss 0.5");
  p.log("eval @ agent step 4: return_mean 12");
  await new Promise((r) => setTimeout(r, 250));
  t.update(10, "actor_loss 0.25");
  t.finish("agent done");
  p.close();
  const out = s.text();
  assert.match(out, /agent \[[█░]+\] 4\/10\s+40% \| [\d.]+ steps\/s \| ETA \d+s \| actor_loss 0\.5/, out);
  assert.match(out, /eval @ agent step 4: return_mean 12\n/);
  assert.match(out, /agent done\n/);
});

test("quiet progress prints nothing; recordingProgress keeps each task's interval", async () => {
  const s = sink(false);
  const rec = recordingProgress(createProgress({ stream: s.stream, quiet: true }));
  const a = rec.progress.task("model", 2);
  await new Promise((r) => setTimeout(r, 30));
  a.update(2, "x");
  a.finish();
  rec.progress.log("hidden");
  assert.equal(s.text(), "");
  assert.equal(rec.intervals.length, 1);
  assert.equal(rec.intervals[0].label, "model");
  assert.ok(rec.intervals[0].end - rec.intervals[0].start >= 25);
});
