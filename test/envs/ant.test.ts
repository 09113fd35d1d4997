/** Gymnasium Ant-v4 semantics (docs/design/environments.md §6) on the project's ant model. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { AntEnv } from "../../src/envs/ant.js";
import { envInfo, makeEnv } from "../../src/envs/registry.js";
import { TERMINATION_RULES, terminationRule } from "../../src/envs/termination.js";
import { Rng } from "../../src/engine/rng.js";
import { UserError } from "../../src/errors.js";

const OPTS = { massModel: "legacy" as const, disableIsland: true, seed: 0 };

function randomAction(rng: Rng, scale = 1): number[] {
  return Array.from({ length: 8 }, () => rng.uniformRange(-scale, scale));
}

function close(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs ${expected}`);
}

test("ant: registry entry and dimensions (27 obs, 8 actions, 1000 steps; 111 with contact forces)", async () => {
  const info = envInfo("ant");
  assert.deepEqual(
    { obs: info.obsShape, act: info.actionDim, steps: info.maxEpisodeSteps, sem: info.semantics },
    { obs: [27], act: 8, steps: 1000, sem: "gymnasium-v4" },
  );
  const env = await makeEnv("ant");
  try {
    assert.deepEqual(env.observationSpace.shape, [27]);
    assert.equal(env.actionSpace.dim, 8);
    const obs = env.reset({ seed: 1 });
    assert.equal(obs.length, 27);
    // obs[0] is the torso height, near the 0.75 start.
    assert.ok(Math.abs(obs[0] - 0.75) <= 0.1);
  } finally {
    env.close();
  }
  const withContacts = await AntEnv.create({ ...OPTS, useContactForces: true });
  try {
    assert.deepEqual(withContacts.observationSpace.shape, [111]);
    withContacts.reset({ seed: 1 });
    const rng = new Rng(2);
    let touched = false;
    for (let t = 0; t < 30; t++) {
      const r = withContacts.step(randomAction(rng));
      const contact = r.obs.subarray(27);
      assert.equal(contact.length, 84);
      assert.ok(contact.every((v) => v >= -1 && v <= 1), "contact forces are clipped to [-1, 1]");
      if (contact.some((v) => v !== 0)) touched = true;
      if (r.terminated) break;
    }
    assert.ok(touched, "the feet touch the floor, so some contact force is non-zero");
  } finally {
    withContacts.close();
  }
});

test("ant: reward = forward (stale torso xpos) + 1 − 0.5·Σclip(a)², on a random rollout", async () => {
  const env = await AntEnv.create(OPTS);
  try {
    env.reset({ seed: 3 });
    const rng = new Rng(4);
    let staleSeen = false;
    for (let t = 0; t < 60; t++) {
      const before = env.sim.bodyXpos("torso");
      // Out-of-range entries are clipped before both the physics and the control cost.
      const a = randomAction(rng, 1.5);
      const r = env.step(a);
      const after = env.sim.bodyXpos("torso");
      const forward = (after[0] - before[0]) / 0.05;
      const ctrl = 0.5 * a.reduce((s, x) => s + Math.min(1, Math.max(-1, x)) ** 2, 0);
      close(r.info.reward_forward as number, forward, 1e-12, "forward term");
      close(r.info.reward_ctrl as number, -ctrl, 1e-12, "ctrl term");
      assert.equal(r.info.reward_survive, 1);
      close(r.reward, forward + 1 - ctrl, 1e-12, "reward");
      assert.equal(r.info.x_position, after[0]);
      // Gymnasium reads xpos without a fresh mj_forward, so it lags qpos[0] by one substep.
      if (Math.abs(after[0] - env.sim.qpos()[0]) > 1e-9) staleSeen = true;
      if (r.terminated) break;
    }
    assert.ok(staleSeen, "xpos read after the step is the one-substep-stale kinematics");
  } finally {
    env.close();
  }
});

test("ant: contact cost = 5e-4·Σclip(cfrc_ext)² when contact forces are enabled", async () => {
  const env = await AntEnv.create({ ...OPTS, useContactForces: true });
  try {
    env.reset({ seed: 5 });
    const rng = new Rng(6);
    let nonZero = false;
    for (let t = 0; t < 30; t++) {
      const a = randomAction(rng);
      const r = env.step(a);
      const cost = 5e-4 * Array.from(env.sim.cfrcExtAll()).reduce((s, f) => s + Math.min(1, Math.max(-1, f)) ** 2, 0);
      close(r.info.reward_contact as number, -cost, 1e-15, "contact term");
      const sum = (r.info.reward_forward as number) + 1 + (r.info.reward_ctrl as number) + (r.info.reward_contact as number);
      close(r.reward, sum, 1e-12, "reward with contact cost");
      if (cost > 0) nonZero = true;
      if (r.terminated) break;
    }
    assert.ok(nonZero);
  } finally {
    env.close();
  }
});

test("ant: the termination rule fires exactly outside 0.2 ≤ z ≤ 1.0 and on non-finite values", () => {
  const rule = terminationRule("ant");
  assert.equal(rule.obsDim, 27);
  const obs = new Float64Array(27);
  const at = (z: number) => {
    obs[0] = z;
    return rule.fn(obs);
  };
  assert.equal(at(0.2), "none");
  assert.equal(at(1.0), "none");
  assert.equal(at(0.6), "none");
  assert.equal(at(0.2 - 1e-12), "terminal");
  assert.equal(at(1.0 + 1e-12), "terminal");
  obs[0] = 0.6;
  obs[20] = Number.NaN;
  assert.equal(rule.fn(obs), "numerical");
  // Rows of a batch are read at their offset.
  const batch = new Float64Array(54);
  batch[0] = 0.6;
  batch[27] = 1.5;
  assert.equal(rule.fn(batch, 0), "none");
  assert.equal(rule.fn(batch, 27), "terminal");
});

test("ant: constructed states terminate when too high, continue when healthy; stepping after the end throws", async () => {
  const env = await AntEnv.create(OPTS);
  try {
    env.reset({ seed: 7 });
    const q = env.sim.qpos();
    const still = new Float64Array(env.sim.nv);
    // Free fall over one agent step (0.05 s) drops the torso ~1.2 cm: 1.3 stays above the 1.0 bound.
    q[2] = 1.3;
    env.sim.setState(q, still);
    const high = env.step(new Array(8).fill(0));
    assert.equal(high.terminated, true);
    assert.equal(high.truncated, false);
    assert.equal(high.info.reward_survive, 1, "v4 pays the healthy reward on the terminal step too");
    assert.ok(high.obs[0] > 1.0);
    assert.throws(() => env.step(new Array(8).fill(0)), UserError);

    env.reset({ seed: 7 });
    const ok = env.step(new Array(8).fill(0));
    assert.equal(ok.terminated, false);
    assert.equal(TERMINATION_RULES.ant.fn(ok.obs), "none");
  } finally {
    env.close();
  }
});

test("ant: reset noise is qpos0 + U(±0.1) and 0.1·N(0, 1) velocities; seeds reproduce trajectories", async () => {
  const env = await AntEnv.create(OPTS);
  const twin = await AntEnv.create(OPTS);
  try {
    const qpos0 = env.sim.qpos0();
    let maxDev = 0;
    const vel: number[] = [];
    for (let s = 0; s < 40; s++) {
      env.reset({ seed: 100 + s });
      const q = env.sim.qpos();
      for (let i = 0; i < q.length; i++) maxDev = Math.max(maxDev, Math.abs(q[i] - qpos0[i]));
      vel.push(...env.sim.qvel());
    }
    assert.ok(maxDev <= 0.1 && maxDev > 0.095, `qpos deviation ${maxDev}`);
    const std = Math.sqrt(vel.reduce((s, v) => s + v * v, 0) / vel.length);
    assert.ok(std > 0.09 && std < 0.11, `qvel noise std ${std}`);

    const a0 = env.reset({ seed: 42 });
    const b0 = twin.reset({ seed: 42 });
    assert.deepEqual(a0, b0);
    const rng = new Rng(8);
    for (let t = 0; t < 50; t++) {
      const a = randomAction(rng);
      const ra = env.step(a);
      const rb = twin.step(a);
      assert.deepEqual(ra.obs, rb.obs);
      assert.equal(ra.reward, rb.reward);
      if (ra.terminated) break;
    }
    assert.notDeepEqual(env.reset({ seed: 1 }), twin.reset({ seed: 2 }));
  } finally {
    env.close();
    twin.close();
  }
});

test("ant: uniform-random returns are consistent with D4RL's random reference (REF_MIN −325.6 per 1000 steps)", async () => {
  const env = await makeEnv("ant");
  try {
    const rng = new Rng(9);
    let total = 0;
    let steps = 0;
    const episodes = 8;
    for (let e = 0; e < episodes; e++) {
      env.reset({ seed: 200 + e });
      for (;;) {
        const r = env.step(randomAction(rng));
        total += r.reward;
        steps++;
        if (r.terminated || r.truncated) break;
      }
    }
    const perStep = total / steps;
    // D4RL's random reference is ≈ −0.33 per step over 1000 steps; ctrl cost alone is 0.5·8/3 per step.
    assert.ok(perStep > -0.45 && perStep < -0.2, `mean reward per step ${perStep}`);
    const meanReturn = total / episodes;
    assert.ok(meanReturn > -400 && meanReturn < 0, `mean return ${meanReturn}`);
  } finally {
    env.close();
  }
});
