import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { envInfo, listEnvs, makeEnv } from "../../src/envs/registry.js";
import { GymLocomotionEnv } from "../../src/envs/gym-locomotion.js";
import { Sim } from "../../src/envs/sim.js";
import { hopperXml, walker2dXml } from "../../src/envs/mjcf/hopper-walker.js";
import { halfCheetahXml } from "../../src/envs/mjcf/halfcheetah.js";
import type { MassModel } from "../../src/envs/mjcf/builder.js";
import { Rng } from "../../src/engine/rng.js";
import { UserError } from "../../src/errors.js";

const LOCOMOTION = [
  { id: "hopper", obs: 11, act: 3, nq: 6, frameSkip: 4, dt: 0.008, healthy: 1, ctrlW: 1e-3 },
  { id: "walker2d", obs: 17, act: 6, nq: 9, frameSkip: 4, dt: 0.008, healthy: 1, ctrlW: 1e-3 },
  { id: "halfcheetah", obs: 17, act: 6, nq: 9, frameSkip: 5, dt: 0.05, healthy: 0, ctrlW: 0.1 },
] as const;

async function make(id: string, massModel: MassModel = "legacy", seed = 0): Promise<GymLocomotionEnv> {
  const env = await makeEnv(id, { massModel, seed });
  assert.ok(env instanceof GymLocomotionEnv);
  return env;
}

function randomAction(rng: Rng, dim: number): number[] {
  return Array.from({ length: dim }, () => rng.uniformRange(-1, 1));
}

test("registry lists the three v4 envs with their shapes; unknown ids suggest close matches", async () => {
  for (const c of LOCOMOTION) {
    const info = envInfo(c.id);
    assert.deepEqual(info.obsShape, [c.obs]);
    assert.equal(info.actionDim, c.act);
    assert.equal(info.maxEpisodeSteps, 1000);
    assert.equal(info.semantics, "gymnasium-v4");
    assert.ok(listEnvs().some((e) => e.id === c.id));
  }
  await assert.rejects(makeEnv("hoper"), (e: unknown) => e instanceof UserError && /unknown environment "hoper"; closest: hopper/.test(e.message));
  await assert.rejects(makeEnv("walker"), (e: unknown) => e instanceof UserError && /closest: walker2d/.test(e.message));
  await assert.rejects(makeEnv("hopper", { massModel: "heavy" as MassModel }), /massModel must be "legacy" or "exact"/);
});

test("observation and action dimensions, qpos layout, obs excludes x", async () => {
  for (const c of LOCOMOTION) {
    const env = await make(c.id);
    assert.equal(env.actionSpace.dim, c.act);
    assert.equal(env.sim.nq, c.nq);
    assert.equal(env.frameSkip, c.frameSkip);
    assert.ok(Math.abs(env.dt - c.dt) < 1e-15);
    const obs = env.reset({ seed: 1 });
    assert.ok(obs instanceof Float32Array);
    assert.equal(obs.length, c.obs);
    const qpos = env.sim.qpos();
    const qvel = env.sim.qvel();
    assert.deepEqual(Array.from(obs), Array.from(Float32Array.from([...qpos.subarray(1), ...qvel])));
    assert.equal(env.sim.name("joint", 0), "rootx");
    env.close();
  }
});

test("reward equals forward velocity + healthy reward − ctrl cost on constructed states", async () => {
  const rng = new Rng(5);
  for (const c of LOCOMOTION) {
    const env = await make(c.id, "exact");
    env.reset({ seed: 2 });
    const qpos = env.sim.qpos0();
    qpos[0] = 0.37;
    const qvel = new Float64Array(env.sim.nv);
    qvel[0] = 1.5; // moving forward
    env.sim.setState(qpos, qvel);
    for (let k = 0; k < 3; k++) {
      const a = randomAction(rng, c.act);
      const xBefore = env.sim.qpos()[0];
      const r = env.step(a);
      const xAfter = env.sim.qpos()[0];
      const expected = (xAfter - xBefore) / c.dt + c.healthy - c.ctrlW * a.reduce((s, v) => s + v * v, 0);
      assert.ok(Math.abs(r.reward - expected) < 1e-9, `${c.id}: reward ${r.reward} vs ${expected}`);
      assert.ok(xAfter - xBefore > 0, `${c.id} should move forward`);
      const info = r.info as Record<string, number>;
      assert.equal(info.x_position, xAfter);
      assert.ok(Math.abs(info.x_velocity - (xAfter - xBefore) / c.dt) < 1e-12);
      const terms = info.reward_forward + info.reward_ctrl + (info.reward_healthy ?? 0);
      assert.ok(Math.abs(terms - r.reward) < 1e-12, `${c.id}: info terms sum ${terms} vs ${r.reward}`);
      assert.equal(info.reward_healthy, c.healthy === 0 ? undefined : c.healthy);
    }
    env.close();
  }
});

