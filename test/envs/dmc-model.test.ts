/**
 * The project's dm_control models against the design docs' mass tables (§11) and against the original dm_control
 * files (read from $CLAP_RL_REFERENCE_ASSETS/dm_control with common/*.xml through the VFS, never shipped;
 * those tests skip when the folder is absent): compiled model facts, dynamics under identical actions, and the
 * reset procedure replayed on the reference model.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Sim } from "../../src/envs/sim.js";
import type { DmcEnv } from "../../src/envs/dmc.js";
import { DmcCheetahRunEnv, CHEETAH_SETTLE_STEPS, cheetahRunReward } from "../../src/envs/dmc-cheetah.js";
import { DmcWalkerWalkEnv, walkerWalkReward } from "../../src/envs/dmc-walker.js";
import { cheetahXml } from "../../src/envs/mjcf/dmc-cheetah.js";
import { walkerXml } from "../../src/envs/mjcf/dmc-walker.js";
import type { MassModel } from "../../src/envs/mjcf/builder.js";
import { Rng } from "../../src/engine/rng.js";

type Task = "cheetah" | "walker";
const XML: Record<Task, (m: MassModel) => string> = { cheetah: cheetahXml, walker: walkerXml };

const REF_DIR = process.env.CLAP_RL_REFERENCE_ASSETS ? join(process.env.CLAP_RL_REFERENCE_ASSETS, "dm_control") : null;

/** The original dm_control model, or null when the reference folder is not available. */
async function referenceSim(task: Task): Promise<Sim | null> {
  if (REF_DIR === null || !existsSync(join(REF_DIR, `${task}.xml`))) return null;
  const files: Record<string, string> = {};
  for (const f of ["skybox", "visual", "materials"]) files[`common/${f}.xml`] = readFileSync(join(REF_DIR, "common", `${f}.xml`), "utf8");
  return Sim.fromXml(readFileSync(join(REF_DIR, `${task}.xml`), "utf8"), { files });
}

/** Body masses and principal inertias (largest first) from docs/design/environments.md §11, printed precision. */
const MASS_TABLE: Record<Task, Record<MassModel, Array<[string, number, [number, number, number]]>>> = {
  cheetah: {
    legacy: [
      ["torso", 6.36031, [8.945e-1, 8.836e-1, 1.758e-2]],
      ["bthigh", 1.53525, [1.526e-2, 1.526e-2, 1.624e-3]],
      ["bshin", 1.58094, [1.661e-2, 1.661e-2, 1.673e-3]],
      ["bfoot", 1.06919, [5.444e-3, 5.444e-3, 1.131e-3]],
      ["fthigh", 1.42559, [1.232e-2, 1.232e-2, 1.508e-3]],
      ["fshin", 1.17885, [7.163e-3, 7.163e-3, 1.247e-3]],
      ["ffoot", 0.84987, [2.9e-3, 2.9e-3, 8.992e-4]],
    ],
    exact: [
      ["torso", 6.25021, [8.971e-1, 8.857e-1, 1.792e-2]],
      ["bthigh", 1.54351, [1.684e-2, 1.684e-2, 1.576e-3]],
      ["bshin", 1.58745, [1.827e-2, 1.827e-2, 1.623e-3]],
      ["bfoot", 1.0954, [6.352e-3, 6.352e-3, 1.102e-3]],
      ["fthigh", 1.43808, [1.374e-2, 1.374e-2, 1.464e-3]],
      ["fshin", 1.20084, [8.222e-3, 8.222e-3, 1.213e-3]],
      ["ffoot", 0.88452, [3.529e-3, 3.529e-3, 8.788e-4]],
    ],
  },
  walker: {
    legacy: [
      ["torso", 10.31385, [3.985e-1, 3.985e-1, 2.527e-2]],
      ["right_thigh", 3.92699, [8.427e-2, 8.427e-2, 4.909e-3]],
      ["right_leg", 2.71434, [6.704e-2, 6.704e-2, 2.171e-3]],
      ["right_foot", 1.9635, [1.145e-2, 1.145e-2, 2.454e-3]],
      ["left_thigh", 3.92699, [8.427e-2, 8.427e-2, 4.909e-3]],
      ["left_leg", 2.71434, [6.704e-2, 6.704e-2, 2.171e-3]],
      ["left_foot", 1.9635, [1.145e-2, 1.145e-2, 2.454e-3]],
    ],
    exact: [
      ["torso", 10.67304, [4.432e-1, 4.432e-1, 2.544e-2]],
      ["right_thigh", 4.05789, [9.33e-2, 9.33e-2, 4.941e-3]],
      ["right_leg", 2.78136, [7.23e-2, 7.23e-2, 2.182e-3]],
      ["right_foot", 2.0944, [1.394e-2, 1.394e-2, 2.487e-3]],
      ["left_thigh", 4.05789, [9.33e-2, 9.33e-2, 4.941e-3]],
      ["left_leg", 2.78136, [7.23e-2, 7.23e-2, 2.182e-3]],
      ["left_foot", 2.0944, [1.394e-2, 1.394e-2, 2.487e-3]],
    ],
  },
};

