import { before, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initEngine, liveTensors, tf } from "../../src/engine/tf.js";
import { meanAbsReturnToGo } from "../../src/data/episode.js";
import { Rng } from "../../src/engine/rng.js";
import { loadArrays } from "../../src/engine/serialize.js";
import { clapPreset as presetConfig, resolveClapConfig as resolveConfig, validateClapConfig } from "../../src/algorithms/clap/config.js";
import type { ClapConfig } from "../../src/algorithms/clap/config.js";
import { train, TrainingDiverged, type EvalFn, type TrainOptions } from "../../src/training/trainer.js";
import { episodeSeeds, runEpisode } from "../../src/eval/evaluate.js";
import { loadPolicy } from "../../src/eval/policy.js";
import { loadCheckpointWith, saveCheckpoint } from "../../src/algorithms/checkpoint.js";
import { loadCheckpoint } from "../../src/algorithms/registry.js";
import { ClapAgent } from "../../src/algorithms/clap/agent.js";
import { WindowSampler } from "../../src/data/windows.js";
import { createClapPolicy } from "../../src/algorithms/clap/acting.js";
import { OBS_DIM, ACT_DIM, LinearEnv, makeStore } from "./synthetic.js";

before(async () => {
  await initEngine();
});

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), "clap-rl-method-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function config(edit: (c: ClapConfig) => void = () => {}): ClapConfig {
  const c = presetConfig("tiny");
  c.agent.epsilon = 1;
  c.model.steps = 6;
  c.agent.steps = 6;
  c.eval.every = 3;
  c.train.logEvery = 1;
  edit(c);
  return resolveConfig(c, "synthetic");
}

const store = makeStore(8, 20, 2);

/** The synthetic env is not registered, so the test plays the trainer's saved policy with evaluate.ts's episode runner. */
const linearEvaluator: EvalFn = async (spec, { episodes, seed }) => {
  const env = new LinearEnv();
  const policy = await loadPolicy(spec, { obsShape: [OBS_DIM], actDim: ACT_DIM });
  try {
    const runs = Array.from({ length: episodes }, (_, i) => runEpisode(env, policy, i, episodeSeeds(seed, i), 20));
    return { returns: runs.map((r) => r.return), lengths: runs.map((r) => r.length) };
  } finally {
    policy.dispose();
  }
};

function options(outDir: string, cfg: ClapConfig, extra: Partial<TrainOptions> = {}): TrainOptions {
  return {
    outDir,
    config: cfg,
    store,
    dataset: { name: "synthetic", path: "(memory)" },
    envId: "synthetic-linear",
    evaluate: linearEvaluator,
    report: false,
    ...extra,
  };
}

