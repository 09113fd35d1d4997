/**
 * The plug-in contract, run against every registered algorithm: config errors are one line, a trained run's
 * checkpoint loads back bit for bit, a stopped and resumed run logs exactly what an uninterrupted one does, steps
 * leave no tensors behind, and the saved policy evaluates in worker threads as it does in-process.
 *
 * Runs train the tiny preset on random hopper-shaped data (obs 11, action 3) and are evaluated in the real hopper
 * environment with episodes capped at 20 steps: the contract is about plumbing, not about learning.
 */
import { before, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initEngine, liveTensors } from "../../src/engine/tf.js";
import { Rng } from "../../src/engine/rng.js";
import { UserError } from "../../src/errors.js";
import { EpisodeStore } from "../../src/data/store.js";
import type { Episode } from "../../src/data/episode.js";
import { WindowSampler } from "../../src/data/windows.js";
import { TransitionSampler } from "../../src/data/transitions.js";
import { evaluate } from "../../src/eval/evaluate.js";
import { saveCheckpoint } from "../../src/algorithms/checkpoint.js";
import { OWN_BATCH } from "../../src/algorithms/plugin.js";
import { ALGORITHM_NAMES, algorithm, buildRunConfig, loadCheckpoint, resolveRunConfig } from "../../src/algorithms/registry.js";
import { registryEvaluator, train, type TrainOptions } from "../../src/training/trainer.js";
import type { CommonConfig } from "../../src/config/schema.js";

const OBS = 11;
const ACT = 3;

before(async () => {
  await initEngine();
});

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), "clap-rl-contract-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Random episodes of hopper's shapes: L transitions stored as L + 1 entries, the last one a terminal. */
function randomStore(episodes: number, transitions: number, seed: number): EpisodeStore {
  const rng = new Rng(seed);
  const eps: Episode[] = Array.from({ length: episodes }, () => {
    const L = transitions + 1;
    const act = Float32Array.from({ length: L * ACT }, () => Math.tanh(rng.normal()));
    act.fill(0, (L - 1) * ACT);
    const actMask = new Float32Array(L).fill(1);
    actMask[L - 1] = 0;
    const rew = Float32Array.from({ length: L }, (_, t) => (t === 0 ? 0 : rng.normal()));
    const cont = new Float32Array(L).fill(1);
    cont[L - 1] = 0;
    const isFirst = new Float32Array(L);
    isFirst[0] = 1;
    return { length: L, obsShape: [OBS], obs: Float32Array.from({ length: L * OBS }, () => rng.normal()), actDim: ACT, act, actMask, rew, cont, isFirst, end: "terminal" };
  });
  return new EpisodeStore(eps);
}

const store = randomStore(6, 30, 3);

function tinyConfig(name: string): CommonConfig {
  return resolveRunConfig(buildRunConfig(name, { preset: "tiny", sets: ["eval.every=10", "train.logEvery=1", "eval.maxSteps=20"] }), "hopper-medium");
}

function options(outDir: string, config: CommonConfig, extra: Partial<TrainOptions> = {}): TrainOptions {
  return {
    outDir,
    config,
    store,
    dataset: { name: "hopper-medium", path: "(memory)" },
    envId: "hopper",
    evaluate: registryEvaluator("hopper", { workers: 0, maxSteps: 20 }),
    report: false,
    ...extra,
  };
}

