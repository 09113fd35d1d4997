/**
 * Pixel observations (docs/design/environments.md §12): the wrapper's spaces, determinism, the robot's visibility where it
 * projects, pixel-by-pixel agreement with the design docs' rendering formula on dm_control cheetah, no effect on the
 * trajectory, PNG encoding and frame strips.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { PNG } from "pngjs";
import { makeEnv } from "../../src/envs/registry.js";
import { PixelEnv, withPixels } from "../../src/envs/pixels.js";
import { encodePng, frameStrip } from "../../src/envs/render.js";
import type { Env } from "../../src/envs/env.js";
import type { Sim } from "../../src/envs/sim.js";
import { Rng } from "../../src/engine/rng.js";
import { UserError } from "../../src/errors.js";

const SIZE = 64;

async function pixelEnv(id: string): Promise<PixelEnv> {
  const env = await makeEnv(id, { pixels: true });
  assert.ok(env instanceof PixelEnv);
  return env;
}

function actions(seed: number, n: number, dim: number): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => Array.from({ length: dim }, () => rng.uniformRange(-1, 1)));
}

function pixel(frame: Uint8Array, u: number, v: number): [number, number, number] {
  const i = 3 * (v * SIZE + u);
  return [frame[i], frame[i + 1], frame[i + 2]];
}

/** Both robots' colours are orange-brown (red well above blue); floors and skies here are grey or blue. */
function robotColoured([r, , b]: [number, number, number]): boolean {
  return r > b + 25;
}

/** Pixel (u, v) where world point `p` projects through the env's camera (fovy 45°, square frame). */
function project(sim: Sim, camera: string, p: ArrayLike<number>): [number, number] {
  const c = sim.camXpos(camera);
  const R = sim.camXmat(camera);
  const d = [p[0] - c[0], p[1] - c[1], p[2] - c[2]];
  // Camera-frame coordinates: the columns of the row-major cam_xmat are the camera axes in world.
  const x = R[0] * d[0] + R[3] * d[1] + R[6] * d[2];
  const y = R[1] * d[0] + R[4] * d[1] + R[7] * d[2];
  const z = R[2] * d[0] + R[5] * d[1] + R[8] * d[2];
  const tanHalf = Math.tan(Math.PI / 8);
  const u = ((x / (-z * tanHalf) + 1) * SIZE) / 2 - 0.5;
  const v = ((1 - y / (-z * tanHalf)) * SIZE) / 2 - 0.5;
  return [Math.round(u), Math.round(v)];
}

test("pixel envs observe 64×64×3 uint8 frames and keep the state in info", async () => {
  for (const id of ["hopper", "dmc-cheetah-run"]) {
    const state = await makeEnv(id);
    const env = await pixelEnv(id);
    assert.deepEqual(env.observationSpace, { shape: [64, 64, 3], dtype: "uint8" });
    assert.deepEqual(env.actionSpace, state.actionSpace);
    assert.equal(env.maxEpisodeSteps, state.maxEpisodeSteps);
    const obs = env.reset({ seed: 3 });
    assert.ok(obs instanceof Uint8Array);
    assert.equal(obs.length, 64 * 64 * 3);
    assert.equal(env.state.length, state.observationSpace.shape[0]);
    const step = env.step(new Array(env.actionSpace.dim).fill(0.5));
    assert.ok(step.obs instanceof Uint8Array);
    assert.equal(step.obs.length, 64 * 64 * 3);
    assert.ok(step.info.state instanceof Float32Array);
    assert.deepEqual(step.info.state, env.state);
    state.close();
    env.close();
  }
});

test("frames are deterministic for the same seed and actions, and change as the robot moves", async () => {
  // HalfCheetah never terminates, so every step of the fixed action sequence is legal.
  const a = await pixelEnv("halfcheetah");
  const b = await pixelEnv("halfcheetah");
  const acts = actions(11, 15, 6);
  const fa = [a.reset({ seed: 5 })];
  const fb = [b.reset({ seed: 5 })];
  for (const act of acts) {
    fa.push(a.step(act).obs as Uint8Array);
    fb.push(b.step(act).obs as Uint8Array);
  }
  assert.deepEqual(fa, fb);
  assert.notDeepEqual(fa[0], fa[fa.length - 1]);
  a.close();
  b.close();
});