/** Metrics lines without wall-clock fields, for exact comparison. */
function metrics(dir: string): Record<string, unknown>[] {
  return readFileSync(join(dir, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => {
      const { elapsed_s: _e, ...rest } = JSON.parse(l) as Record<string, unknown>;
      return rest;
    });
}

test("a run writes config, manifest, metrics, the phase-1 model and the final checkpoint", async (t) => {
  const dir = join(tempDir(t), "run");
  const r = await train(options(dir, config(), { commandLine: ["clap-rl", "train"] }));
  assert.equal(r.status, "done");
  for (const f of ["config.json", "manifest.json", "metrics.jsonl", "model/state.json", "model/model.bin", "checkpoint/state.json", "checkpoint/agent.bin", "checkpoint/obs-stats.json"]) {
    assert.ok(existsSync(join(dir, f)), `missing ${f}`);
  }
  const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
  assert.equal(manifest.status, "done");
  assert.equal(manifest.seed, 0);
  assert.equal(manifest.modelCheckpoint, join(dir, "model"));
  assert.ok(manifest.package.version && manifest.engine.tfjsCore && manifest.startedAt && manifest.endedAt);
  assert.deepEqual(manifest.command, ["clap-rl", "train"]);
  assert.ok(typeof manifest.finalEval.return_mean === "number");
  const m = metrics(dir);
  assert.deepEqual(
    m.filter((x) => x.phase === "model").map((x) => x.step),
    [1, 2, 3, 4, 5, 6],
  );
  assert.deepEqual(
    m.filter((x) => x.phase === "eval").map((x) => x.step),
    [0, 3, 6],
  );
  const modelLine = m.find((x) => x.phase === "model")!;
  for (const k of ["loss", "obs", "act", "kl_s", "kl_u", "rew", "cont"]) assert.equal(typeof modelLine[k], "number", `model term ${k} logged`);
  const agentLine = m.find((x) => x.phase === "agent")!;
  for (const k of ["actor_loss", "value_loss", "return", "value", "logp"]) assert.equal(typeof agentLine[k], "number", `agent term ${k} logged`);
  const evals = m.filter((x) => x.phase === "eval");
  for (const k of ["return_mean", "value_estimate", "policy_action_mse", "policy_action_mse_start", "prior_action_mse", "prior_action_mse_start", "policy_prior_shift", "policy_prior_shift_start"]) {
    for (const e of evals) assert.equal(typeof e[k], "number", `eval @ ${e.step}: ${k} logged`);
  }
  // The prior policy (ũ = μ) does not change in phase 2: it is played once, at agent step 0, with the policy's
  // episode seeds.
  assert.equal(typeof evals[0].prior_return_mean, "number", "prior policy evaluated at agent step 0");
  assert.equal(evals[0].prior_length_mean, 20);
  assert.ok(evals.slice(1).every((e) => e.prior_return_mean === undefined), "the prior policy is evaluated only at step 0");
  assert.equal(evals[1].prior_action_mse, evals[0].prior_action_mse, "the prior's action error does not change in phase 2");
  assert.equal(evals[0].policy_prior_shift, 0, "the untrained policy's mode is the prior policy (policy.initMean 'zero')");
  assert.ok((evals[2].policy_prior_shift as number) > 0, "training moves the policy off the prior");
  const saved = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  assert.equal(saved.agent.epsilon, 1);
  assert.equal(saved.agent.discount, 0.99);
  await assert.rejects(train(options(dir, config())), /already holds a run; pass --resume/);
});

test("resuming from checkpoints reproduces the uninterrupted run exactly", async (t) => {
  const root = tempDir(t);
  const cfg = config();
  const straight = join(root, "straight");
  await train(options(straight, cfg));

  const resumed = join(root, "resumed");
  const r1 = await train(options(resumed, cfg, { shouldStop: (phase, step) => phase === "model" && step === 4 }));
  assert.equal(r1.status, "stopped");
  assert.equal(JSON.parse(readFileSync(join(resumed, "manifest.json"), "utf8")).status, "stopped");
  const r2 = await train(options(resumed, cfg, { resume: true, shouldStop: (phase, step) => phase === "agent" && step === 4 }));
  assert.deepEqual([r2.status, r2.modelStep, r2.agentStep], ["stopped", 6, 4]);
  const r3 = await train(options(resumed, cfg, { resume: true }));
  assert.equal(r3.status, "done");

  assert.deepEqual(metrics(resumed), metrics(straight));
  const a = loadArrays(join(straight, "checkpoint", "agent.bin"));
  const b = loadArrays(join(resumed, "checkpoint", "agent.bin"));
  assert.deepEqual([...a.keys()], [...b.keys()]);
  for (const [k, v] of a) assert.deepEqual(b.get(k)!.data, v.data, `agent array ${k} differs after resume`);
  const manifest = JSON.parse(readFileSync(join(resumed, "manifest.json"), "utf8"));
  assert.equal(manifest.resumes.length, 2);
  assert.equal(manifest.status, "done");
});

test("checkpoint round trip: parameters, optimiser moments, RNG states; the loaded policy acts like the live one", async (t) => {
  const dir = tempDir(t);
  const cfg = config();
  const agent = new ClapAgent(cfg, { obsDim: OBS_DIM, actDim: ACT_DIM }, new Rng(3));
  const sampler = new WindowSampler(store, { B: 4, T: 10, normalise: true }, new Rng(4));
  for (let i = 0; i < 3; i++) agent.modelStep(sampler.sample());
  for (let i = 0; i < 2; i++) agent.agentStep(sampler.sample());
  const ckpt = join(dir, "ckpt");
  const dims = { obsDim: OBS_DIM, actDim: ACT_DIM };
  saveCheckpoint(ckpt, {
    state: { algo: "clap", phase: "agent", modelStep: 3, agentStep: 2, dims, dataset: { name: "synthetic", path: "(memory)" }, rng: agent.rngStates() },
    groups: agent.groups(),
    config: cfg,
    obsStats: store.obsStats,
  });
  assert.deepEqual(
    readdirSync(dir).filter((f) => f !== "ckpt"),
    [],
    "no temp or .old directories are left behind",
  );

  const loaded = loadCheckpoint(ckpt);
  assert.deepEqual(loaded.config, cfg);
  assert.deepEqual(Array.from(loaded.obsStats!.mean), Array.from(store.obsStats!.mean));
  const copy = new ClapAgent(cfg, dims, new Rng(99));
  loaded.restoreGroup("model", copy.groups().model);
  loaded.restoreGroup("agent", copy.groups().agent);
  copy.setRngStates(loaded.state.rng);
  for (const [group, g] of Object.entries(agent.groups())) {
    const other = copy.groups()[group as "model" | "agent"];
    for (const [k, v] of g.params) assert.deepEqual(other.params.get(k)!.dataSync(), v.dataSync(), `${group} ${k}`);
    for (const [name, opt] of Object.entries(g.optimisers)) assert.deepEqual(other.optimisers[name].getState(), opt.getState(), `optimiser ${name}`);
  }
  // Continuing both gives identical losses.
  const batch = sampler.sample();
  assert.deepEqual(copy.agentStep(batch), agent.agentStep(batch));

  copy.dispose();
  agent.dispose();

  // The PolicyFactory builds from the directory the same deterministic policy as an agent restored in-process.
  const before = liveTensors();
  const restored = new ClapAgent(cfg, dims, new Rng(1));
  loaded.restoreGroup("model", restored.groups().model);
  loaded.restoreGroup("agent", restored.groups().agent);
  const inProcess = restored.actingPolicy(loaded.obsStats, { stochastic: false, posterior: "mean" });
  const fromDisk = await createClapPolicy({ checkpoint: ckpt }, { obsShape: [OBS_DIM], actDim: ACT_DIM });
  inProcess.reset(0);
  fromDisk.reset(0);
  const env = new LinearEnv();
  let obs: Float32Array | Uint8Array = env.reset({ seed: 5 });
  for (let i = 0; i < 10; i++) {
    const a = fromDisk.act(obs);
    assert.deepEqual(a, inProcess.act(obs));
    obs = env.step(a).obs;
  }
  inProcess.dispose();
  fromDisk.dispose();
  restored.dispose();
  assert.equal(liveTensors(), before, "policies and agents release their tensors");
  await assert.rejects(createClapPolicy({ checkpoint: ckpt }, { obsShape: [7], actDim: ACT_DIM }), /trained for observations of 4 values/);
});

test("--model-from reuses a trained model, skips phase 1 and records the checkpoint used", async (t) => {
  const root = tempDir(t);
  const first = join(root, "first");
  await train(options(first, config()));
  const second = join(root, "second");
  const r = await train(options(second, config((c) => (c.model.hidden = 64)), { modelFrom: first }));
  assert.equal(r.status, "done");
  const manifest = JSON.parse(readFileSync(join(second, "manifest.json"), "utf8"));
  assert.equal(manifest.modelCheckpoint, join(first, "model"));
  assert.ok(!metrics(second).some((x) => x.phase === "model"), "no model steps when the model is reused");
  const saved = JSON.parse(readFileSync(join(second, "config.json"), "utf8"));
  assert.equal(saved.model.hidden, 32, "the reused model's architecture is recorded");
  const a = loadArrays(join(first, "model", "model.bin"));
  const b = loadArrays(join(second, "checkpoint", "model.bin"));
  for (const [k, v] of a) if (k.startsWith("param/")) assert.deepEqual(b.get(k)!.data, v.data, `frozen model parameter ${k} changed`);
});

test("a NaN/Inf loss stops training with one line naming the phase, step and term", async (t) => {
  const dir = join(tempDir(t), "nan");
  // A huge learning rate sends the parameters to ±Inf within a few steps.
  const cfg = config((c) => {
    c.model.lr = 1e30;
    c.model.steps = 20;
  });
  await assert.rejects(train(options(dir, cfg)), (e: unknown) => {
    assert.ok(e instanceof TrainingDiverged);
    assert.match(e.message, /training stopped: model loss term '\w+' became (NaN|Infinity|-Infinity) at model step \d+/);
    assert.ok(!e.message.includes("\n"));
    return true;
  });
  assert.equal(JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")).status, "diverged");
});

test("agent.valueScale 'returns' and a value warm-up through the trainer: the scale is saved with the run and used by the loaded policy", async (t) => {
  const dir = join(tempDir(t), "run");
  await train(
    options(
      dir,
      config((c) => {
        c.agent.valueScale = "returns";
        c.agent.valueWarmup = 2;
      }),
    ),
  );
  const agentLines = metrics(dir).filter((m) => m.phase === "agent");
  assert.deepEqual(
    agentLines.map((m) => typeof m.value_target === "number"),
    [true, true, false, false, false, false],
    "the first two agent steps are value warm-up steps on the data's returns-to-go",
  );
  const ckpt = loadCheckpointWith(dir, validateClapConfig);
  const expected = Math.max(1, meanAbsReturnToGo(store.episodes, 0.99));
  assert.ok(expected > 1, "the synthetic data's returns should give a scale other than 1");
  assert.equal(ckpt.dims.returnScale, expected);
  const agent = new ClapAgent(ckpt.config, ckpt.dims, new Rng(0));
  const plain = new ClapAgent({ ...ckpt.config, agent: { ...ckpt.config.agent, valueScale: "none" } }, ckpt.dims, new Rng(0));
  const feat = tf.randomNormal([5, agent.nets.model.featDim], 0, 1, "float32", 3) as tf.Tensor2D;
  const ratio = tf.tidy(() => tf.div(agent.nets.value.apply(feat), plain.nets.value.apply(feat)).dataSync());
  for (const r of ratio) assert.ok(Math.abs(r - expected) < 1e-3 * expected, `v / MLP = ${r}, expected ${expected}`);
  feat.dispose();
  agent.dispose();
  plain.dispose();
});