for (const task of ["cheetah", "walker"] as const) {
  for (const massModel of ["legacy", "exact"] as const) {
    test(`${task} (${massModel}): body masses and principal inertias match docs/design/method.md §11`, async () => {
      const sim = await Sim.fromXml(XML[task](massModel));
      try {
        const mass = sim.bodyMass();
        const inertia = sim.bodyInertia();
        for (const [body, m, moments] of MASS_TABLE[task][massModel]) {
          const id = sim.id("body", body);
          // Masses are printed to 5 decimals, moments to 4 significant digits.
          assert.ok(Math.abs(mass[id] - m) <= 0.51e-5, `${body} mass ${mass[id]} vs ${m}`);
          const got = Array.from(inertia.subarray(3 * id, 3 * id + 3)).sort((a, b) => b - a);
          for (let k = 0; k < 3; k++) {
            const unit = Math.pow(10, Math.floor(Math.log10(moments[k])) - 3);
            assert.ok(Math.abs(got[k] - moments[k]) <= 0.51 * unit, `${body} moment ${k}: ${got[k]} vs ${moments[k]}`);
          }
        }
        if (task === "cheetah") assert.ok(Math.abs(mass.reduce((s, x) => s + x, 0) - 14) < 1e-9, "settotalmass 14");
      } finally {
        sim.close();
      }
    });
  }
}

/** Model arrays that must agree with the reference regardless of the mass model. */
const GEOMETRY_FIELDS = [
  "body_parentid", "body_pos", "body_quat", "jnt_type", "jnt_bodyid", "jnt_qposadr", "jnt_pos", "jnt_axis", "jnt_range",
  "jnt_stiffness", "jnt_solref", "jnt_solimp", "dof_damping", "dof_armature", "dof_frictionloss", "geom_type", "geom_bodyid",
  "geom_size", "geom_pos", "geom_quat", "geom_friction", "geom_contype", "geom_conaffinity", "geom_condim", "geom_solref",
  "geom_solimp", "geom_margin", "actuator_trntype", "actuator_trnid", "actuator_gear", "actuator_ctrlrange", "cam_bodyid",
  "cam_mode", "cam_pos", "cam_quat", "cam_fovy", "light_pos", "light_mode", "sensor_type", "sensor_objid", "qpos0",
] as const;
const MASS_FIELDS = ["body_mass", "body_inertia", "body_ipos", "body_subtreemass"] as const;

function modelArrays(sim: Sim, fields: readonly string[]): Record<string, number[]> {
  return sim.withRaw((_mj, model) => {
    const raw = model as unknown as Record<string, ArrayLike<number>>;
    return Object.fromEntries(fields.map((f) => [f, Array.from(raw[f])]));
  });
}

for (const task of ["cheetah", "walker"] as const) {
  test(`${task}: compiled model equals the dm_control original (geometry always, masses with "exact")`, async (t) => {
    const ref = await referenceSim(task);
    if (ref === null) return t.skip("CLAP_RL_REFERENCE_ASSETS not set or dm_control files missing");
    const ours = { legacy: await Sim.fromXml(XML[task]("legacy")), exact: await Sim.fromXml(XML[task]("exact")) };
    try {
      for (const kind of ["body", "joint", "geom", "actuator", "camera", "sensor"] as const) {
        assert.deepEqual(ours.exact.names(kind), ref.names(kind), `${kind} names`);
      }
      assert.equal(ours.exact.timestep, ref.timestep);
      const want = modelArrays(ref, [...GEOMETRY_FIELDS, ...MASS_FIELDS]);
      for (const [massModel, sim] of Object.entries(ours)) {
        const fields = massModel === "exact" ? [...GEOMETRY_FIELDS, ...MASS_FIELDS] : GEOMETRY_FIELDS;
        const got = modelArrays(sim, fields);
        for (const f of fields) {
          assert.equal(got[f].length, want[f].length, `${massModel} ${f} length`);
          for (let i = 0; i < got[f].length; i++) {
            assert.ok(Math.abs(got[f][i] - want[f][i]) <= 1e-12, `${massModel} ${f}[${i}]: ${got[f][i]} vs ${want[f][i]}`);
          }
        }
      }
      const flags = (s: Sim) => s.withRaw((_mj, m) => [m.opt.integrator, m.opt.cone, m.opt.solver, m.opt.iterations]);
      assert.deepEqual(flags(ours.exact), flags(ref));
    } finally {
      ours.legacy.close();
      ours.exact.close();
      ref.close();
    }
  });
}

