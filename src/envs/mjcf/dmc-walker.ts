/**
 * The dm_control suite planar walker (docs/design/environments.md §10.2), authored from the design docs' parameter tables.
 *
 * qpos layout: rootz, rootx, rooty, right_hip, right_knee, right_ankle, left_hip, left_knee, left_ankle
 * (rootz before rootx, unlike Gymnasium's walker2d). Leg hinges turn about −y. Walker capsules do not collide
 * with each other (conaffinity 0), only with the floor.
 */
import type { Attrs, BodySpec, MassModel, Vec3 } from "./builder.js";
import { dmcModelXml, trackcomCamera, trackcomLight, type DmcModelSpec } from "./dmc-common.js";

/** Capsules along their body's z axis (MJCF's default orientation, written out for the emitter). */
const UP: Vec3 = [0, 0, 1];
const FRICTION: Vec3 = [0.7, 0.1, 0.1];
const GEOM: Attrs = { contype: 1, conaffinity: 0, condim: 3, friction: FRICTION, material: "self" };
/** Joint-limit softness of every walker joint (dm_control's top-level joint default). */
const SOLIMPLIMIT: Vec3 = [0, 0.99, 0.01];

function legJoint(name: string, range: readonly [number, number], pos: Vec3 = [0, 0, 0]): Attrs {
  return { name, type: "hinge", axis: [0, -1, 0], pos, limited: "true", range, damping: 0.1, armature: 0.01, solimplimit: SOLIMPLIMIT };
}

const root = (name: string, type: "slide" | "hinge", axis: Vec3): Attrs => ({
  name, type, axis, pos: [0, 0, 0], limited: "false", damping: 0, armature: 0, solimplimit: SOLIMPLIMIT,
});

function legChain(side: "right" | "left", y: number): BodySpec {
  return {
    name: `${side}_thigh`,
    pos: [0, y, -0.3],
    joints: [legJoint(`${side}_hip`, [-20, 100])],
    geoms: [{ name: `${side}_thigh`, shape: { radius: 0.05, halfLength: 0.225, pos: [0, 0, -0.225], zaxis: UP }, attrs: GEOM }],
    children: [
      {
        name: `${side}_leg`,
        pos: [0, 0, -0.7],
        joints: [legJoint(`${side}_knee`, [-150, 0], [0, 0, 0.25])],
        geoms: [{ name: `${side}_leg`, shape: { radius: 0.04, halfLength: 0.25, pos: [0, 0, 0], zaxis: UP }, attrs: GEOM }],
        children: [
          {
            name: `${side}_foot`,
            pos: [0.06, 0, -0.25],
            joints: [legJoint(`${side}_ankle`, [-45, 45], [-0.06, 0, 0])],
            geoms: [{ name: `${side}_foot`, shape: { radius: 0.05, halfLength: 0.1, pos: [0, 0, 0], zaxis: [1, 0, 0] }, attrs: GEOM }],
          },
        ],
      },
    ],
  };
}

export const WALKER_MODEL: DmcModelSpec = {
  model: "clap-rl dmc walker",
  timestep: 0.0025,
  statistic: { center: [0, 0, 1], extent: 2 },
  floor: { name: "floor", pos: [248, 0, 0], size: [250, 0.8, 0.2], contype: 1, condim: 3, friction: FRICTION },
  root: {
    name: "torso",
    pos: [0, 0, 1.3],
    extras: [
      trackcomLight(),
      // Camera 0 is the one V-D4RL renders (docs/design/environments.md §8.3, §12).
      trackcomCamera("side", [0, -2, 0.7], { euler: [60, 0, 0] }),
      trackcomCamera("back", [-2, 0, 0.5], { xyaxes: [0, -1, 0, 1, 0, 3] }),
    ],
    joints: [root("rootz", "slide", [0, 0, 1]), root("rootx", "slide", [1, 0, 0]), root("rooty", "hinge", [0, 1, 0])],
    geoms: [{ name: "torso", shape: { radius: 0.07, halfLength: 0.3, pos: [0, 0, 0], zaxis: UP }, attrs: GEOM }],
    children: [legChain("right", -0.05), legChain("left", 0.05)],
  },
  motors: [
    ["right_hip", 100],
    ["right_knee", 50],
    ["right_ankle", 20],
    ["left_hip", 100],
    ["left_knee", 50],
    ["left_ankle", 20],
  ],
};

export function walkerXml(massModel: MassModel): string {
  return dmcModelXml(WALKER_MODEL, massModel);
}
