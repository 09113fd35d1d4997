/**
 * The project's ant MJCF against the design tables (docs/design/environments.md) (docs/design/environments.md §7.2, §11) and, when available, against the
 * original public model files (read from $CLAP_RL_REFERENCE_ASSETS, never shipped).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Sim } from "../../src/envs/sim.js";
import { antXml } from "../../src/envs/mjcf/ant.js";
import type { AntVariant } from "../../src/envs/mjcf/ant.js";
import type { MassModel } from "../../src/envs/mjcf/builder.js";
import { MAZES, wallBoxes } from "../../src/envs/maze.js";
import { Rng } from "../../src/engine/rng.js";

const REF_DIR = process.env.CLAP_RL_REFERENCE_ASSETS;
const REF_FILE: Record<AntVariant, string> = { d4rl: "d4rl/ant.xml", gymnasium: "gymnasium/ant.xml" };

function referenceXml(variant: AntVariant): string | null {
  if (!REF_DIR) return null;
  const p = join(REF_DIR, REF_FILE[variant]);
  return existsSync(p) ? readFileSync(p, "utf8") : null;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, "length mismatch");
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function assertRelClose(actual: number, expected: number, rel: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= rel * Math.abs(expected), `${what}: ${actual} vs ${expected}`);
}

/** Body order of the compiled ant: world, torso, then per leg (upper, aux, foot). */
const LEG_BODY_KIND = ["hip", "hip", "ankle"] as const;

// docs/design/environments.md §11, "Ant (Gymnasium and D4RL; density 5)". Principal moments largest first.
const SPEC_INERTIAL = {
  exact: { torso: 0.32725, hip: 0.03916, ankle: 0.06759, hipI: [5.68e-4, 5.68e-4, 1.184e-4], ankleI: [2.675e-3, 2.675e-3, 2.094e-4] },
  legacy: { torso: 0.32725, hip: 0.03648, ankle: 0.06491, hipI: [4.586e-4, 4.586e-4, 1.167e-4], ankleI: [2.359e-3, 2.359e-3, 2.077e-4] },
};

for (const massModel of ["exact", "legacy"] as const) {
  test(`ant masses and principal inertias match the §11 table (${massModel})`, async () => {
    const sim = await Sim.fromXml(antXml({ variant: "d4rl", massModel }));
    try {
      const mass = sim.bodyMass();
      const inertia = sim.bodyInertia();
      const spec = SPEC_INERTIAL[massModel];
      assert.equal(sim.nbody, 14);
      assertRelClose(mass[1], spec.torso, 1e-4, "torso mass");
      for (let k = 0; k < 3; k++) assertRelClose(inertia[3 + k], 8.181e-3, 1e-3, "torso inertia");
      for (let b = 2; b < 14; b++) {
        const kind = LEG_BODY_KIND[(b - 2) % 3];
        assertRelClose(mass[b], kind === "hip" ? spec.hip : spec.ankle, 1e-4, `${sim.name("body", b)} mass`);
        const principal = Array.from(inertia.subarray(3 * b, 3 * b + 3)).sort((x, y) => y - x);
        const expected = kind === "hip" ? spec.hipI : spec.ankleI;
        // The table gives 4 significant digits.
        for (let k = 0; k < 3; k++) assertRelClose(principal[k], expected[k], 1e-3, `${sim.name("body", b)} inertia ${k}`);
      }
      const total = mass.reduce((s, m) => s + m, 0);
      if (massModel === "exact") assertRelClose(total, 0.9109, 1e-4, "total mass");
    } finally {
      sim.close();
    }
  });
}

