/**
 * The dm_control suite cheetah (docs/design/environments.md §9.2), authored from the design docs' parameter tables.
 *
 * Differs from the Gymnasium half-cheetah: joint ranges, fthigh gear 90, self-collision between non-adjacent
 * capsules (conaffinity 1), default solver parameters, a 200 m × 1.6 m ground strip, total mass 14 kg.
 * qpos layout: rootx, rootz, rooty, bthigh, bshin, bfoot, fthigh, fshin, ffoot.
 */
import type { Attrs, BodySpec, CapsuleGeom, MassModel, Vec3 } from "./builder.js";
import { dmcModelXml, trackcomCamera, trackcomLight, type DmcModelSpec } from "./dmc-common.js";

const RADIUS = 0.046;
/** Contact and look of every cheetah capsule (dm_control's `cheetah` geom class). */
const GEOM: Attrs = { contype: 1, conaffinity: 1, condim: 3, friction: [0.4, 0.1, 0.1], material: "self" };

function capsule(name: string, halfLength: number, pos: Vec3, yAngle: number): CapsuleGeom {
  return { name, shape: { radius: RADIUS, halfLength, pos, yAngle }, attrs: GEOM };
}

/** A leg body with its hinge (axis +y, armature 0.1) and its one capsule. */
function leg(
  name: string,
  pos: Vec3,
  range: readonly [number, number],
  stiffness: number,
  damping: number,
  geom: CapsuleGeom,
  children: BodySpec[] = [],
): BodySpec {
  const joint: Attrs = { name, type: "hinge", axis: [0, 1, 0], limited: "true", range, stiffness, damping, armature: 0.1 };
  return { name, pos, joints: [joint], geoms: [geom], children };
}

const root = (name: string, type: "slide" | "hinge", axis: Vec3): Attrs => ({
  name, type, axis, limited: "false", stiffness: 0, damping: 0, armature: 0,
});

export const CHEETAH_MODEL: DmcModelSpec = {
  model: "clap-rl dmc cheetah",
  timestep: 0.01,
  totalMass: 14,
  statistic: { center: [0, 0, 0.7], extent: 2 },
  // Outside the cheetah's geom class in dm_control, so the ground keeps MuJoCo's default friction.
  floor: { name: "ground", pos: [98, 0, 0], size: [100, 0.8, 0.5] },
  root: {
    name: "torso",
    pos: [0, 0, 0.7],
    extras: [
      trackcomLight(),
      // Camera 0 is the one V-D4RL renders (docs/design/environments.md §8.3, §12).
      trackcomCamera("side", [0, -3, 0], { quat: [0.707, 0.707, 0, 0] }),
      trackcomCamera("back", [-1.8, -1.3, 0.8], { xyaxes: [0.45, -0.9, 0, 0.3, 0.15, 0.94] }),
    ],
    joints: [root("rootx", "slide", [1, 0, 0]), root("rootz", "slide", [0, 0, 1]), root("rooty", "hinge", [0, 1, 0])],
    geoms: [
      { name: "torso", shape: { radius: RADIUS, fromto: [-0.5, 0, 0, 0.5, 0, 0] }, attrs: GEOM },
      capsule("head", 0.15, [0.6, 0, 0.1], 50),
    ],
    children: [
      leg("bthigh", [-0.5, 0, 0], [-30, 60], 240, 6, capsule("bthigh", 0.145, [0.1, 0, -0.13], -218), [
        leg("bshin", [0.16, 0, -0.25], [-50, 50], 180, 4.5, capsule("bshin", 0.15, [-0.14, 0, -0.07], -116), [
          leg("bfoot", [-0.28, 0, -0.14], [-230, 50], 120, 3, capsule("bfoot", 0.094, [0.03, 0, -0.097], -15)),
        ]),
      ]),
      leg("fthigh", [0.5, 0, 0], [-57, 0.4], 180, 4.5, capsule("fthigh", 0.133, [-0.07, 0, -0.12], 30), [
        leg("fshin", [-0.14, 0, -0.24], [-70, 50], 120, 3, capsule("fshin", 0.106, [0.065, 0, -0.09], -34), [
          leg("ffoot", [0.13, 0, -0.18], [-28, 28], 60, 1.5, capsule("ffoot", 0.07, [0.045, 0, -0.07], -34)),
        ]),
      ]),
    ],
  },
  motors: [
    ["bthigh", 120],
    ["bshin", 90],
    ["bfoot", 60],
    ["fthigh", 90],
    ["fshin", 60],
    ["ffoot", 30],
  ],
};

export function cheetahXml(massModel: MassModel): string {
  return dmcModelXml(CHEETAH_MODEL, massModel);
}
