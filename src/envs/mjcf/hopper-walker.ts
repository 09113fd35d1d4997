/**
 * Our Hopper and Walker2d models (Gymnasium v4 physics), authored from docs/design/environments.md §4.2 and §5.2 in local
 * coordinates. The two share the torso → thigh → leg → foot chain; the walker has two of them.
 */
import {
  type Attrs,
  type BodySpec,
  type MassModel,
  type Vec3,
  bodyXml,
  el,
  gymAssetsXml,
  gymLightXml,
  planarRootJoints,
  SMALL_ARENA,
  trackCameraXml,
} from "./builder.js";

interface LegOptions {
  /** Appended to every body, joint and geom name ("" or "_left"). */
  suffix: string;
  /** Foot body x offset from the leg; the foot joint sits back at −x. */
  footX: number;
  footRadius: number;
  footHalfLength: number;
  footFriction: number;
  rgba?: [number, number, number, number];
}

function hinge(name: string, pos: Vec3, rangeDeg: [number, number]): Attrs {
  return { name, type: "hinge", axis: [0, -1, 0], pos, range: rangeDeg };
}

function legChain(o: LegOptions): BodySpec {
  const s = o.suffix;
  const look: Attrs = { rgba: o.rgba };
  return {
    name: `thigh${s}`,
    pos: [0, 0, -0.2],
    joints: [hinge(`thigh${s}_joint`, [0, 0, 0], [-150, 0])],
    geoms: [{ name: `thigh${s}_geom`, shape: { radius: 0.05, halfLength: 0.225, pos: [0, 0, -0.225], zaxis: [0, 0, 1] }, attrs: { friction: 0.9, ...look } }],
    children: [
      {
        name: `leg${s}`,
        pos: [0, 0, -0.7],
        joints: [hinge(`leg${s}_joint`, [0, 0, 0.25], [-150, 0])],
        geoms: [{ name: `leg${s}_geom`, shape: { radius: 0.04, halfLength: 0.25, pos: [0, 0, 0], zaxis: [0, 0, 1] }, attrs: { friction: 0.9, ...look } }],
        children: [
          {
            name: `foot${s}`,
            pos: [o.footX, 0, -0.35],
            joints: [hinge(`foot${s}_joint`, [-o.footX, 0, 0.1], [-45, 45])],
            geoms: [
              {
                name: `foot${s}_geom`,
                // Pointing back along −x, the same geom frame as Gymnasium's file.
                shape: { radius: o.footRadius, halfLength: o.footHalfLength, pos: [-o.footX / 2, 0, 0.1], zaxis: [-1, 0, 0] },
                attrs: { friction: o.footFriction, ...look },
              },
            ],
          },
        ],
      },
    ],
  };
}

function torso(legs: BodySpec[]): BodySpec {
  return {
    name: "torso",
    pos: [0, 0, 1.25],
    extras: [trackCameraXml([0, -3, -0.25])],
    // The slides are anchored at the floor so that rootz's `ref` 1.25 makes qpos[1] the torso height.
    joints: planarRootJoints([0, 0, -1.25], 1.25),
    geoms: [{ name: "torso_geom", shape: { radius: 0.05, halfLength: 0.2, pos: [0, 0, 0], zaxis: [0, 0, 1] }, attrs: { friction: 0.9 } }],
    children: legs,
  };
}

function motor(name: string, gear: number): string {
  return el("motor", { name, joint: `${name}_joint`, gear, ctrllimited: "true", ctrlrange: [-1, 1] });
}

/** Hopper (§4.2): one leg, foot friction 2.0, gear 200, condim-1 body contacts with the condim-3 floor. */
export function hopperXml(massModel: MassModel): string {
  const mass = { massModel, density: 1000, angle: "degree" as const };
  const body = torso([legChain({ suffix: "", footX: 0.13, footRadius: 0.06, footHalfLength: 0.195, footFriction: 2.0 })]);
  return el("mujoco", { model: "hopper" }, [
    el("compiler", { angle: "degree" }),
    SMALL_ARENA,
    el("option", { timestep: 0.002, integrator: "RK4" }),
    el("visual", {}, [el("map", { znear: 0.02 })]),
    el("default", {}, [
      el("joint", { armature: 1, damping: 1, limited: "true" }),
      el("geom", {
        contype: 1, conaffinity: 1, condim: 1, margin: 0.001, solimp: [0.8, 0.8, 0.01], solref: [0.02, 1],
        material: "geom", rgba: [0.8, 0.6, 0.4, 1],
      }),
      el("motor", { ctrllimited: "true", ctrlrange: [-0.4, 0.4] }),
    ]),
    gymAssetsXml({ rgb1: [0.4, 0.5, 0.6], rgb2: [0, 0, 0] }),
    el("worldbody", {}, [
      gymLightXml(),
      el("geom", {
        name: "floor", type: "plane", pos: [0, 0, 0], size: [20, 20, 0.125], conaffinity: 1, condim: 3,
        material: "MatPlane", rgba: [0.8, 0.9, 0.8, 1],
      }),
      bodyXml(body, mass),
    ]),
    el("actuator", {}, ["thigh", "leg", "foot"].map((n) => motor(n, 200))),
  ]);
}

/** Walker2d (§5.2): two legs in the same plane, v4 foot frictions 0.9 (right) / 1.9 (left), gear 100. */
export function walker2dXml(massModel: MassModel): string {
  const mass = { massModel, density: 1000, angle: "degree" as const };
  const foot = { footX: 0.2, footRadius: 0.06, footHalfLength: 0.1 };
  const body = torso([
    legChain({ suffix: "", ...foot, footFriction: 0.9 }),
    legChain({ suffix: "_left", ...foot, footFriction: 1.9, rgba: [0.7, 0.3, 0.6, 1] }),
  ]);
  return el("mujoco", { model: "walker2d" }, [
    el("compiler", { angle: "degree" }),
    SMALL_ARENA,
    el("option", { timestep: 0.002, integrator: "RK4" }),
    el("default", {}, [
      el("joint", { armature: 0.01, damping: 0.1, limited: "true" }),
      el("geom", { contype: 1, conaffinity: 0, condim: 3, density: 1000, friction: [0.7, 0.1, 0.1], rgba: [0.8, 0.6, 0.4, 1] }),
    ]),
    gymAssetsXml({ rgb1: [0.4, 0.5, 0.6], rgb2: [0, 0, 0] }),
    el("worldbody", {}, [
      gymLightXml(),
      el("geom", {
        name: "floor", type: "plane", pos: [0, 0, 0], size: [40, 40, 40], conaffinity: 1, condim: 3,
        material: "MatPlane", rgba: [0.8, 0.9, 0.8, 1],
      }),
      bodyXml(body, mass),
    ]),
    el("actuator", {}, ["thigh", "leg", "foot", "thigh_left", "leg_left", "foot_left"].map((n) => motor(n, 100))),
  ]);
}
