/**
 * dm_control tasks `dmc-cheetah-run` and `dmc-walker-walk` (docs/design/environments.md §8–§10): tolerance and reward
 * formulas, observation layouts, V-D4RL action repeat and time limit, legacy-step synchronisation, reset
 * randomisation, seeded determinism, plausible random-policy returns.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { sigmoid, tolerance, type DmcEnv, type Sigmoid } from "../../src/envs/dmc.js";
import { DmcCheetahRunEnv, cheetahRunReward } from "../../src/envs/dmc-cheetah.js";
import { DmcWalkerWalkEnv, walkerWalkReward } from "../../src/envs/dmc-walker.js";
import { envInfo, makeEnv } from "../../src/envs/registry.js";
import { Rng } from "../../src/engine/rng.js";
import { UserError } from "../../src/errors.js";

const SIGMOIDS: Sigmoid[] = ["gaussian", "hyperbolic", "long_tail", "reciprocal", "cosine", "linear", "quadratic", "tanh_squared"];

function randomActions(rng: Rng, n: number): number[][] {
  return Array.from({ length: n }, () => Array.from({ length: 6 }, () => rng.uniformRange(-1, 1)));
}

test("tolerance: 1 inside the bounds, the margin value at the margin, decreasing outside, for every sigmoid", () => {
  for (const kind of SIGMOIDS) {
    const opts = { bounds: [1, 2] as const, margin: 0.5, sigmoid: kind, valueAtMargin: 0.2 };
    assert.equal(tolerance(1, opts), 1, kind);
    assert.equal(tolerance(2, opts), 1, kind);
    assert.ok(Math.abs(tolerance(0.5, opts) - 0.2) < 1e-12, `${kind} below: ${tolerance(0.5, opts)}`);
    assert.ok(Math.abs(tolerance(2.5, opts) - 0.2) < 1e-12, `${kind} above: ${tolerance(2.5, opts)}`);
    const near = tolerance(0.9, opts);
    assert.ok(near > 0.2 && near < 1, `${kind} between bound and margin: ${near}`);
    assert.ok(tolerance(-1, opts) < 0.2, kind);
  }
  // Closed forms at half the margin (d = 0.5), valueAtMargin v = 0.1.
  const v = 0.1;
  assert.ok(Math.abs(sigmoid(0.5, v, "gaussian") - Math.pow(v, 0.25)) < 1e-12);
  assert.ok(Math.abs(sigmoid(0.5, v, "linear") - 0.55) < 1e-12);
  assert.ok(Math.abs(sigmoid(0.5, v, "quadratic") - (1 - 0.25 * 0.9)) < 1e-12);
  assert.ok(Math.abs(sigmoid(0.5, v, "reciprocal") - 1 / (0.5 * 9 + 1)) < 1e-12);
  assert.ok(Math.abs(sigmoid(0.5, v, "long_tail") - 1 / (0.25 * 9 + 1)) < 1e-12);
  // The bounded sigmoids reach exactly 0 and stay there.
  assert.equal(sigmoid(1 / 0.9, v, "linear"), 0);
  assert.equal(sigmoid(5, v, "cosine"), 0);
  assert.equal(sigmoid(5, v, "quadratic"), 0);
  // Zero margin is an indicator of the bounds.
  assert.equal(tolerance(0.999, { bounds: [1, 2] }), 0);
  assert.equal(tolerance(1.5, { bounds: [1, 2] }), 1);
});

test("tolerance: invalid arguments are refused with a UserError", () => {
  assert.throws(() => tolerance(0, { bounds: [2, 1] }), UserError);
  assert.throws(() => tolerance(0, { bounds: [1, 2], margin: -1 }), UserError);
  assert.throws(() => tolerance(0, { bounds: [1, 2], margin: 1, sigmoid: "gaussian", valueAtMargin: 0 }), UserError);
  assert.throws(() => tolerance(0, { bounds: [1, 2], margin: 1, sigmoid: "linear", valueAtMargin: 1 }), UserError);
  assert.equal(tolerance(0, { bounds: [1, 2], margin: 1, sigmoid: "linear", valueAtMargin: 0 }), 0);
});

test("cheetah-run reward = clip(v / 10, 0, 1)", () => {
  assert.equal(cheetahRunReward(10), 1);
  assert.equal(cheetahRunReward(25), 1);
  assert.ok(Math.abs(cheetahRunReward(9.99) - 0.999) < 1e-12);
  assert.ok(Math.abs(cheetahRunReward(5) - 0.5) < 1e-12);
  assert.equal(cheetahRunReward(0), 0);
  assert.equal(cheetahRunReward(-3), 0);
});

test("walker-walk reward = stand · (5·move + 1) / 6 with the documented terms", () => {
  const full = walkerWalkReward({ height: 1.3, uprightZz: 1, speed: 2 });
  assert.equal(full.reward, 1);
  // Standing Gaussian: 0.1 at the margin (h = 0.6), 0.1^(1/4) at half the margin (h = 0.9).
  assert.ok(Math.abs(walkerWalkReward({ height: 0.6, uprightZz: 1, speed: 1 }).terms.standing - 0.1) < 1e-12);
  const s = Math.pow(0.1, 0.25);
  const r = walkerWalkReward({ height: 0.9, uprightZz: 0, speed: 0.3 });
  assert.ok(Math.abs(r.terms.standing - s) < 1e-12);
  assert.equal(r.terms.upright, 0.5);
  assert.ok(Math.abs(r.terms.move - 0.3) < 1e-12);
  assert.ok(Math.abs(r.reward - ((3 * s + 0.5) / 4) * (5 * 0.3 + 1) / 6) < 1e-12);
  // Upside down, not moving, on the ground: only the small stand term remains.
  const low = walkerWalkReward({ height: 0.1, uprightZz: -1, speed: -1 });
  assert.equal(low.terms.move, 0);
  assert.ok(low.reward >= 0 && low.reward < 0.01, `${low.reward}`);
});

test("cheetah: constructed states give the formula's reward from the centre-of-mass velocity sensor", async () => {
  const env = await DmcCheetahRunEnv.create({ seed: 0 });
  try {
    env.reset();
    const qpos = env.sim.qpos0();
    const check = (vx: number, expected: number) => {
      const qvel = new Float64Array(9);
      qvel[0] = vx; // rootx: the whole body translates, so the centre of mass moves at vx
      env.sim.setState(qpos, qvel);
      const { reward, terms } = env.rewardTerms();
      assert.ok(Math.abs(terms.speed - vx) < 1e-12, `speed ${terms.speed} vs ${vx}`);
      assert.ok(Math.abs(reward - expected) < 1e-12, `v=${vx}: reward ${reward}, expected ${expected}`);
    };
    check(10, 1);
    check(12, 1);
    check(9.5, 0.95);
    check(4, 0.4);
    check(-2, 0);
    // A pure pitch rate moves the centre of mass sideways too: the sensor, not qvel[0], is what counts.
    const qvel = new Float64Array(9);
    qvel[2] = 3;
    env.sim.setState(qpos, qvel);
    assert.ok(Math.abs(env.rewardTerms().terms.speed) > 1e-3);
  } finally {
    env.close();
  }
});

test("walker: constructed states give the formula's reward from torso height, tilt and velocity", async () => {
  const env = await DmcWalkerWalkEnv.create({ seed: 0 });
  try {
    env.reset();
    // qpos: rootz, rootx, rooty, right_hip, right_knee, right_ankle, left_hip, left_knee, left_ankle
    const qpos = new Float64Array(9);
    const qvel = new Float64Array(9);
    qvel[1] = 1; // rootx velocity 1: at the walk speed
    env.sim.setState(qpos, qvel);
    let terms = env.rewardTerms();
    assert.ok(Math.abs(terms.terms.height - 1.3) < 1e-12);
    assert.ok(Math.abs(terms.reward - 1) < 1e-12, `${terms.reward}`);

    qpos[0] = -0.4; // torso origin at 0.9 m: half the standing margin below 1.2
    qpos[2] = Math.PI / 2; // lying horizontal: xmat zz = 0
    qvel[1] = 0.3;
    env.sim.setState(qpos, qvel);
    terms = env.rewardTerms();
    const s = Math.pow(0.1, 0.25);
    const expected = ((3 * s + 0.5) / 4) * (5 * 0.3 + 1) / 6;
    assert.ok(Math.abs(terms.terms.height - 0.9) < 1e-12);
    assert.ok(Math.abs(terms.terms.upright - 0.5) < 1e-12);
    assert.ok(Math.abs(terms.reward - expected) < 1e-12, `${terms.reward} vs ${expected}`);
  } finally {
    env.close();
  }
});

test("observation layouts follow dm_control's key order; spaces and registry agree", async () => {
  const cheetah = await makeEnv("dmc-cheetah-run");
  const walker = await makeEnv("dmc-walker-walk");
  try {
    assert.ok(cheetah instanceof DmcCheetahRunEnv && walker instanceof DmcWalkerWalkEnv);
    for (const env of [cheetah, walker]) {
      const info = envInfo(env.id);
      assert.deepEqual(env.observationSpace.shape, info.obsShape);
      assert.equal(env.actionSpace.dim, 6);
      assert.equal(env.maxEpisodeSteps, 500);
      assert.equal(info.maxEpisodeSteps, 500);
      assert.equal(env.camera.name, "side");
      assert.equal(env.sim.name("camera", 0), "side");
    }
    assert.deepEqual(cheetah.sim.names("joint"), ["rootx", "rootz", "rooty", "bthigh", "bshin", "bfoot", "fthigh", "fshin", "ffoot"]);
    assert.deepEqual(walker.sim.names("joint"), [
      "rootz", "rootx", "rooty", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
    ]);
    assert.deepEqual(walker.sim.names("body").slice(1), ["torso", "right_thigh", "right_leg", "right_foot", "left_thigh", "left_leg", "left_foot"]);
    assert.throws(() => cheetah.step(new Array(6).fill(0.3)), UserError, "stepping before reset");

    const c = cheetah.reset() as Float32Array;
    assert.equal(c.length, 17);
    assert.deepEqual(c, Float32Array.from([...cheetah.sim.qpos().subarray(1), ...cheetah.sim.qvel()]));
    const w = walker.reset() as Float32Array;
    assert.equal(w.length, 24);
    const expected: number[] = [];
    for (let b = 1; b <= 7; b++) {
      const m = walker.sim.bodyXmat(b);
      expected.push(m[0], m[2]);
    }
    expected.push(walker.sim.bodyXpos("torso")[2], ...walker.sim.qvel());
    assert.deepEqual(w, Float32Array.from(expected));
  } finally {
    cheetah.close();
    walker.close();
  }
});

test("episodes: 500 agent steps, truncated not terminated, rewards summed over the action repeat", async () => {
  for (const id of ["dmc-cheetah-run", "dmc-walker-walk"]) {
    const env = (await makeEnv(id, { seed: 4 })) as DmcEnv;
    const rng = new Rng(9);
    try {
      env.reset();
      let steps = 0;
      for (;;) {
        const r = env.step(randomActions(rng, 1)[0]);
        steps++;
        const parts = r.info.controlRewards as number[];
        assert.equal(parts.length, 2);
        for (const p of parts) assert.ok(p >= 0 && p <= 1, `${id} control reward ${p}`);
        assert.equal(r.reward, parts[0] + parts[1]);
        assert.ok(r.reward >= 0 && r.reward <= 2);
        assert.equal(r.info.discount, 1);
        assert.equal(r.terminated, false);
        if (r.truncated) break;
        assert.ok(steps < 500, `${id} ran past 500 steps`);
      }
      assert.equal(steps, 500);
      // 1000 control steps of the dm_control clock.
      const controlDt = id === "dmc-cheetah-run" ? 0.01 : 0.025;
      assert.ok(Math.abs(env.sim.time - 1000 * controlDt) < 1e-9, `${id} time ${env.sim.time}`);
      assert.throws(() => env.step(new Array(6).fill(0)), UserError);
    } finally {
      env.close();
    }
  }
});

test("legacy step: reward, xpos and sensors describe the post-step state (no stale substep)", async () => {
  for (const id of ["dmc-cheetah-run", "dmc-walker-walk"]) {
    const env = (await makeEnv(id, { seed: 2 })) as DmcEnv;
    const rng = new Rng(5);
    try {
      env.reset();
      for (const a of randomActions(rng, 30)) env.step(a);
      const before = env.rewardTerms();
      const xpos = env.sim.bodyXpos("torso");
      const sensor = env.sim.sensor("torso_subtreelinvel");
      env.sim.forward(); // recompute everything from qpos/qvel
      const after = env.rewardTerms();
      assert.ok(Math.abs(before.reward - after.reward) < 1e-12, `${id}: ${before.reward} vs ${after.reward}`);
      const xpos2 = env.sim.bodyXpos("torso");
      const sensor2 = env.sim.sensor("torso_subtreelinvel");
      for (let k = 0; k < 3; k++) {
        assert.ok(Math.abs(xpos[k] - xpos2[k]) < 1e-12, `${id} xpos[${k}]`);
        assert.ok(Math.abs(sensor[k] - sensor2[k]) < 1e-9, `${id} sensor[${k}]`);
      }
    } finally {
      env.close();
    }
  }
});

test("cheetah reset: random leg angles, 200 settling steps, clock back at 0", async () => {
  const env = await DmcCheetahRunEnv.create({ seed: 0 });
  try {
    const legAngles = new Set<string>();
    for (let seed = 0; seed < 4; seed++) {
      env.reset({ seed });
      assert.equal(env.sim.time, 0);
      const qpos = env.sim.qpos();
      // Dropped from 0.7 m, the cheetah has landed and come (nearly) to rest during the settling steps.
      assert.ok(qpos[1] < -0.05, `rootz ${qpos[1]}`);
      assert.ok(Math.max(...env.sim.qvel().map(Math.abs)) < 1, "settled");
      legAngles.add(Array.from(qpos.subarray(3)).map((x) => x.toFixed(6)).join(","));
    }
    assert.equal(legAngles.size, 4);
  } finally {
    env.close();
  }
});

test("walker reset: limited hinges and rooty randomised, slides untouched, at rest", async () => {
  const env = await DmcWalkerWalkEnv.create({ seed: 0 });
  try {
    const ranges = env.sim.names("joint").map((j) => env.sim.jointRange(j));
    let pitchBeyondQuarterTurn = 0;
    for (let seed = 0; seed < 12; seed++) {
      env.reset({ seed });
      const qpos = env.sim.qpos();
      assert.equal(qpos[0], 0);
      assert.equal(qpos[1], 0);
      assert.ok(qpos[2] >= -Math.PI && qpos[2] < Math.PI);
      if (Math.abs(qpos[2]) > Math.PI / 2) pitchBeyondQuarterTurn++;
      for (let j = 3; j < 9; j++) assert.ok(qpos[j] >= ranges[j][0] && qpos[j] <= ranges[j][1], `joint ${j}: ${qpos[j]}`);
      assert.deepEqual(Array.from(env.sim.qvel()), new Array(9).fill(0));
    }
    assert.ok(pitchBeyondQuarterTurn > 0, "rooty is drawn from the full circle");
  } finally {
    env.close();
  }
});

test("seeded determinism: same seed and actions → identical observations and rewards", async () => {
  for (const id of ["dmc-cheetah-run", "dmc-walker-walk"]) {
    const actions = randomActions(new Rng(3), 100);
    const run = async (seed: number) => {
      const env = await makeEnv(id, { seed });
      try {
        const obs = [Array.from(env.reset())];
        const rewards: number[] = [];
        for (const a of actions) {
          const r = env.step(a);
          obs.push(Array.from(r.obs));
          rewards.push(r.reward);
        }
        return { obs, rewards };
      } finally {
        env.close();
      }
    };
    const a = await run(17);
    const b = await run(17);
    const c = await run(18);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a.obs[0], c.obs[0]);
  }
});

test("random-policy returns are in the plausible range", async () => {
  // Measured with 10 episodes each (legacy masses): cheetah-run ≈ 7, walker-walk ≈ 40. Three episodes here.
  const expected: Record<string, [number, number]> = { "dmc-cheetah-run": [1, 30], "dmc-walker-walk": [20, 80] };
  for (const [id, [lo, hi]] of Object.entries(expected)) {
    const env = await makeEnv(id, { seed: 1 });
    const rng = new Rng(11);
    try {
      let total = 0;
      for (let ep = 0; ep < 3; ep++) {
        env.reset();
        for (let t = 0; t < 500; t++) total += env.step(randomActions(rng, 1)[0]).reward;
      }
      const mean = total / 3;
      assert.ok(mean > lo && mean < hi, `${id}: mean random return ${mean} outside (${lo}, ${hi})`);
    } finally {
      env.close();
    }
  }
});