test("rendering does not change the trajectory: pixel and state envs give identical states and rewards", async () => {
  // The ant's reward reads the body position MuJoCo left from the previous step (docs/design/environments.md §1.5 item 9), so
  // a renderer that refreshed kinematics would change its rewards.
  for (const id of ["hopper", "ant", "dmc-walker-walk"]) {
    const state = await makeEnv(id);
    const env = await pixelEnv(id);
    assert.deepEqual(env.reset({ seed: 2 }).length, 64 * 64 * 3);
    assert.deepEqual(env.state, state.reset({ seed: 2 }));
    for (const act of actions(4, 25, env.actionSpace.dim)) {
      const s = state.step(act);
      const p = env.step(act);
      assert.deepEqual(p.info.state, s.obs);
      assert.equal(p.reward, s.reward);
      assert.equal(p.terminated, s.terminated);
      if (s.terminated || s.truncated) break;
    }
    state.close();
    env.close();
  }
});

test("the robot is visible where its torso projects, and the sky above it is not robot-coloured", async () => {
  for (const id of ["hopper", "halfcheetah", "dmc-cheetah-run", "dmc-walker-walk"]) {
    const env = await pixelEnv(id);
    const frame = env.reset({ seed: 1 });
    const sim = env.inner.sim;
    const torso = sim.bodyXpos("torso");
    const [u, v] = project(sim, env.inner.camera.name, torso);
    assert.ok(u >= 0 && u < SIZE && v >= 0 && v < SIZE, `${id}: torso projects outside the frame (${u}, ${v})`);
    assert.ok(robotColoured(pixel(frame, u, v)), `${id}: torso pixel (${u}, ${v}) is ${pixel(frame, u, v)}`);
    const [, vAbove] = project(sim, env.inner.camera.name, [torso[0], torso[1], torso[2] + 1.5]);
    assert.ok(!robotColoured(pixel(frame, u, Math.max(0, vAbove))), `${id}: the sky above the torso is robot-coloured`);
    let robotPixels = 0;
    for (let p = 0; p < SIZE * SIZE; p++) if (robotColoured([frame[3 * p], frame[3 * p + 1], frame[3 * p + 2]])) robotPixels++;
    assert.ok(robotPixels >= 40 && robotPixels < (SIZE * SIZE) / 2, `${id}: ${robotPixels} robot-coloured pixels`);
    env.close();
  }
});

test("dm_control cheetah frames match docs/design/environments.md §12.1 pixel by pixel (within texture quantisation)", async () => {
  const env = await pixelEnv("dmc-cheetah-run");
  env.reset({ seed: 9 });
  let frame: Uint8Array = new Uint8Array(0);
  for (const act of actions(9, 12, 6)) frame = env.step(act).obs as Uint8Array;
  const sim = env.inner.sim;
  const origin = sim.camXpos("side");
  const R = sim.camXmat("side");
  const t = Math.tan((45 * Math.PI) / 360);
  const dirs = new Float64Array(3 * SIZE * SIZE);
  for (let v = 0; v < SIZE; v++) {
    for (let u = 0; u < SIZE; u++) {
      const x = ((2 * (u + 0.5)) / SIZE - 1) * t;
      const y = (1 - (2 * (v + 0.5)) / SIZE) * t;
      const n = Math.hypot(x, y, 1);
      const i = 3 * (v * SIZE + u);
      for (let k = 0; k < 3; k++) dirs[i + k] = (R[3 * k] * x + R[3 * k + 1] * y - R[3 * k + 2]) / n;
    }
  }
  const hits = sim.multiRay(origin, dirs, { normals: true, cutoff: 1000 });
  const ground = sim.id("geom", "ground");
  const counts = { sky: 0, ground: 0, body: 0 };
  for (let p = 0; p < SIZE * SIZE; p++) {
    const i = 3 * p;
    const g = hits.geomId[p];
    let expected: number[];
    if (g < 0) {
      const s = Math.min(1, Math.max(0, 0.5 + 0.5 * dirs[i + 2]));
      expected = [0.4, 0.6, 0.8].map((c) => s * c);
      counts.sky++;
    } else {
      const n = hits.normal!;
      const shade = 0.4 + 0.8 * Math.abs(n[i] * dirs[i] + n[i + 1] * dirs[i + 1] + n[i + 2] * dirs[i + 2]);
      let base = [0.7, 0.5, 0.3];
      if (g === ground) {
        // The ground strip is centred at x = 98; 196 is even, so world parity equals local parity.
        const x = origin[0] + hits.dist[p] * dirs[i];
        const y = origin[1] + hits.dist[p] * dirs[i + 1];
        base = (Math.floor(2 * x) + Math.floor(2 * y)) % 2 === 0 ? [0.1, 0.2, 0.3] : [0.2, 0.3, 0.4];
        counts.ground++;
      } else {
        counts.body++;
      }
      expected = base.map((c) => Math.min(1, c * shade));
    }
    for (let k = 0; k < 3; k++) {
      const want = Math.floor(expected[k] * 255);
      assert.ok(Math.abs(frame[i + k] - want) <= 2, `pixel ${p % SIZE},${Math.floor(p / SIZE)} channel ${k}: got ${frame[i + k]}, spec ${want}`);
    }
  }
  // The frame shows all three kinds of pixel, so each branch of the formula was checked.
  assert.ok(counts.sky > 100 && counts.ground > 100 && counts.body > 40, JSON.stringify(counts));
  env.close();
});