test("hopper terminates on low torso, tilted torso and out-of-range velocity; obs velocities are clipped", async () => {
  const env = await make("hopper", "exact");
  const zero = [0, 0, 0];
  const cases: Array<{ what: string; qpos: number[]; qvel: number[]; terminated: boolean }> = [
    { what: "upright", qpos: [0, 1.25, 0, 0, 0, 0], qvel: [0, 0, 0, 0, 0, 0], terminated: false },
    { what: "torso low", qpos: [0, 0.6, 0, 0, 0, 0], qvel: [0, 0, 0, 0, 0, 0], terminated: true },
    { what: "tilted forward", qpos: [0, 1.25, 0.3, 0, 0, 0], qvel: [0, 0, 0, 0, 0, 0], terminated: true },
    { what: "tilted back", qpos: [0, 1.25, -0.3, 0, 0, 0], qvel: [0, 0, 0, 0, 0, 0], terminated: true },
    // rootx velocity is free (no floor contact, no damping): it stays > 100 through the step.
    { what: "fast", qpos: [0, 1.25, 0, 0, 0, 0], qvel: [150, 0, 0, 0, 0, 0], terminated: true },
  ];
  for (const c of cases) {
    env.reset({ seed: 0 });
    env.sim.setState(c.qpos, c.qvel);
    const r = env.step(zero);
    assert.equal(r.terminated, c.terminated, c.what);
    assert.equal(r.truncated, false);
    assert.equal((r.info as Record<string, number>).reward_healthy, 1, `${c.what}: v4 pays the healthy reward on every step`);
    const z = env.sim.qpos()[1];
    if (c.what === "torso low") assert.ok(z < 0.7, `post-step height ${z}`);
    if (c.what === "fast") assert.equal(r.obs[5], 10);
  }
  env.close();
});

test("walker2d terminates outside 0.8 < z < 2 and |angle| < 1 only", async () => {
  const env = await make("walker2d", "exact");
  const zero = [0, 0, 0, 0, 0, 0];
  const cases: Array<[string, number[], number[], boolean]> = [
    ["upright", [0, 1.25, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0, 0], false],
    ["high velocity is no reason", [0, 1.25, 0, 0, 0, 0, 0, 0, 0], [150, 0, 0, 0, 0, 0, 0, 0, 0], false],
    ["too low", [0, 0.7, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0, 0], true],
    ["too high", [0, 2.1, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0, 0], true],
    ["tilted", [0, 1.25, 1.1, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0, 0], true],
    ["tilted within bound", [0, 1.25, 0.9, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0, 0], false],
  ];
  for (const [what, qpos, qvel, terminated] of cases) {
    env.reset({ seed: 0 });
    env.sim.setState(qpos, qvel);
    assert.equal(env.step(zero).terminated, terminated, what);
  }
  env.close();
});

test("halfcheetah never terminates, even upside down; it truncates at step 1000 only", async () => {
  const env = await make("halfcheetah");
  env.reset({ seed: 0 });
  env.sim.setState([0, 0, Math.PI, 0, 0, 0, 0, 0, 0], new Float64Array(9));
  const zero = [0, 0, 0, 0, 0, 0];
  for (let t = 1; t < 1000; t++) {
    const r = env.step(zero);
    assert.equal(r.terminated, false);
    assert.equal(r.truncated, false, `step ${t}`);
  }
  const last = env.step(zero);
  assert.equal(last.truncated, true);
  assert.equal(last.terminated, false);
  assert.throws(() => env.step(zero), /after the episode ended; call reset\(\) first/);
  env.close();
});

