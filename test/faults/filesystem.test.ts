/**
 * The file system refusing (docs/reliability.md): files without read permission and folders without write permission
 * are one line naming the path (exit 5); a disk that fills up during a run stops it with one line, and once there is
 * room again the same command continues it to the metrics of an uninterrupted run.
 *
 * Root ignores permissions, so as root the commands run as the user nobody (setpriv); a full disk is a small tmpfs,
 * which only root can mount. Where neither is possible the test is skipped with the reason.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeSyntheticD4rl } from "../method/synthetic.js";
import { cli, MAIN, manifestOf, scalars, tempDir, type CliResult } from "../main/helpers.js";

const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;

/** The CLI as an unprivileged user: nobody when this process is root, else this user. */
function cliUnprivileged(args: string[]): CliResult {
  const [cmd, argv] = isRoot
    ? ["setpriv", [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", process.execPath, MAIN, ...args]]
    : [process.execPath, [MAIN, ...args]];
  const r = spawnSync(cmd, argv, { encoding: "utf8", timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function unprivilegedSkip(): string | false {
  if (!isRoot) return false;
  const probe = spawnSync("setpriv", [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", process.execPath, "-e", "0"]);
  return probe.status === 0 ? false : "running as root and cannot drop to the user nobody with setpriv, so permissions are not enforced";
}

function oneLine(r: CliResult, code: number, pattern: RegExp): void {
  assert.equal(r.code, code, r.stderr);
  assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  assert.match(r.stderr, pattern);
}

const FAST = ["--preset", "tiny", "--set", "model.steps=20", "--set", "agent.steps=4", "--set", "train.checkpointEvery=5", "--set", "eval.every=0", "--set", "eval.maxSteps=5", "--quiet"];

test("unreadable dataset and checkpoint files, and an unwritable --out, are one line naming the path (exit 5)", { skip: unprivilegedSkip() }, async (t) => {
  const dir = tempDir(t, "clap-rl-faults-");
  chmodSync(dir, 0o755);
  const data = join(dir, "synthetic-hopper-medium.hdf5");
  await writeSyntheticD4rl(data, 11, 3);
  const run = join(dir, "run");
  assert.equal(cli(["train", "--dataset", data, "--env", "hopper", ...FAST, "--out", run]).code, 0);

  const locked = join(dir, "locked-hopper-medium.hdf5");
  cpSync(data, locked);
  chmodSync(locked, 0o000);
  oneLine(cliUnprivileged(["train", "--dataset", locked, "--env", "hopper", ...FAST, "--out", join(dir, "other")]), 5, /locked-hopper-medium\.hdf5: cannot read the dataset \(permission denied\)/);
  const v = cliUnprivileged(["dataset", "validate", locked]);
  assert.equal(v.code, 1);
  assert.match(v.stdout, /cannot read the dataset \(permission denied\)/);

  chmodSync(join(run, "checkpoint", "agent.bin"), 0o000);
  oneLine(cliUnprivileged(["eval", "--run", run, "--episodes", "1"]), 5, /checkpoint\/agent\.bin: cannot read the checkpoint file \(permission denied\)/);

  const readOnly = join(dir, "read-only");
  mkdirSync(readOnly, { mode: 0o555 });
  chmodSync(readOnly, 0o555);
  const w = cliUnprivileged(["train", "--dataset", data, "--env", "hopper", ...FAST, "--out", join(readOnly, "run")]);
  oneLine(w, 5, /read-only\/run: cannot mkdir \(permission denied\)/);
});

function fullDiskSkip(): string | false {
  if (!isRoot) return "a size-limited file system (tmpfs) can only be mounted by root";
  return false;
}

test("a disk that fills up stops the run with one line; with room again the same command continues it exactly", { skip: fullDiskSkip() }, async (t) => {
  const dir = tempDir(t, "clap-rl-faults-");
  const data = join(dir, "synthetic-hopper-medium.hdf5");
  await writeSyntheticD4rl(data, 11, 3);
  // Its own folder, unmounted before it is removed (tempDir's removal would fail on a mount point).
  const disk = mkdtempSync(join(tmpdir(), "clap-rl-disk-"));
  t.after(() => {
    spawnSync("umount", [disk]);
    rmSync(disk, { recursive: true, force: true });
  });
  // Room for one checkpoint (about 460 KB at the tiny preset) but not for the next one beside it.
  const mount = spawnSync("mount", ["-t", "tmpfs", "-o", "size=700k", "tmpfs", disk], { encoding: "utf8" });
  if (mount.status !== 0) {
    t.skip(`cannot mount a tmpfs here (${mount.stderr.trim()})`);
    return;
  }
  const base = ["train", "--dataset", data, "--env", "hopper", ...FAST];
  const run = join(disk, "run");
  oneLine(cli([...base, "--out", run]), 5, /run\/.*: cannot (write|append to|mkdir|open|rename).*\(no space left on the device\)/);
  assert.equal(manifestOf(run).status, "running");

  assert.equal(spawnSync("mount", ["-o", "remount,size=64m", disk]).status, 0);
  const again = cli([...base, "--out", run]);
  assert.equal(again.code, 0, again.stderr);
  const whole = join(dir, "whole");
  assert.equal(cli([...base, "--out", whole]).code, 0);
  assert.deepEqual(scalars(run), scalars(whole));
});
