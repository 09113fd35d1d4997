/** Spawning the built CLI for the main-job tests, and temp folders that clean up after themselves. */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestContext } from "node:test";

export const MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function cli(args: string[], env: NodeJS.ProcessEnv = {}): CliResult {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: "utf8", timeout: 120_000, env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function cliAsync(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, [MAIN, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
}

export function tempDir(t: TestContext, prefix = "clap-rl-main-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** metrics.jsonl without its wall-clock field: what must be equal between two runs of the same request. */
export function scalars(runDir: string): Record<string, unknown>[] {
  return readFileSync(join(runDir, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => {
      const { elapsed_s: _e, ...rest } = JSON.parse(l) as Record<string, unknown>;
      return rest;
    });
}

export function manifestOf(runDir: string): Record<string, any> {
  return JSON.parse(readFileSync(join(runDir, "manifest.json"), "utf8"));
}

/** Tiny runs that finish in seconds: short phases, no periodic evaluation, one 20-step evaluation. */
export const FAST = ["--preset", "tiny", "--set", "model.steps=20", "--set", "agent.steps=10", "--set", "eval.every=0", "--set", "eval.maxSteps=20"];
