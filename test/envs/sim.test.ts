import { test } from "node:test";
import assert from "node:assert/strict";
import { Sim, loadMujoco } from "../../src/envs/sim.js";
import { halfCheetahXml } from "../../src/envs/mjcf/halfcheetah.js";
import { hopperXml } from "../../src/envs/mjcf/hopper-walker.js";
import { UserError } from "../../src/errors.js";

test("module loads once and reports MuJoCo 3.14.0", async () => {
  const [a, b] = await Promise.all([loadMujoco(), loadMujoco()]);
  assert.equal(a, b);
  assert.equal(a.mj_versionString(), "3.14.0");
});

test("bad XML is a UserError carrying MuJoCo's message", async () => {
  await assert.rejects(Sim.fromXml("<mujoco><worldbody><geom type='nonsense'/></worldbody></mujoco>"), (e: unknown) => {
    assert.ok(e instanceof UserError);
    assert.match(e.message, /MJCF did not compile: .*MuJoCo Error/);
    return true;
  });
});

test("closed Sim throws a clear error and closing twice is harmless", async () => {
  const sim = await Sim.fromXml(hopperXml("exact"));
  assert.equal(sim.closed, false);
  sim.close();
  sim.close();
  assert.equal(sim.closed, true);
  assert.throws(() => sim.qpos(), /Sim is closed/);
  assert.throws(() => sim.step(), /Sim is closed/);
});

test("accessors return copies that survive wasm memory growth", async () => {
  const sim = await Sim.fromXml(hopperXml("exact"));
  const q = sim.qpos();
  assert.deepEqual(Array.from(q), [0, 1.25, 0, 0, 0, 0]);
  // Allocating several more simulators grows the heap, which would detach a live view.
  const others = await Promise.all([1, 2, 3].map(() => Sim.fromXml(halfCheetahXml("exact"))));
  assert.equal(q.length, 6);
  assert.equal(q[1], 1.25);
  q[1] = 99;
  assert.equal(sim.qpos()[1], 1.25, "mutating a copy must not change the simulator");
  for (const o of others) o.close();
  sim.close();
});

test("setState writes qpos/qvel and runs forward kinematics", async () => {
  const sim = await Sim.fromXml(hopperXml("exact"));
  sim.setState([0.3, 1.1, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]);
  const torso = sim.bodyXpos("torso");
  assert.ok(Math.abs(torso[0] - 0.3) < 1e-12 && Math.abs(torso[2] - 1.1) < 1e-12, `torso at ${torso}`);
  assert.throws(() => sim.setQpos([1, 2]), /expected 6 values, got 2/);
  sim.close();
});

test("named look-ups: ids, names, unknown names", async () => {
  const sim = await Sim.fromXml(hopperXml("exact"));
  assert.deepEqual(sim.names("body"), ["world", "torso", "thigh", "leg", "foot"]);
  assert.deepEqual(sim.names("actuator"), ["thigh", "leg", "foot"]);
  assert.equal(sim.name("geom", sim.id("geom", "foot_geom")), "foot_geom");
  assert.equal(sim.jointQposAdr("foot_joint"), 5);
  assert.equal(sim.hasName("body", "tail"), false);
  assert.throws(() => sim.id("body", "tail"), (e: unknown) => e instanceof UserError && /no body named "tail"/.test(e.message));
  assert.equal(sim.cameraBody("track"), sim.id("body", "torso"));
  sim.close();
});

test("island discovery is disabled by default and can be kept", async () => {
  const mj = await loadMujoco();
  const bit = mj.mjtDisableBit.mjDSBL_ISLAND.value;
  const off = await Sim.fromXml(hopperXml("exact"));
  const on = await Sim.fromXml(hopperXml("exact"), { disableIsland: false });
  assert.equal(off.disableFlags & bit, bit);
  assert.equal(on.disableFlags & bit, 0);
  assert.equal(off.islandDisabled, true);
  assert.equal(on.islandDisabled, false);
  off.close();
  on.close();
});

test("virtual files resolve <include>", async () => {
  const main = `<mujoco><worldbody><include file="parts/box.xml"/></worldbody></mujoco>`;
  const part = `<mujoco><body name="box" pos="0 0 2"><freejoint name="free"/><geom name="g" type="box" size=".1 .1 .1"/></body></mujoco>`;
  const sim = await Sim.fromXml(main, { files: { "parts/box.xml": part } });
  assert.equal(sim.nq, 7);
  sim.forward();
  assert.equal(sim.bodyXpos("box")[2], 2);
  sim.close();
  await assert.rejects(Sim.fromXml(main), UserError);
});

test("multiRay hits the torso and the floor at the right distances", async () => {
  const sim = await Sim.fromXml(hopperXml("exact"));
  sim.forward();
  // From the camera side at torso height: the torso capsule (radius 0.05) is 3 m away along +y.
  // Straight down from (5, 0, 4): the floor, 4 m away. Up into the sky: nothing.
  const hits = sim.multiRay([0, -3, 1.25], [0, 1, 0]);
  assert.ok(Math.abs(hits.dist[0] - 2.95) < 1e-9, `dist ${hits.dist[0]}`);
  assert.equal(hits.geomId[0], sim.id("geom", "torso_geom"));
  const down = sim.multiRay([5, 0, 4], [0, 0, -1, 0, 0, 1]);
  assert.ok(Math.abs(down.dist[0] - 4) < 1e-9);
  assert.equal(down.geomId[0], sim.id("geom", "floor"));
  assert.equal(down.dist[1], -1);
  assert.equal(down.geomId[1], -1);
  assert.throws(() => sim.multiRay([0, 0], [0, 0, 1]), UserError);
  sim.close();
});

test("creating and closing many Sims does not grow the wasm heap", async () => {
  const xml = halfCheetahXml("legacy");
  const cycle = async () => {
    const sim = await Sim.fromXml(xml);
    sim.multiRay([0, -3, 0.5], [0, 1, 0, 0, 1, -0.2]);
    sim.step(5);
    sim.close();
  };
  for (let i = 0; i < 10; i++) await cycle();
  const before = await Sim.wasmHeapBytes();
  // Each Sim reserves over 1 MB (model + 1 MB arena): 150 leaked ones would grow the heap by > 150 MB.
  for (let i = 0; i < 150; i++) await cycle();
  const after = await Sim.wasmHeapBytes();
  assert.ok(after - before <= 4 * 1024 * 1024, `heap grew by ${(after - before) / 1e6} MB`);
});
