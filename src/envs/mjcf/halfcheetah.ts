/**
 * Our HalfCheetah model (Gymnasium v4 physics), authored from docs/design/environments.md §3.2. Angles in radians; every
 * limb capsule is tilted about y from +z; total mass rescaled to 14 kg.
 */
import { type BodySpec, type MassModel, type Vec3, bodyXml, el, gymAssetsXml, gymLightXml, planarRootJoints, SMALL_ARENA, trackCameraXml } from "./builder.js";

const SHIN_RGBA: [number, number, number, number] = [0.9, 0.6, 0.6, 1];
const R = 0.046;

interface Limb {
  name: string;
  pos: Vec3;
  range: [number, number];
  stiffness: number;
  damping: number;
  geom: { halfLength: number; pos: Vec3; yAngle: number };
  pink?: boolean;
  child?: Limb;
}

function limb(l: Limb): BodySpec {
  return {
    name: l.name,
    pos: l.pos,
    joints: [{ name: l.name, type: "hinge", axis: [0, 1, 0], pos: [0, 0, 0], range: l.range, stiffness: l.stiffness, damping: l.damping }],
    geoms: [{ name: l.name, shape: { radius: R, ...l.geom }, attrs: { rgba: l.pink ? SHIN_RGBA : undefined } }],
    children: l.child ? [limb(l.child)] : [],
  };
}

const BACK_LEG: Limb = {
  name: "bthigh", pos: [-0.5, 0, 0], range: [-0.52, 1.05], stiffness: 240, damping: 6,
  geom: { halfLength: 0.145, pos: [0.1, 0, -0.13], yAngle: -3.8 },
  child: {
    name: "bshin", pos: [0.16, 0, -0.25], range: [-0.785, 0.785], stiffness: 180, damping: 4.5, pink: true,
    geom: { halfLength: 0.15, pos: [-0.14, 0, -0.07], yAngle: -2.03 },
    child: {
      name: "bfoot", pos: [-0.28, 0, -0.14], range: [-0.4, 0.785], stiffness: 120, damping: 3, pink: true,
      geom: { halfLength: 0.094, pos: [0.03, 0, -0.097], yAngle: -0.27 },
    },
  },
};

const FRONT_LEG: Limb = {
  name: "fthigh", pos: [0.5, 0, 0], range: [-1, 0.7], stiffness: 180, damping: 4.5,
  geom: { halfLength: 0.133, pos: [-0.07, 0, -0.12], yAngle: 0.52 },
  child: {
    name: "fshin", pos: [-0.14, 0, -0.24], range: [-1.2, 0.87], stiffness: 120, damping: 3, pink: true,
    geom: { halfLength: 0.106, pos: [0.065, 0, -0.09], yAngle: -0.6 },
    child: {
      name: "ffoot", pos: [0.13, 0, -0.18], range: [-0.5, 0.5], stiffness: 60, damping: 1.5, pink: true,
      geom: { halfLength: 0.07, pos: [0.045, 0, -0.07], yAngle: -0.6 },
    },
  },
};

const GEARS: Array<[string, number]> = [["bthigh", 120], ["bshin", 90], ["bfoot", 60], ["fthigh", 120], ["fshin", 60], ["ffoot", 30]];

export function halfCheetahXml(massModel: MassModel): string {
  const torso: BodySpec = {
    name: "torso",
    pos: [0, 0, 0.7],
    extras: [trackCameraXml([0, -3, 0.3])],
    joints: planarRootJoints([0, 0, 0]),
    geoms: [
      { name: "torso", shape: { radius: R, fromto: [-0.5, 0, 0, 0.5, 0, 0] } },
      { name: "head", shape: { radius: R, halfLength: 0.15, pos: [0.6, 0, 0.1], yAngle: 0.87 } },
    ],
    children: [limb(BACK_LEG), limb(FRONT_LEG)],
  };
  return el("mujoco", { model: "half_cheetah" }, [
    el("compiler", { angle: "radian", settotalmass: 14 }),
    SMALL_ARENA,
    el("option", { timestep: 0.01, gravity: [0, 0, -9.81] }),
    el("default", {}, [
      el("joint", { armature: 0.1, damping: 0.01, stiffness: 8, limited: "true", solimplimit: [0, 0.8, 0.03], solreflimit: [0.02, 1] }),
      el("geom", {
        contype: 1, conaffinity: 0, condim: 3, friction: [0.4, 0.1, 0.1], solimp: [0, 0.8, 0.01], solref: [0.02, 1],
        rgba: [0.8, 0.6, 0.4, 1],
      }),
      el("motor", { ctrllimited: "true", ctrlrange: [-1, 1] }),
    ]),
    gymAssetsXml({ rgb1: [1, 1, 1], rgb2: [0, 0, 0] }),
    el("worldbody", {}, [
      gymLightXml(),
      el("geom", {
        name: "floor", type: "plane", pos: [0, 0, 0], size: [40, 40, 40], conaffinity: 1, condim: 3,
        material: "MatPlane", rgba: [0.8, 0.9, 0.8, 1],
      }),
      bodyXml(torso, { massModel, density: 1000, angle: "radian" }),
    ]),
    el("actuator", {}, GEARS.map(([name, gear]) => el("motor", { name, joint: name, gear }))),
  ]);
}