test("every body, joint, geom, actuator and camera of the ant is named, uniquely per kind", async () => {
  const sim = await Sim.fromXml(antXml({ variant: "gymnasium", massModel: "legacy", walls: wallBoxes(MAZES.umaze) }));
  try {
    for (const kind of ["body", "joint", "geom", "actuator", "camera"] as const) {
      const names = sim.names(kind);
      assert.ok(names.length > 0, kind);
      // Unnamed objects come back as junk such as "emsc" (docs/design/environments.md §1.5 item 5), so check the exact set.
      assert.equal(new Set(names).size, names.length, `${kind} names unique`);
    }
    assert.deepEqual(sim.names("actuator"), ["hip_4", "ankle_4", "hip_1", "ankle_1", "hip_2", "ankle_2", "hip_3", "ankle_3"]);
    assert.deepEqual(sim.names("joint"), ["root", "hip_1", "ankle_1", "hip_2", "ankle_2", "hip_3", "ankle_3", "hip_4", "ankle_4"]);
    assert.deepEqual(sim.names("body"), [
      "world", "torso", "front_left_leg", "aux_1", "front_left_foot", "front_right_leg", "aux_2", "front_right_foot",
      "back_leg", "aux_3", "back_foot", "right_back_leg", "aux_4", "right_back_foot",
    ]);
    assert.deepEqual(sim.names("camera"), ["track"]);
    assert.equal(sim.names("geom").filter((n) => n.startsWith("block_")).length, 18);
  } finally {
    sim.close();
  }
});

interface RawModelFacts {
  [key: string]: number[];
}

/** Model arrays compared with the reference, read through the Sim escape hatch. */
function modelFacts(sim: Sim, includeInertia: boolean): RawModelFacts {
  return sim.withRaw((_mj, m) => {
    const take = (v: unknown) => Array.from(v as ArrayLike<number>);
    const facts: RawModelFacts = {
      timestep: [m.opt.timestep],
      integrator: [m.opt.integrator],
      geom_type: take(m.geom_type),
      geom_size: take(m.geom_size),
      geom_pos: take(m.geom_pos),
      geom_quat: take(m.geom_quat),
      geom_friction: take(m.geom_friction),
      geom_margin: take(m.geom_margin),
      geom_solref: take(m.geom_solref),
      geom_solimp: take(m.geom_solimp),
      geom_contype: take(m.geom_contype),
      geom_conaffinity: take(m.geom_conaffinity),
      geom_condim: take(m.geom_condim),
      body_pos: take(m.body_pos),
      body_quat: take(m.body_quat),
      jnt_type: take(m.jnt_type),
      jnt_axis: take(m.jnt_axis),
      jnt_pos: take(m.jnt_pos),
      jnt_range: take(m.jnt_range),
      dof_armature: take(m.dof_armature),
      dof_damping: take(m.dof_damping),
      actuator_gear: take(m.actuator_gear),
      actuator_ctrlrange: take(m.actuator_ctrlrange),
      actuator_trnid: take(m.actuator_trnid),
      qpos0: take(m.qpos0),
      // Centres of mass agree under both mass models; only mass and inertia differ.
      body_ipos: take(m.body_ipos),
    };
    if (includeInertia) {
      facts.body_mass = take(m.body_mass);
      facts.body_inertia = take(m.body_inertia);
      facts.body_iquat = take(m.body_iquat);
    }
    return facts;
  });
}

/**
 * Drives both simulators with the same random controls from the same perturbed state; returns the largest
 * qpos/qvel difference seen.
 */
function trajectoryGap(
  a: Sim,
  b: Sim,
  steps: number,
  seed: number,
  start?: (q: Float64Array) => void,
  afterStep?: () => void,
): number {
  const rng = new Rng(seed);
  const q = a.qpos0();
  for (let i = 0; i < q.length; i++) q[i] += rng.uniformRange(-0.1, 0.1);
  start?.(q);
  const v = Float64Array.from({ length: a.nv }, () => 0.1 * rng.normal());
  a.setState(q, v);
  b.setState(q, v);
  const [, hi] = a.actuatorCtrlRange()[0];
  let gap = 0;
  for (let t = 0; t < steps; t++) {
    const ctrl = Array.from({ length: a.nu }, () => hi * rng.uniformRange(-1, 1));
    a.setCtrl(ctrl);
    b.setCtrl(ctrl);
    a.step(5);
    b.step(5);
    gap = Math.max(gap, maxAbsDiff(a.qpos(), b.qpos()), maxAbsDiff(a.qvel(), b.qvel()));
    afterStep?.();
  }
  return gap;
}