function metrics(dir: string): Record<string, unknown>[] {
  return readFileSync(join(dir, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => {
      const { elapsed_s: _e, ...rest } = JSON.parse(l) as Record<string, unknown>;
      return rest;
    });
}

for (const name of ALGORITHM_NAMES) {
  test(`${name}: config errors are one line naming the key`, () => {
    for (const src of [{ sets: ["nope.x=1"] }, { preset: "huge" }, { sets: ["eval.episodes=0"] }, { sets: ["train.logEvery=abc"] }]) {
      assert.throws(
        () => buildRunConfig(name, src),
        (e: unknown) => e instanceof UserError && !e.message.includes("\n") && /nope|huge|eval\.episodes|train\.logEvery/.test(e.message),
        JSON.stringify(src),
      );
    }
  });

  test(`${name}: checkpoint round trip, exact resume, evaluation from the checkpoint in worker threads`, async (t) => {
    const plugin = algorithm(name);
    const config = tinyConfig(name);
    const phases = plugin.phases(config);
    const whole = join(tempDir(t), "whole");
    const r = await train(options(whole, config));
    assert.equal(r.status, "done");
    assert.equal(r.agentStep, phases.agent.steps);

    // Stopped in phase 2 (after an evaluation) and continued: the same log line for line.
    const parts = join(tempDir(t), "parts");
    const stopAt = Math.min(12, phases.agent.steps - 1);
    const first = await train(options(parts, config, { shouldStop: (phase, step) => phase === "agent" && step === stopAt }));
    assert.equal(first.status, "stopped");
    await train(options(parts, config, { resume: true }));
    assert.deepEqual(metrics(parts), metrics(whole));

    // The checkpoint loads into a fresh instance and saves back to the same bytes.
    const ckpt = loadCheckpoint(whole);
    assert.equal(ckpt.config.algo, name);
    const again = plugin.create(ckpt.config, ckpt.dims, new Rng(99), { store, stats: ckpt.obsStats, envId: "hopper" });
    try {
      const groups = again.groups();
      ckpt.restoreGroup("model", groups.model);
      ckpt.restoreGroup("agent", groups.agent);
      const copy = join(tempDir(t), "copy");
      saveCheckpoint(copy, { state: ckpt.state, groups, config: ckpt.config, obsStats: ckpt.obsStats });
      for (const g of ckpt.state.groups) {
        assert.ok(readFileSync(join(copy, `${g}.bin`)).equals(readFileSync(join(ckpt.dir, `${g}.bin`))), `${g}.bin round trip`);
      }
    } finally {
      again.dispose();
    }

    // The saved policy in a worker thread plays the same episodes as in this thread.
    const spec = plugin.policySpec(join(whole, "checkpoint"));
    const inThread = await evaluate(spec, "hopper", { episodes: 2, seed: 5, workers: 0, maxSteps: 20 });
    const inWorker = await evaluate(spec, "hopper", { episodes: 2, seed: 5, workers: 1, maxSteps: 20 });
    assert.deepEqual(inWorker.returns, inThread.returns);
  });

  test(`${name}: training steps leave no tensors behind`, () => {
    const config = tinyConfig(name);
    const plugin = algorithm(name);
    const algo = plugin.create(config, { obsDim: OBS, actDim: ACT }, new Rng(1), { store, stats: store.obsStats, envId: "hopper" });
    try {
      const phases = plugin.phases(config);
      for (const phase of ["model", "agent"] as const) {
        if (phases[phase].steps === 0) continue;
        const rng = new Rng(2);
        const spec = phases[phase];
        const next =
          spec.batch === "own"
            ? () => OWN_BATCH
            : spec.batch === "windows"
              ? ((s) => () => s.sample())(new WindowSampler(store, { B: config.data.batch, T: config.data.window, normalise: true, returnsToGo: spec.returnsToGo }, rng))
              : ((s) => () => s.sample())(new TransitionSampler(store, { B: spec.batchSize ?? config.data.batch, normalise: true }, rng));
        algo.step(phase, next());
        const before = liveTensors();
        for (let i = 0; i < 3; i++) algo.step(phase, next());
        assert.equal(liveTensors(), before, `${phase} steps`);
      }
      const batches = new WindowSampler(store, { B: 2, T: config.data.window, normalise: true }, new Rng(3));
      const diag = { all: batches.sample(), start: batches.episodeStarts(2, new Rng(4)) };
      algo.diagnostics(diag);
      const before = liveTensors();
      const d = algo.diagnostics(diag);
      assert.equal(liveTensors(), before, "diagnostics");
      assert.ok(Object.values(d).every(Number.isFinite), JSON.stringify(d));
    } finally {
      algo.dispose();
    }
  });
}
