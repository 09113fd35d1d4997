import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildClapConfig as buildConfig, CLAP_ADDED, CLAP_SCHEMA, epsilonForDataset, clapPreset as presetConfig, CLAP_PRESETS as PRESETS, resolveClapConfig as resolveConfig, type ClapConfig } from "../../src/algorithms/clap/config.js";
import { applySet as applyAny, upgradeConfig as upgradeAny, validateConfig as validateAny } from "../../src/config/schema.js";

const applySet = (c: object, s: string) => applyAny(CLAP_SCHEMA, c, s);
const validateConfig = (c: unknown, where?: string) => validateAny(CLAP_SCHEMA, c, where);
const upgradeConfig = (c: unknown) => upgradeAny(c, CLAP_ADDED);
import { UserError } from "../../src/errors.js";

test("presets carry the design values (docs/design/method.md §16.1 full, §16.2 tiny) and validate", () => {
  for (const name of Object.keys(PRESETS)) validateConfig(presetConfig(name), name);
  const tiny = presetConfig("tiny");
  assert.deepEqual(
    [tiny.data.window, tiny.data.batch, tiny.model.hidden, tiny.model.deter, tiny.model.stoch, tiny.model.latentActionDim, tiny.agent.horizon],
    [10, 4, 32, 32, 8, 4, 3],
  );
  assert.deepEqual([tiny.model.steps, tiny.agent.steps, tiny.eval.episodes, tiny.eval.maxSteps], [50, 50, 1, 50]);
  const full = presetConfig("full");
  assert.deepEqual([full.data.window, full.data.batch, full.model.deter, full.model.stoch, full.model.latentActionDim], [50, 64, 256, 30, 16]);
  assert.deepEqual([full.model.lr, full.model.eps, full.model.clip, full.agent.lr, full.agent.eta, full.agent.horizon], [3e-4, 1e-5, 100, 8e-5, 1e-4, 15]);
  assert.deepEqual([full.model.kl.freeNats, full.model.kl.balance, full.policy.initStd, full.policy.minStd], [0, 0, 1.0, 1e-4]);
  assert.equal(full.agent.returnTarget, "nstep");
  assert.equal(full.agent.nstep, null);
});

test("--set parses typed values into nested keys", () => {
  const c = presetConfig("tiny");
  applySet(c, "agent.epsilon=2.5");
  applySet(c, "model.latentAction=false");
  applySet(c, "policy.constraint=none");
  applySet(c, "model.kl.freeNats=1");
  applySet(c, "agent.nstep=2");
  applySet(c, "agent.nstep=null");
  assert.equal(c.agent.epsilon, 2.5);
  assert.equal(c.model.latentAction, false);
  assert.equal(c.policy.constraint, "none");
  assert.equal(c.model.kl.freeNats, 1);
  assert.equal(c.agent.nstep, null);
});

test("--set errors are one line naming the key, listing valid keys at that level", () => {
  const c = presetConfig("tiny");
  const err = (s: string) => {
    try {
      applySet(c, s);
    } catch (e) {
      assert.ok(e instanceof UserError, `expected a UserError for ${s}`);
      assert.ok(!e.message.includes("\n"));
      return e.message;
    }
    assert.fail(`no error for --set ${s}`);
  };
  const unknown = err("model.hiden=3");
  assert.match(unknown, /unknown key 'model\.hiden'/);
  assert.match(unknown, /valid keys in 'model': latentAction, hidden, layers/);
  assert.match(err("foo=1"), /unknown key 'foo'; valid keys: algo, preset, seed, data, eval, train, model, policy, agent/);
  assert.match(err("model.kl.x=1"), /valid keys in 'model\.kl': freeNats, balance/);
  assert.match(err("model.hidden=abc"), /'model\.hidden' must be an integer ≥ 1, got 'abc'/);
  assert.match(err("model.hidden=2.5"), /integer/);
  assert.match(err("model.latentAction=yes"), /must be true or false/);
  assert.match(err("policy.constraint=ellipse"), /must be one of box, none/);
  assert.match(err("agent.discount=1.5"), /in \[0, 1\]/);
  assert.match(err("model.lr=null"), /must be a number > 0/);
  assert.match(err("model=3"), /'model' is a section/);
  assert.match(err("model.hidden"), /expected key=value/);
  assert.match(err("model.hidden.x=1"), /'model\.hidden' is a value/);
  // Numbers are decimal: 0x10 is not read as 16, nor an empty value as 0.
  assert.match(err("model.hidden=0x10"), /'model\.hidden' must be an integer ≥ 1, got '0x10'/);
  assert.match(err("model.lr="), /'model\.lr' must be a number > 0, got ''/);
  assert.equal((applySet(c, "model.lr=2.5e-4"), c.model.lr), 2.5e-4);
  // The preset is where the values came from, chosen with --preset; --set cannot relabel a config.
  assert.match(err("preset=huge"), /'preset' names where the values came from; choose one with --preset/);
});