for (const variant of ["d4rl", "gymnasium"] as const) {
  for (const massModel of ["exact", "legacy"] as MassModel[]) {
    test(`ant (${variant}, ${massModel}) compiles to the reference model${massModel === "exact" ? " and trajectories" : ", masses aside"}`, async (t) => {
      const ref = referenceXml(variant);
      if (ref === null) return t.skip("CLAP_RL_REFERENCE_ASSETS not set or file missing");
      const ours = await Sim.fromXml(antXml({ variant, massModel }));
      const theirs = await Sim.fromXml(ref);
      try {
        const a = modelFacts(ours, massModel === "exact");
        const b = modelFacts(theirs, massModel === "exact");
        for (const key of Object.keys(b)) assert.ok(maxAbsDiff(a[key], b[key]) <= 1e-12, `${key} differs`);
        ours.forward();
        theirs.forward();
        for (let g = 0; g < theirs.ngeom; g++) {
          assert.ok(maxAbsDiff(ours.geomXpos(g), theirs.geomXpos(g)) <= 1e-12, `geom ${g} position at qpos0`);
          assert.ok(maxAbsDiff(ours.geomXmat(g), theirs.geomXmat(g)) <= 1e-12, `geom ${g} orientation at qpos0`);
        }
        if (massModel === "exact") {
          const gap = trajectoryGap(ours, theirs, 200, 11);
          assert.ok(gap <= 1e-9, `trajectories diverge by ${gap}`);
        }
      } finally {
        ours.close();
        theirs.close();
      }
    });
  }
}

/**
 * D4RL's maze walls, written here independently of maze.ts from the design grid (docs/design/environments.md §7.3), the way
 * D4RL inserts them: boxes appended to the reference file's world body.
 */
const UMAZE_GRID = ["11111", "1R001", "11101", "1G001", "11111"];

function referenceMazeXml(refAnt: string, grid: readonly string[]): string {
  let sx = 0;
  let sy = 0;
  grid.forEach((row, i) => [...row].forEach((c, j) => { if (c === "R") { sx = 4 * j; sy = 4 * i; } }));
  const blocks: string[] = [];
  grid.forEach((row, i) =>
    [...row].forEach((c, j) => {
      if (c === "1") {
        blocks.push(`<geom name="block_${i}_${j}" pos="${4 * j - sx} ${4 * i - sy} 1" size="2 2 1" type="box" contype="1" conaffinity="1" rgba="0.7 0.5 0.3 1"/>`);
      }
    }),
  );
  const at = refAnt.lastIndexOf("</worldbody>");
  return refAnt.slice(0, at) + blocks.join("\n") + refAnt.slice(at);
}

test("antmaze walls: our umaze model matches the reference ant with D4RL's blocks, including wall contacts", async (t) => {
  const ref = referenceXml("d4rl");
  if (ref === null) return t.skip("CLAP_RL_REFERENCE_ASSETS not set or file missing");
  const ours = await Sim.fromXml(antXml({ variant: "d4rl", massModel: "exact", walls: wallBoxes(MAZES.umaze) }));
  const theirs = await Sim.fromXml(referenceMazeXml(ref, UMAZE_GRID));
  try {
    const a = modelFacts(ours, true);
    const b = modelFacts(theirs, true);
    for (const key of Object.keys(b)) assert.ok(maxAbsDiff(a[key], b[key]) <= 1e-12, `${key} differs`);
    // Start 1.2 m from the wall face at y = -2 so the back feet reach block_0_1.
    let wallContacts = 0;
    const countWallContacts = () =>
      ours.withRaw((_mj, _m, d) => {
        const contacts = d.contact;
        for (let i = 0; i < d.ncon; i++) {
          const c = contacts.get(i);
          if (c === undefined) continue;
          if (ours.name("geom", c.geom1).startsWith("block_") || ours.name("geom", c.geom2).startsWith("block_")) wallContacts++;
          c.delete();
        }
        contacts.delete();
      });
    const gap = trajectoryGap(ours, theirs, 100, 5, (q) => { q[1] = -1.2; }, countWallContacts);
    assert.ok(wallContacts > 0, "the trajectory never touched a wall, so walls were not exercised");
    assert.ok(gap <= 1e-9, `trajectories diverge by ${gap}`);
  } finally {
    ours.close();
    theirs.close();
  }
});