test("termination takes precedence over truncation on the last step", async () => {
  const env = await make("hopper");
  env.reset({ seed: 0 });
  let r = env.step([0, 0, 0]);
  // Fast-forward the clock to the last step, then make the state unhealthy.
  while (!r.terminated && !r.truncated && env.elapsedSteps < 999) {
    env.sim.setState([0, 1.25, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]);
    r = env.step([0, 0, 0]);
  }
  assert.equal(env.elapsedSteps, 999);
  env.sim.setState([0, 0.5, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]);
  r = env.step([0, 0, 0]);
  assert.equal(r.terminated, true);
  assert.equal(r.truncated, false);
  env.close();
});

test("seeded determinism: same seed and actions → identical trajectories; other seeds differ", async () => {
  for (const c of LOCOMOTION) {
    const run = async (seed: number) => {
      const env = await make(c.id, "legacy", 99);
      const rng = new Rng(11);
      const obs: number[] = Array.from(env.reset({ seed }));
      let ret = 0;
      for (let t = 0; t < 60; t++) {
        const r = env.step(randomAction(rng, c.act));
        obs.push(...r.obs);
        ret += r.reward;
        if (r.terminated) break;
      }
      env.close();
      return { obs, ret };
    };
    const a = await run(3);
    const b = await run(3);
    const other = await run(4);
    assert.deepEqual(a.obs, b.obs);
    assert.equal(a.ret, b.ret);
    assert.notDeepEqual(a.obs.slice(0, c.obs), other.obs.slice(0, c.obs));
  }
});

test("reset without a seed continues the stream; reset noise has the documented scale", async () => {
  for (const c of LOCOMOTION) {
    const env = await make(c.id, "legacy", 7);
    const first = Array.from(env.reset());
    const second = Array.from(env.reset());
    assert.notDeepEqual(first, second);
    const again = await make(c.id, "legacy", 7);
    assert.deepEqual(Array.from(again.reset()), first, "constructor seed fixes the first reset");
    const scale = c.id === "halfcheetah" ? 0.1 : 0.005;
    let maxPos = 0;
    let maxVel = 0;
    const q0 = env.sim.qpos0();
    for (let i = 0; i < 50; i++) {
      env.reset();
      env.sim.qpos().forEach((q, j) => (maxPos = Math.max(maxPos, Math.abs(q - q0[j]))));
      env.sim.qvel().forEach((v) => (maxVel = Math.max(maxVel, Math.abs(v))));
    }
    assert.ok(maxPos <= scale && maxPos > 0.8 * scale, `${c.id}: qpos noise ${maxPos}`);
    if (c.id === "halfcheetah") assert.ok(maxVel > 0.2 && maxVel < 0.6, `normal qvel noise ${maxVel}`);
    else assert.ok(maxVel <= scale && maxVel > 0.8 * scale, `${c.id}: qvel noise ${maxVel}`);
    env.close();
    again.close();
  }
});

test("bad actions are UserErrors naming env and index; out-of-range values are clipped", async () => {
  const env = await make("walker2d");
  env.reset({ seed: 0 });
  assert.throws(() => env.step([0, 0, 0]), (e: unknown) => e instanceof UserError && e.message === "walker2d: action has 3 values, expected 6");
  assert.throws(() => env.step([0, 0, NaN, 0, 0, 0]), (e: unknown) => e instanceof UserError && /walker2d: action\[2\] is NaN/.test(e.message));
  assert.throws(() => env.step([0, 0, 0, 0, Infinity, 0]), /walker2d: action\[4\] is Infinity/);
  env.close();

  const wild = await make("walker2d", "legacy", 1);
  const tame = await make("walker2d", "legacy", 1);
  wild.reset();
  tame.reset();
  const rw = wild.step([5, -7, 0.3, 1.0001, -2, 0]);
  const rt = tame.step([1, -1, 0.3, 1, -1, 0]);
  assert.deepEqual(Array.from(wild.sim.ctrl()), [1, -1, 0.3, 1, -1, 0]);
  assert.deepEqual(Array.from(rw.obs), Array.from(rt.obs));
  assert.equal(rw.reward, rt.reward);
  wild.close();
  tame.close();
});

