/** D4RL antmaze v2 evaluation semantics (docs/design/environments.md §7) and maze construction (§7.3). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { AntMazeEnv, antmazeGoalReached } from "../../src/envs/antmaze.js";
import { ANTMAZE_TASKS, MAZES, cellCenter, sampleGoal } from "../../src/envs/maze.js";
import type { AntMazeId, MazeName } from "../../src/envs/maze.js";
import { envInfo, listEnvs } from "../../src/envs/registry.js";
import { terminationRule } from "../../src/envs/termination.js";
import { Rng } from "../../src/engine/rng.js";

const OPTS = { massModel: "legacy" as const, disableIsland: true, seed: 0 };

/** The spec's grids (docs/design/environments.md §7.3), written out again so the tests check maze.ts against the spec. */
const SPEC_GRIDS: Record<MazeName, { rows: string[]; walls: number; goalBase: [number, number] }> = {
  umaze: { rows: ["11111", "1R001", "11101", "1G001", "11111"], walls: 18, goalBase: [0, 8] },
  medium: {
    rows: ["11111111", "1R011001", "10010001", "11000111", "10010001", "10100101", "100010G1", "11111111"],
    walls: 38,
    goalBase: [20, 20],
  },
  large: {
    rows: [
      "111111111111", "1R0001000001", "101101010101", "100000010001", "101111011101",
      "100101000001", "110101010111", "100100010G01", "111111111111",
    ],
    walls: 62,
    goalBase: [32, 24],
  },
};

function zeros(): number[] {
  return new Array(8).fill(0);
}

test("antmaze: registry entries, dimensions and time limits", () => {
  const expected: Record<AntMazeId, number> = {
    "antmaze-umaze": 700,
    "antmaze-umaze-diverse": 700,
    "antmaze-medium-play": 1000,
    "antmaze-medium-diverse": 1000,
    "antmaze-large-play": 1000,
    "antmaze-large-diverse": 1000,
  };
  const ids = listEnvs().filter((e) => e.family === "antmaze").map((e) => e.id);
  assert.deepEqual(ids.sort(), Object.keys(expected).sort());
  for (const [id, steps] of Object.entries(expected)) {
    const info = envInfo(id);
    assert.deepEqual([info.obsShape, info.actionDim, info.maxEpisodeSteps], [[29], 8, steps], id);
  }
});

test("antmaze: observation is qpos[0:15] ++ qvel[0:14]; actions map to ±30 torques", async () => {
  const env = await AntMazeEnv.create("antmaze-umaze", OPTS);
  try {
    assert.deepEqual(env.observationSpace.shape, [29]);
    const obs0 = env.reset({ seed: 1 });
    assert.deepEqual(obs0, Float32Array.from([...env.sim.qpos(), ...env.sim.qvel()]));
    // The start is the origin, perturbed by the reset noise.
    assert.ok(Math.abs(obs0[0]) <= 0.1 && Math.abs(obs0[1]) <= 0.1);
    const a = [0.5, -1, 1, 0, 2, -3, 0.25, -0.75];
    const r = env.step(a);
    const ctrl = env.sim.ctrl();
    a.forEach((v, i) => assert.ok(Math.abs(ctrl[i] - 30 * Math.min(1, Math.max(-1, v))) <= 1e-12, `ctrl[${i}] = ${ctrl[i]}`));
    assert.deepEqual(r.obs, Float32Array.from([...env.sim.qpos(), ...env.sim.qvel()]));
  } finally {
    env.close();
  }
});

test("antmaze: success test is distance ≤ 0.5, boundary included", () => {
  assert.equal(antmazeGoalReached([0.5, 0], [0, 0]), true);
  assert.equal(antmazeGoalReached([0, -0.5], [0, 0]), true);
  assert.equal(antmazeGoalReached([0.5 + 1e-9, 0], [0, 0]), false);
  assert.equal(antmazeGoalReached([20.3, 19.7], [20, 20]), true);
  assert.equal(antmazeGoalReached([20.4, 19.6], [20, 20]), false);
});

