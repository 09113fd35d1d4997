import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { timeBreakdown } from "../../src/cli/quickstart.js";
import { cli, tempDir } from "./helpers.js";

test("quickstart without the hopper medium policy fails with one line naming the file and the commands that make it", (t) => {
  const dir = tempDir(t);
  const empty = join(dir, "policies");
  mkdirSync(empty);
  const r = cli(["quickstart", "--policy-dir", empty, "--out", join(dir, "run")], { CLAP_RL_HOME: join(dir, "home") });
  assert.equal(r.code, 2);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^clap-rl: no medium behaviour policy for hopper \(.*policies\/hopper-medium\.bin\); train one with "clap-rl behaviour train hopper" and "clap-rl behaviour export <run-dir> --variant medium"$/);
  assert.equal(r.stdout, "");
});

test("timeBreakdown: agent time excludes the evaluations run inside it; the rest is loading/report/start-up", () => {
  const s = (a: number, b: number) => ({ start: a * 1000, end: b * 1000 });
  const line = timeBreakdown(
    [
      { label: "dataset medium", ...s(0, 30) },
      { label: "model", ...s(32, 332) },
      { label: "eval @ agent step 0", ...s(333, 335) },
      { label: "eval @ agent step 200", ...s(400, 410) },
      { label: "agent", ...s(335, 455) },
      { label: "eval @ agent step 400", ...s(455, 465) },
    ],
    480,
  );
  assert.equal(line, "dataset 30s · model 5m00s · agent 1m50s · evaluation 22s · loading, report, start-up 18s · total 8m00s");
});