test("stepping before reset is refused", async () => {
  const env = await make("hopper");
  assert.throws(() => env.step([0, 0, 0]), /step\(\) called before reset\(\)/);
  env.close();
});

// Body masses and principal inertias (largest first) from docs/design/environments.md §0.2 and §11.
const LEGACY: Record<string, Record<string, [number, number[]]>> = {
  hopper: {
    torso: [3.53429174, [6.185e-2, 6.185e-2, 4.418e-3]],
    thigh: [3.92699082, [8.427e-2, 8.427e-2, 4.909e-3]],
    leg: [2.71433605, [6.704e-2, 6.704e-2, 2.171e-3]],
    foot: [5.0893801, [9.046e-2, 9.046e-2, 9.161e-3]],
  },
  walker2d: {
    torso: [3.53429174, [6.185e-2, 6.185e-2, 4.418e-3]],
    thigh: [3.92699082, [8.427e-2, 8.427e-2, 4.909e-3]],
    leg_left: [2.71433605, [6.704e-2, 6.704e-2, 2.171e-3]],
    foot: [2.94053, [1.921e-2, 1.921e-2, 5.293e-3]],
    foot_left: [2.94053, [1.921e-2, 1.921e-2, 5.293e-3]],
  },
  halfcheetah: {
    torso: [6.36031332, [8.945e-1, 8.836e-1, 1.762e-2]],
    bthigh: [1.53524804, [1.526e-2, 1.526e-2, 1.624e-3]],
    bshin: [1.58093995, [1.661e-2, 1.661e-2, 1.673e-3]],
    bfoot: [1.0691906, [5.444e-3, 5.444e-3, 1.131e-3]],
    fthigh: [1.42558747, [1.232e-2, 1.232e-2, 1.508e-3]],
    fshin: [1.17885117, [7.163e-3, 7.163e-3, 1.247e-3]],
    ffoot: [0.84986945, [2.9e-3, 2.9e-3, 8.992e-4]],
  },
};

test("legacy mass model reproduces the mujoco-py-era masses and inertias (§0.2, §11)", async () => {
  for (const [id, bodies] of Object.entries(LEGACY)) {
    const env = await make(id, "legacy");
    const mass = env.sim.bodyMass();
    const inertia = env.sim.bodyInertia();
    for (const [body, [m, moments]] of Object.entries(bodies)) {
      const b = env.sim.id("body", body);
      assert.ok(Math.abs(mass[b] - m) / m < 1e-5, `${id}/${body}: mass ${mass[b]} vs ${m}`);
      const got = Array.from(inertia.subarray(3 * b, 3 * b + 3)).sort((x, y) => y - x);
      // §11 prints four significant figures.
      moments.forEach((v, k) => assert.ok(Math.abs(got[k] - v) / v < 1e-3, `${id}/${body}: inertia ${got} vs ${moments}`));
    }
    if (id === "halfcheetah") assert.ok(Math.abs(mass.reduce((s, x) => s + x, 0) - 14) < 1e-9);
    env.close();
  }
});

const REF_DIR = process.env.CLAP_RL_REFERENCE_ASSETS;
const REFERENCE = [
  { id: "hopper", file: "hopper.xml", xml: hopperXml, frameSkip: 4, noise: 0.005 },
  { id: "walker2d", file: "walker2d.xml", xml: walker2dXml, frameSkip: 4, noise: 0.005 },
  { id: "halfcheetah", file: "half_cheetah.xml", xml: halfCheetahXml, frameSkip: 5, noise: 0.1 },
];

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