test("antmaze: ant placed at the goal gets reward 1 and terminates; elsewhere 0, and the height rule is ignored", async () => {
  const env = await AntMazeEnv.create("antmaze-umaze", OPTS);
  try {
    env.reset({ seed: 5 });
    const goal = env.goal;
    // Precondition: with this seed the goal (and the ant 1 m to its right) keeps the legs (0.88 m reach) clear of
    // the wall at y = 10, so the placed ant is not thrown by a wall contact.
    assert.ok(goal[1] < 9.1, `goal ${goal}`);
    const q = env.sim.qpos();
    const still = new Float64Array(env.sim.nv);
    q[0] = goal[0];
    q[1] = goal[1];
    env.sim.setState(q, still);
    const hit = env.step(zeros());
    assert.equal(hit.reward, 1);
    assert.equal(hit.terminated, true);
    assert.equal(hit.truncated, false);
    assert.equal(hit.info.success, true);
    assert.deepEqual(hit.info.goal, goal);
    assert.deepEqual(hit.info.xy, [env.sim.qpos()[0], env.sim.qpos()[1]]);

    env.reset({ seed: 5 });
    const q2 = env.sim.qpos();
    q2[0] = goal[0] + 1.0;
    q2[1] = goal[1];
    // Far above the ant's healthy range: D4RL's antmaze ignores the ant's own "done".
    q2[2] = 1.5;
    env.sim.setState(q2, still);
    const miss = env.step(zeros());
    assert.equal(miss.reward, 0);
    assert.equal(miss.terminated, false);
    assert.equal(miss.info.success, false);
    assert.ok(miss.obs[2] > 1.0, "the torso is still above the ant's healthy range");
    assert.ok(Math.abs((miss.info.distance as number) - 1.0) < 0.1);
  } finally {
    env.close();
  }
});

test("antmaze: umaze truncates at exactly 700 steps, without termination", async () => {
  const env = await AntMazeEnv.create("antmaze-umaze", OPTS);
  try {
    env.reset({ seed: 3 });
    for (let t = 1; t <= 700; t++) {
      const r = env.step(zeros());
      assert.equal(r.terminated, false);
      assert.equal(r.truncated, t === 700, `step ${t}`);
    }
  } finally {
    env.close();
  }
});

test("antmaze: goal sampler is seeded and lands in [centre, centre + 1.5]² of the goal cell", () => {
  for (const name of ["umaze", "medium", "large"] as const) {
    const layout = MAZES[name];
    const spec = SPEC_GRIDS[name];
    assert.deepEqual(cellCenter(layout, layout.goal), spec.goalBase, `${name} goal base`);
    assert.equal(spec.rows[layout.goal[0]][layout.goal[1]], "G");
    assert.deepEqual(sampleGoal(layout, new Rng(5)), sampleGoal(layout, new Rng(5)));
    assert.notDeepEqual(sampleGoal(layout, new Rng(5)), sampleGoal(layout, new Rng(6)));
    const rng = new Rng(7);
    const dx: number[] = [];
    const dy: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const [x, y] = sampleGoal(layout, rng);
      dx.push(x - spec.goalBase[0]);
      dy.push(y - spec.goalBase[1]);
    }
    for (const d of [dx, dy]) {
      assert.ok(Math.min(...d) >= 0 && Math.max(...d) <= 1.5, `${name}: offsets within [0, 1.5]`);
      // U(0, 1) + U(0, 0.5): mean 0.75, reaching both ends of the range.
      const mean = d.reduce((s, v) => s + v, 0) / d.length;
      assert.ok(Math.abs(mean - 0.75) < 0.03, `${name}: mean offset ${mean}`);
      assert.ok(Math.min(...d) < 0.1 && Math.max(...d) > 1.4, `${name}: offsets cover the range`);
    }
  }
});

test("antmaze: the goal is resampled at every reset and reproduced by the seed", async () => {
  const env = await AntMazeEnv.create("antmaze-umaze", OPTS);
  try {
    env.reset({ seed: 11 });
    const g1 = env.goal;
    env.reset();
    const g2 = env.goal;
    assert.notDeepEqual(g1, g2);
    env.reset({ seed: 11 });
    assert.deepEqual(env.goal, g1);
    for (const g of [g1, g2]) assert.ok(g[0] >= 0 && g[0] <= 1.5 && g[1] >= 8 && g[1] <= 9.5, `goal ${g}`);
  } finally {
    env.close();
  }
});