/** Copies the solver warm start too, so both simulators solve the same problems from the same guesses. */
function copyState(from: Sim, to: Sim): void {
  const warm = from.withRaw((_mj, _m, d) => Float64Array.from(d.qacc_warmstart as Float64Array));
  to.withRaw((_mj, _m, d) => (d.qacc_warmstart as Float64Array).set(warm));
  to.setTime(from.time);
  to.setState(from.qpos(), from.qvel());
}

function referenceReward(task: Task, sim: Sim): number {
  const speed = sim.sensor("torso_subtreelinvel")[0];
  if (task === "cheetah") return cheetahRunReward(speed);
  return walkerWalkReward({ height: sim.bodyXpos("torso")[2], uprightZz: sim.bodyXmat("torso")[8], speed }).reward;
}

const CREATE: Record<Task, (seed: number) => Promise<DmcEnv>> = {
  cheetah: (seed) => DmcCheetahRunEnv.create({ massModel: "exact", seed }),
  walker: (seed) => DmcWalkerWalkEnv.create({ massModel: "exact", seed }),
};
const SUBSTEPS: Record<Task, number> = { cheetah: 1, walker: 10 };

for (const task of ["cheetah", "walker"] as const) {
  test(`${task}: same state and actions → same trajectory and rewards as the dm_control original`, async (t) => {
    const ref = await referenceSim(task);
    if (ref === null) return t.skip("CLAP_RL_REFERENCE_ASSETS not set or dm_control files missing");
    const env = await CREATE[task](6);
    const rng = new Rng(21);
    try {
      env.reset();
      copyState(env.sim, ref);
      let maxDiff = 0;
      for (let step = 0; step < 250; step++) {
        const action = Array.from({ length: 6 }, () => rng.uniformRange(-1, 1));
        const r = env.step(action);
        ref.setCtrl(action);
        const refRewards: number[] = [];
        for (let k = 0; k < 2; k++) {
          // dm_control's legacy step on the reference model.
          ref.step2();
          ref.step(SUBSTEPS[task] - 1);
          ref.step1();
          refRewards.push(referenceReward(task, ref));
        }
        const q = [env.sim.qpos(), env.sim.qvel(), ref.qpos(), ref.qvel()];
        for (let i = 0; i < 9; i++) maxDiff = Math.max(maxDiff, Math.abs(q[0][i] - q[2][i]), Math.abs(q[1][i] - q[3][i]));
        assert.ok(Math.abs(r.reward - (refRewards[0] + refRewards[1])) <= 1e-9, `step ${step}: reward ${r.reward} vs ${refRewards}`);
      }
      assert.ok(maxDiff <= 1e-9, `max qpos/qvel difference ${maxDiff}`);
      // The run covered real motion, not a state at rest.
      assert.ok(Math.abs(env.sim.qpos()[task === "cheetah" ? 0 : 1]) > 0.05);
    } finally {
      env.close();
      ref.close();
    }
  });
}

test("cheetah reset replayed on the dm_control original: U(range) on the leg hinges, 200 legacy steps, t = 0", async (t) => {
  const ref = await referenceSim("cheetah");
  if (ref === null) return t.skip("CLAP_RL_REFERENCE_ASSETS not set or dm_control files missing");
  const env = await CREATE.cheetah(0);
  try {
    for (const seed of [3, 4]) {
      env.reset({ seed });
      const rng = new Rng(seed);
      ref.resetData();
      ref.forward();
      const qpos = ref.qpos();
      for (let j = 3; j < 9; j++) {
        const [lo, hi] = ref.jointRange(j);
        qpos[j] = rng.uniformRange(lo, hi);
      }
      ref.setQpos(qpos);
      ref.step2();
      ref.step(CHEETAH_SETTLE_STEPS - 1);
      ref.step1();
      ref.setTime(0);
      ref.forward();
      assert.deepEqual(env.sim.qpos(), ref.qpos());
      assert.deepEqual(env.sim.qvel(), ref.qvel());
      assert.equal(env.sim.time, 0);
    }
  } finally {
    env.close();
    ref.close();
  }
});

test("walker reset replayed on the dm_control original: rooty ~ U(−π, π), hinges ~ U(range), in joint order", async (t) => {
  const ref = await referenceSim("walker");
  if (ref === null) return t.skip("CLAP_RL_REFERENCE_ASSETS not set or dm_control files missing");
  const env = await CREATE.walker(0);
  try {
    const obs = env.reset({ seed: 8 });
    const rng = new Rng(8);
    ref.resetData();
    const qpos = ref.qpos();
    qpos[2] = rng.uniformRange(-Math.PI, Math.PI);
    for (let j = 3; j < 9; j++) {
      const [lo, hi] = ref.jointRange(j);
      qpos[j] = rng.uniformRange(lo, hi);
    }
    ref.setState(qpos, new Float64Array(9));
    assert.deepEqual(env.sim.qpos(), ref.qpos());
    assert.equal(obs[14], Math.fround(ref.bodyXpos("torso")[2]));
  } finally {
    env.close();
    ref.close();
  }
});