test("config files merge over the preset with the same checks; --set and --seed apply last", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "clap-cfg-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const good = join(dir, "good.json");
  writeFileSync(good, JSON.stringify({ preset: "tiny", agent: { horizon: 5, epsilon: 1.5 } }));
  const c = buildConfig({ file: good, sets: ["agent.horizon=7"], seed: 9 });
  assert.equal(c.preset, "tiny");
  assert.equal(c.model.hidden, 32);
  assert.equal(c.agent.horizon, 7);
  assert.equal(c.agent.epsilon, 1.5);
  assert.equal(c.seed, 9);
  const bad = join(dir, "bad.json");
  writeFileSync(bad, JSON.stringify({ agent: { horizn: 5 } }));
  assert.throws(() => buildConfig({ file: bad }), /config file '.*bad\.json': unknown key 'agent\.horizn'; valid keys in 'agent'/);
  writeFileSync(bad, JSON.stringify({ model: { hidden: "big" } }));
  assert.throws(() => buildConfig({ file: bad }), /'model\.hidden' must be an integer ≥ 1, got "big"/);
  writeFileSync(bad, "{ not json");
  assert.throws(() => buildConfig({ file: bad }), /is not valid JSON/);
  assert.throws(() => buildConfig({ file: join(dir, "missing.json") }), /cannot read config file/);
  assert.throws(() => buildConfig({ preset: "huge" }), /unknown preset 'huge' for --algo clap; valid presets: tiny, small, full/);
});

test("ε per dataset family (§16.3), antmaze discount and final episodes are derived from the dataset name", () => {
  assert.equal(epsilonForDataset("hopper-expert-v2"), 1.0);
  assert.equal(epsilonForDataset("walker2d-medium-expert"), 1.0);
  assert.equal(epsilonForDataset("halfcheetah-medium-v2"), 2.0);
  assert.equal(epsilonForDataset("hopper-medium-replay"), 3.0);
  assert.equal(epsilonForDataset("antmaze-medium-play-v2"), 2.0);
  assert.equal(epsilonForDataset("random"), undefined);
  const loco = resolveConfig(presetConfig("full"), "hopper-medium-replay");
  assert.deepEqual([loco.agent.epsilon, loco.agent.discount, loco.eval.finalEpisodes], [3.0, 0.99, 10]);
  const ant = resolveConfig(presetConfig("full"), "antmaze-umaze-diverse");
  assert.deepEqual([ant.agent.epsilon, ant.agent.discount, ant.eval.finalEpisodes], [2.0, 0.995, 100]);
  const set = presetConfig("small");
  set.agent.epsilon = 0.5;
  assert.equal(resolveConfig(set, "hopper-medium").agent.epsilon, 0.5);
  assert.throws(() => resolveConfig(presetConfig("small"), "my-data"), /cannot derive agent\.epsilon from dataset name 'my-data'/);
  const nstep = presetConfig("small");
  nstep.agent.nstep = 99;
  assert.throws(() => resolveConfig(nstep, "hopper-medium"), /agent\.nstep \(99\) must not exceed agent\.horizon/);
});

test("a config saved before a field existed is upgraded with the value it was trained with, not today's default", () => {
  const old = presetConfig("small") as unknown as Record<string, Record<string, unknown>>;
  delete old.data.coverage;
  delete old.model.scales;
  delete old.policy.initMean;
  assert.throws(() => validateConfig(structuredClone(old)), /missing key 'data.coverage'/);
  assert.equal(upgradeConfig(old), true);
  validateConfig(old);
  const c = old as unknown as ClapConfig;
  assert.equal(c.data.coverage, "full");
  assert.deepEqual(c.model.scales, { obs: 1, act: 1, rew: 1, cont: 1, klState: 1, klAction: 1 });
  assert.equal(c.policy.initMean, "random");
  assert.equal(upgradeConfig(c), false, "a current config is left as it is");
  // A malformed section is not invented: validation still names it.
  const bad = { ...presetConfig("small"), model: 3 } as unknown;
  upgradeConfig(bad);
  assert.throws(() => validateConfig(bad), /'model' must be an object/);
});