test("antmaze: wall boxes sit exactly on the layout grid (vertical rays through every cell)", async () => {
  for (const [name, id] of [["umaze", "antmaze-umaze"], ["medium", "antmaze-medium-play"], ["large", "antmaze-large-diverse"]] as const) {
    const env = await AntMazeEnv.create(id, OPTS);
    try {
      env.reset({ seed: 0 });
      const spec = SPEC_GRIDS[name];
      const startRow = spec.rows.findIndex((r) => r.includes("R"));
      const startCol = spec.rows[startRow].indexOf("R");
      // Park the ant outside the maze so that no ray meets it.
      const q = env.sim.qpos();
      q[0] = -30;
      q[1] = -30;
      env.sim.setState(q, new Float64Array(env.sim.nv));
      assert.equal(env.sim.names("geom").filter((n) => n.startsWith("block_")).length, spec.walls, `${name} wall count`);
      spec.rows.forEach((row, i) =>
        [...row].forEach((cell, j) => {
          const cx = 4 * (j - startCol);
          const cy = 4 * (i - startRow);
          // The centre and points 0.1 m inside each edge: the box covers exactly the 4 m × 4 m cell.
          for (const [ox, oy] of [[0, 0], [1.9, 0], [-1.9, 0], [0, 1.9], [0, -1.9]]) {
            const hit = env.sim.multiRay([cx + ox, cy + oy, 5], [0, 0, -1]);
            const geom = env.sim.name("geom", hit.geomId[0]);
            if (cell === "1") {
              assert.equal(geom, `block_${i}_${j}`, `${name} (${i}, ${j}) offset (${ox}, ${oy})`);
              assert.ok(Math.abs(hit.dist[0] - 3) < 1e-9, `${name} wall top at z = 2`);
            } else {
              assert.equal(geom, "floor", `${name} (${i}, ${j}) offset (${ox}, ${oy}) should be free`);
            }
          }
        }),
      );
    } finally {
      env.close();
    }
  }
});

test("antmaze: same seed and actions give identical trajectories and goals", async () => {
  const a = await AntMazeEnv.create("antmaze-umaze-diverse", OPTS);
  const b = await AntMazeEnv.create("antmaze-umaze-diverse", OPTS);
  try {
    assert.deepEqual(a.reset({ seed: 21 }), b.reset({ seed: 21 }));
    assert.deepEqual(a.goal, b.goal);
    const rng = new Rng(22);
    for (let t = 0; t < 100; t++) {
      const act = Array.from({ length: 8 }, () => rng.uniformRange(-1, 1));
      const ra = a.step(act);
      const rb = b.step(act);
      assert.deepEqual(ra.obs, rb.obs);
      assert.equal(ra.reward, rb.reward);
    }
  } finally {
    a.close();
    b.close();
  }
});

test("antmaze: uniform-random actions never reach the umaze goal (D4RL reference minimum 0)", async () => {
  const env = await AntMazeEnv.create("antmaze-umaze", OPTS);
  try {
    const rng = new Rng(31);
    let successes = 0;
    let farthest = 0;
    for (let e = 0; e < 3; e++) {
      env.reset({ seed: 300 + e });
      for (;;) {
        const r = env.step(Array.from({ length: 8 }, () => rng.uniformRange(-1, 1)));
        successes += r.reward;
        const [x, y] = r.info.xy as [number, number];
        farthest = Math.max(farthest, Math.hypot(x, y));
        if (r.terminated || r.truncated) break;
      }
    }
    assert.equal(successes, 0);
    // The walls keep a flailing ant in the start corridor, far from the goal 8 m away.
    assert.ok(farthest < 6, `random ant wandered ${farthest} m`);
  } finally {
    env.close();
  }
});

test("antmaze: model-rollout termination never fires on the task, only on blown-up predictions", () => {
  for (const id of Object.keys(ANTMAZE_TASKS)) {
    const rule = terminationRule(id);
    assert.equal(rule.obsDim, 29);
    const obs = new Float64Array(29);
    obs[0] = 20;
    obs[1] = 20;
    obs[2] = 1.7;
    assert.equal(rule.fn(obs), "none", id);
    obs[10] = Number.POSITIVE_INFINITY;
    assert.equal(rule.fn(obs), "numerical", id);
    obs[10] = 150;
    assert.equal(rule.fn(obs), "numerical", id);
  }
});