test("Sim.multiRay normals: unit length facing the ray on hits, zero on misses", async () => {
  const env = await makeEnv("hopper");
  env.reset({ seed: 0 });
  const sim = (env as unknown as { sim: Sim }).sim;
  // From 3 m in front of the torso: towards it, straight down to the floor, and up into the sky.
  const hits = sim.multiRay([0, -3, 1.2], [0, 1, 0, 0, 0, -1, 0, 0, 1], { normals: true });
  const n = hits.normal!;
  assert.equal(n.length, 9);
  assert.deepEqual([hits.geomId[0] > 0, hits.geomId[1], hits.geomId[2]], [true, sim.id("geom", "floor"), -1]);
  assert.ok(Math.abs(Math.hypot(n[0], n[1], n[2]) - 1) < 1e-9 && n[1] < -0.9, `torso normal ${n.slice(0, 3)}`);
  assert.deepEqual(Array.from(n.slice(3)), [0, 0, 1, 0, 0, 0]);
  assert.equal(sim.multiRay([0, -3, 1.2], [0, 1, 0]).normal, undefined);
  env.close();
});

test("pixel options: size sets the frame size; a bad camera or size is a UserError", async () => {
  const env = await makeEnv("dmc-walker-walk", { pixels: { size: 84 } });
  assert.deepEqual(env.observationSpace.shape, [84, 84, 3]);
  assert.equal(env.reset({ seed: 0 }).length, 84 * 84 * 3);
  env.close();
  await assert.rejects(makeEnv("hopper", { pixels: { camera: "overhead" } }), (e: unknown) => e instanceof UserError && /no camera named "overhead"/.test(e.message));
  await assert.rejects(makeEnv("hopper", { pixels: { size: 0 } }), (e: unknown) => e instanceof UserError && /width must be an integer/.test(e.message));
});

test("withPixels refuses environments without a MuJoCo simulator", () => {
  const fake: Env = {
    id: "fake",
    observationSpace: { shape: [1], dtype: "float32" },
    actionSpace: { dim: 1, low: -1, high: 1 },
    maxEpisodeSteps: 1,
    reset: () => new Float32Array(1),
    step: () => ({ obs: new Float32Array(1), reward: 0, terminated: true, truncated: false, info: {} }),
    close: () => {},
  };
  assert.throws(() => withPixels(fake), (e: unknown) => e instanceof UserError && /fake: pixel observations need a MuJoCo/.test(e.message));
});

test("encodePng round-trips through pngjs and frameStrip lays frames left to right", () => {
  const w = 3;
  const h = 2;
  const a = Uint8Array.from({ length: w * h * 3 }, (_, i) => i);
  const b = Uint8Array.from({ length: w * h * 3 }, (_, i) => 200 + (i % 50));
  const strip = frameStrip([a, b], w, h);
  assert.equal(strip.width, 6);
  assert.equal(strip.height, 2);
  const png = PNG.sync.read(encodePng(strip.data, strip.width, strip.height));
  assert.equal(png.width, 6);
  assert.equal(png.height, 2);
  for (let v = 0; v < h; v++) {
    for (let u = 0; u < 2 * w; u++) {
      const src = u < w ? a : b;
      const s = 3 * (v * w + (u % w));
      const d = 4 * (v * 2 * w + u);
      assert.deepEqual([png.data[d], png.data[d + 1], png.data[d + 2], png.data[d + 3]], [src[s], src[s + 1], src[s + 2], 255]);
    }
  }
  assert.throws(() => encodePng(a, 4, 2), UserError);
});