test("our models match the Gymnasium reference files: masses, geom poses, dynamics", async (t) => {
  if (REF_DIR === undefined || !existsSync(join(REF_DIR, "gymnasium"))) {
    t.skip("CLAP_RL_REFERENCE_ASSETS not set or has no gymnasium/ folder");
    return;
  }
  for (const c of REFERENCE) {
    const ref = await Sim.fromXml(readFileSync(join(REF_DIR, "gymnasium", c.file), "utf8"));
    for (const massModel of ["exact", "legacy"] as const) {
      const ours = await Sim.fromXml(c.xml(massModel));
      assert.deepEqual(ours.names("body"), ref.names("body"));
      assert.deepEqual(ours.names("joint"), ref.names("joint"));
      assert.deepEqual(Array.from(ours.actuatorGear()), Array.from(ref.actuatorGear()));
      assert.deepEqual(ours.actuatorCtrlRange(), ref.actuatorCtrlRange());
      for (const j of ours.names("joint")) assert.ok(maxAbsDiff(ours.jointRange(j), ref.jointRange(j)) < 1e-12, `${c.id}: range of ${j}`);
      ref.resetData(); // the exact pass below moved it
      ours.forward();
      ref.forward();
      // Geom world poses at qpos0 (§14 item 3); the reference spells some sizes as 0.19999999999999996.
      for (let g = 0; g < ref.ngeom; g++) {
        assert.ok(maxAbsDiff(ours.geomXpos(g), ref.geomXpos(g)) < 1e-12, `${c.id}/${massModel}: geom ${g} position`);
        assert.ok(maxAbsDiff(ours.geomXmat(g), ref.geomXmat(g)) < 1e-12, `${c.id}/${massModel}: geom ${g} orientation`);
      }
      if (massModel === "legacy") {
        ours.close();
        continue;
      }
      assert.ok(maxAbsDiff(ours.bodyMass(), ref.bodyMass()) < 1e-12, `${c.id}: masses`);
      assert.ok(maxAbsDiff(ours.bodyInertia(), ref.bodyInertia()) < 1e-12, `${c.id}: inertias`);

      // Same start state, same random actions, 300 agent steps through contacts and falls.
      const rng = new Rng(17);
      const qpos = ref.qpos0().map((q) => q + rng.uniformRange(-c.noise, c.noise));
      const qvel = Float64Array.from({ length: ref.nv }, () => rng.uniformRange(-c.noise, c.noise));
      ours.setState(qpos, qvel);
      ref.setState(qpos, qvel);
      let worst = 0;
      for (let t = 0; t < 300; t++) {
        const a = randomAction(rng, ref.nu);
        ours.setCtrl(a);
        ref.setCtrl(a);
        ours.step(c.frameSkip);
        ref.step(c.frameSkip);
        worst = Math.max(worst, maxAbsDiff(ours.qpos(), ref.qpos()), maxAbsDiff(ours.qvel(), ref.qvel()));
      }
      assert.ok(worst < 1e-8, `${c.id}: trajectories differ by ${worst}`);
      assert.ok(Math.abs(ours.qpos()[0] - qpos[0]) > 0.05, `${c.id}: the body should have moved`);
      ours.close();
    }
    ref.close();
  }
});

test("uniform-random returns lie near the D4RL random references (§1.6, §13)", async () => {
  // §1.6 measured (20 episodes, exact masses): halfcheetah −317, hopper 16.3, walker2d 2.9.
  // D4RL REF_MIN: halfcheetah −280.2, hopper −20.3, walker2d 1.6.
  const bands: Record<string, { ret: [number, number]; len: [number, number] }> = {
    halfcheetah: { ret: [-400, -220], len: [1000, 1000] },
    hopper: { ret: [0, 40], len: [8, 60] },
    walker2d: { ret: [-10, 20], len: [8, 60] },
  };
  for (const [id, band] of Object.entries(bands)) {
    const env = await make(id, "legacy", 0);
    const rng = new Rng(2024);
    let total = 0;
    let steps = 0;
    const episodes = 10;
    for (let ep = 0; ep < episodes; ep++) {
      env.reset({ seed: 1000 + ep });
      for (;;) {
        const r = env.step(randomAction(rng, env.actionSpace.dim));
        total += r.reward;
        steps++;
        if (r.terminated || r.truncated) break;
      }
    }
    const mean = total / episodes;
    const len = steps / episodes;
    assert.ok(mean >= band.ret[0] && mean <= band.ret[1], `${id}: mean random return ${mean}`);
    assert.ok(len >= band.len[0] && len <= band.len[1], `${id}: mean length ${len}`);
    env.close();
  }
});
