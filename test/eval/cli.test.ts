/**
 * CLI smoke tests for `clap-rl env list|run`: JSON listing parses and matches the registry, runs print returns
 * and scores, `--pixels` writes a decodable PNG strip, bad ids and flags fail with one line and a non-zero exit.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "node:test";
import { fileURLToPath } from "node:url";
import { PNG } from "pngjs";
import { listEnvs } from "../../src/envs/registry.js";

const MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: "utf8", timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function oneLineFailure(r: { code: number | null; out: string; err: string }, pattern: RegExp): void {
  assert.notEqual(r.code, 0);
  assert.equal(r.code === null, false, "the CLI was killed (timeout)");
  const lines = r.err.trim().split("\n");
  assert.equal(lines.length, 1, `expected one line on stderr, got:\n${r.err}`);
  assert.match(lines[0], pattern);
  assert.equal(r.out, "");
}

test("env list --json parses and lists every registered environment; the table has a row per env", () => {
  const r = cli("env", "list", "--json");
  assert.equal(r.code, 0, r.err);
  const listed = JSON.parse(r.out) as Array<{ id: string; obsShape: number[]; actionDim: number; maxEpisodeSteps: number; semantics: string }>;
  assert.deepEqual(listed, listEnvs());
  const hopper = listed.find((e) => e.id === "hopper")!;
  assert.deepEqual([hopper.obsShape, hopper.actionDim, hopper.maxEpisodeSteps, hopper.semantics], [[11], 3, 1000, "gymnasium-v4"]);
  const table = cli("env", "list");
  assert.equal(table.code, 0, table.err);
  const rows = table.out.trim().split("\n");
  assert.equal(rows.length, listed.length + 1);
  assert.match(rows.find((l) => l.startsWith("dmc-walker-walk "))!, /\[24\]\s+6\s+500\s+dm_control/);
});

test("env run hopper --episodes 2 prints both returns, the mean and the normalised score", () => {
  const r = cli("env", "run", "hopper", "--episodes", "2", "--seed", "3", "--workers", "1");
  assert.equal(r.code, 0, r.err);
  const returns = [...r.out.matchAll(/episode (\d): return (-?[\d.]+), length (\d+), score (-?[\d.]+)/g)];
  assert.deepEqual(returns.map((m) => m[1]), ["0", "1"]);
  const mean = (Number(returns[0][2]) + Number(returns[1][2])) / 2;
  const printed = Number(/^return (-?[\d.]+) ± [\d.]+ \(mean ± std\)/m.exec(r.out)![1]);
  assert.ok(Math.abs(printed - mean) < 2e-3, `${printed} vs ${mean}`);
  assert.match(r.out, /normalised score -?[\d.]+ ± [\d.]+ \(0–100, D4RL; not comparable/);

  const json = cli("env", "run", "hopper", "--episodes", "2", "--seed", "3", "--workers", "0", "--json");
  assert.equal(json.code, 0, json.err);
  const parsed = JSON.parse(json.out) as { returns: number[]; normalizedScores: number[] };
  assert.deepEqual(parsed.returns.map((x) => x.toFixed(3)), returns.map((m) => m[2]));
});

test("env run --pixels writes a PNG strip of 64×64 frames", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "clap-rl-pixels-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, "cheetah.png");
  const r = cli("env", "run", "dmc-cheetah-run", "--episodes", "1", "--workers", "0", "--pixels", out, "--frames", "3", "--frame-every", "5");
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /pixels: wrote .*cheetah\.png \(3 frame\(s\) of episode 0, 192×64/);
  const png = PNG.sync.read(readFileSync(out));
  assert.deepEqual([png.width, png.height], [192, 64]);
  // Three different moments of the episode: the frames are not all the same.
  const frame = (k: number) => Array.from({ length: 64 * 64 }, (_, p) => png.data[4 * ((p >> 6) * 192 + k * 64 + (p & 63))]);
  assert.notDeepEqual(frame(0), frame(2));
});

test("bad ids and flags fail with one line and a non-zero exit", () => {
  oneLineFailure(cli("env", "run", "hoper"), /unknown environment "hoper"; closest: hopper/);
  oneLineFailure(cli("env", "run", "hopper", "--episodes", "0"), /--episodes must be an integer ≥ 1/);
  oneLineFailure(cli("env", "run", "hopper", "--policy", "expert"), /Allowed choices are random, zero/);
  oneLineFailure(cli("env", "run", "hopper", "--seed", "x"), /--seed must be an integer ≥ 0/);
  oneLineFailure(cli("env", "run", "hopper", "--pixels", "frame.jpg"), /--pixels: the output file must end in \.png/);
});
