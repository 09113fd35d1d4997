/**
 * kill -9 at random moments (docs/reliability.md): during the model phase and the agent phase of a run, the same
 * command continues it and the metrics equal an uninterrupted run's; during `dataset make`, the same command makes the
 * same bytes. Each kill lands a random 0–60 ms after a checkpoint, so some land inside the next checkpoint's save.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeSyntheticD4rl } from "../method/synthetic.js";
import { cli, cliAsync, manifestOf, scalars, tempDir } from "../main/helpers.js";

const RUN = ["--preset", "tiny", "--seed", "9", "--set", "model.steps=40", "--set", "agent.steps=20", "--set", "train.checkpointEvery=5", "--set", "eval.every=10", "--set", "eval.episodes=1", "--set", "eval.maxSteps=20", "--set", "train.logEvery=5", "--quiet"];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function progressOf(run: string): { phase: string; modelStep: number; agentStep: number } | null {
  try {
    return JSON.parse(readFileSync(join(run, "checkpoint", "state.json"), "utf8"));
  } catch {
    return null;
  }
}

async function killWhen(child: ChildProcess, ready: () => boolean, what: string): Promise<string> {
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_code, signal) => resolve(signal)));
  const deadline = Date.now() + 60_000;
  while (!ready() && Date.now() < deadline) await sleep(10);
  assert.ok(ready(), `reached ${what}`);
  const delay = Math.floor(Math.random() * 60);
  await sleep(delay);
  child.kill("SIGKILL");
  assert.equal(await exited, "SIGKILL", `still running at ${what} + ${delay} ms`);
  return `${what} + ${delay} ms`;
}

test("kill -9 twice in the model phase and twice in the agent phase: the same command continues, with the metrics of an uninterrupted run", async (t) => {
  const dir = tempDir(t, "clap-rl-faults-");
  const data = join(dir, "synthetic-hopper-medium.hdf5");
  await writeSyntheticD4rl(data, 11, 3);
  const base = ["train", "--dataset", data, "--env", "hopper", ...RUN];
  const whole = join(dir, "whole");
  const reference = cliAsync([...base, "--out", whole]);
  const referenceDone = new Promise<number | null>((resolve) => reference.on("exit", (code) => resolve(code)));

  const run = join(dir, "killed");
  const kills: string[] = [];
  const at = (phase: string, step: number) => () => {
    const p = progressOf(run);
    return p !== null && (phase === "model" ? p.modelStep >= step : p.phase !== "model" && p.agentStep >= step);
  };
  for (const [phase, step] of [["model", 10], ["model", 25], ["agent", 5], ["agent", 15]] as const) {
    kills.push(await killWhen(cliAsync([...base, "--out", run]), at(phase, step), `${phase} step ${step}`));
  }
  assert.equal(await referenceDone, 0);
  const last = cli([...base, "--out", run]);
  assert.equal(last.code, 0, last.stderr);
  assert.equal(manifestOf(run).status, "done");
  assert.deepEqual(scalars(run), scalars(whole), `killed at ${kills.join(", ")}`);
  assert.deepEqual(readdirSync(run).filter((n) => n.includes(".tmp")), [], "no temp folder of a killed save is left behind");
});

test("kill -9 during dataset make: the same command makes the same file, and no temp file is left", async (t) => {
  const dir = tempDir(t, "clap-rl-faults-");
  const make = ["dataset", "make", "clap:hopper/medium", "--size", "5000"];
  const file = (home: string) => join(home, "datasets", "hopper-medium-regen1-n5000.hdf5");
  const sha = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

  const clean = join(dir, "clean");
  const reference = cli(make, { CLAP_RL_HOME: clean });
  assert.equal(reference.code, 0, reference.stderr);

  const home = join(dir, "killed");
  const kills: number[] = [];
  for (let i = 0; i < 2; i++) {
    const child = cliAsync(make, { CLAP_RL_HOME: home });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_code, signal) => resolve(signal)));
    const delay = 500 + Math.floor(Math.random() * 2500);
    kills.push(delay);
    await sleep(delay);
    child.kill("SIGKILL");
    await exited;
  }
  const again = cli(make, { CLAP_RL_HOME: home });
  assert.equal(again.code, 0, again.stderr);
  // HDF5 stamps creation times into the file, so two clean makes differ in bytes but never in content.
  const card = (home: string) => JSON.parse(readFileSync(file(home).replace(/\.hdf5$/, ".json"), "utf8")) as { sha256: string; fileSha256: string };
  assert.equal(card(home).sha256, card(clean).sha256, `killed after ${kills.join(", ")} ms: the same rows`);
  assert.equal(card(home).fileSha256, sha(file(home)), "the card describes the file that is there");
  assert.ok(existsSync(join(home, "datasets")));
  assert.deepEqual(readdirSync(join(home, "datasets")).filter((n) => n.endsWith(".tmp")), []);
});
