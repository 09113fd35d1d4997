/**
 * The project's own ant model, emitted as MJCF from the parameter tables of docs/design/environments.md §6 (Gymnasium Ant-v4)
 * and §7.2 (D4RL antmaze ant), with optional maze walls (§7.3). Built with the shared MJCF emitter (builder.ts),
 * which also supplies the legacy capsule inertials.
 *
 * Two variants share the body tree:
 * - "gymnasium": timestep 0.01, motors gear 150 / ctrlrange ±1, MuJoCo-default contact softness;
 * - "d4rl": timestep 0.02, motors gear 1 / ctrlrange ±30, solref (0.02, 1) and solimp (0.8, 0.8, 0.01), green
 *   torso, blue checker floor.
 * Both carry Gymnasium's `track` camera. D4RL's file has none; the project adds it so every environment can be
 * rendered the same way (cameras have no physical effect).
 *
 * Mass models (§0.2, §11): "exact" lets MuJoCo compute inertia from the geoms; "legacy" gives every capsule body
 * an explicit `<inertial>` with the MuJoCo ≤ 2.1.1 cylinder rule. The torso is a sphere, identical under both
 * models, so it has no explicit inertial and MuJoCo derives it from its geom in both cases.
 *
 * Every body, joint, geom, actuator and camera is named (docs/design/environments.md §1.5 item 5). The ankle bodies, unnamed
 * in the original files, are `<leg>_foot` (e.g. `front_left_foot`).
 */
import { type Attrs, type BodySpec, type MassModel, type Vec3, bodyXml, el, gymAssetsXml, gymLightXml, trackCameraXml } from "./builder.js";
import type { WallBox } from "../maze.js";

export type AntVariant = "gymnasium" | "d4rl";

export interface AntModelOptions {
  variant: AntVariant;
  massModel: MassModel;
  /** Static wall boxes added to the world body (antmaze). */
  walls?: readonly WallBox[];
}

const DENSITY = 5.0;
const LEG_RADIUS = 0.08;

interface LegSpec {
  /** Upper (fixed) body name; the hip body is `aux_<index>` and the ankle body `<stem>_foot`. */
  name: string;
  index: 1 | 2 | 3 | 4;
  sx: 1 | -1;
  sy: 1 | -1;
  ankleAxis: Vec3;
  ankleRangeDeg: [number, number];
  /** Geom names of the three segments: upper, hip, ankle (the original files' names). */
  geoms: readonly [string, string, string];
}

const LEGS: readonly LegSpec[] = [
  { name: "front_left_leg", index: 1, sx: 1, sy: 1, ankleAxis: [-1, 1, 0], ankleRangeDeg: [30, 70],
    geoms: ["aux_1_geom", "left_leg_geom", "left_ankle_geom"] },
  { name: "front_right_leg", index: 2, sx: -1, sy: 1, ankleAxis: [1, 1, 0], ankleRangeDeg: [-70, -30],
    geoms: ["aux_2_geom", "right_leg_geom", "right_ankle_geom"] },
  { name: "back_leg", index: 3, sx: -1, sy: -1, ankleAxis: [-1, 1, 0], ankleRangeDeg: [-70, -30],
    geoms: ["aux_3_geom", "back_leg_geom", "third_ankle_geom"] },
  { name: "right_back_leg", index: 4, sx: 1, sy: -1, ankleAxis: [1, 1, 0], ankleRangeDeg: [30, 70],
    geoms: ["aux_4_geom", "rightback_leg_geom", "fourth_ankle_geom"] },
];

/** Actuated joints in actuator order (both variants); each motor is named after its joint. */
export const ANT_ACTUATED_JOINTS = ["hip_4", "ankle_4", "hip_1", "ankle_1", "hip_2", "ankle_2", "hip_3", "ankle_3"] as const;

function segment(name: string, to: Vec3) {
  return { name, shape: { radius: LEG_RADIUS, fromto: [0, 0, 0, to[0], to[1], to[2]] as const } };
}

function hinge(name: string, axis: Vec3, rangeDeg: [number, number]): Attrs {
  return { name, type: "hinge", pos: [0, 0, 0], axis, range: rangeDeg };
}

/** Upper segment (fixed to the torso) → hip body (`aux_i`, hinge about z) → ankle body (hinge across the leg). */
function legBody(leg: LegSpec): BodySpec {
  const short: Vec3 = [0.2 * leg.sx, 0.2 * leg.sy, 0];
  const long: Vec3 = [0.4 * leg.sx, 0.4 * leg.sy, 0];
  return {
    name: leg.name,
    pos: [0, 0, 0],
    joints: [],
    geoms: [segment(leg.geoms[0], short)],
    children: [
      {
        name: `aux_${leg.index}`,
        pos: short,
        joints: [hinge(`hip_${leg.index}`, [0, 0, 1], [-30, 30])],
        geoms: [segment(leg.geoms[1], short)],
        children: [
          {
            name: leg.name.replace(/_leg$/, "_foot"),
            pos: short,
            joints: [hinge(`ankle_${leg.index}`, leg.ankleAxis, leg.ankleRangeDeg)],
            geoms: [segment(leg.geoms[2], long)],
          },
        ],
      },
    ],
  };
}

/** D4RL's floor material differs from Gymnasium's only in colours and reflectance. */
function d4rlAssetsXml(): string {
  return el("asset", {}, [
    el("texture", { name: "skybox", type: "skybox", builtin: "gradient", rgb1: [1, 1, 1], rgb2: [0, 0, 0], width: 100, height: 100 }),
    el("texture", { name: "texplane", type: "2d", builtin: "checker", rgb1: [0.2, 0.3, 0.4], rgb2: [0.1, 0.2, 0.3], width: 100, height: 100 }),
    el("material", { name: "MatPlane", texture: "texplane", texrepeat: [60, 60], reflectance: 0, specular: 1, shininess: 1 }),
  ]);
}

function wallXml(w: WallBox): string {
  // Walls inherit the default geom class (margin, friction, solref/solimp) exactly as D4RL's inserted blocks do.
  return el("geom", { name: w.name, type: "box", pos: w.pos, size: w.halfSize, contype: 1, conaffinity: 1, rgba: [0.7, 0.5, 0.3, 1] });
}

/** The ant MJCF for the given variant, mass model and walls. */
export function antXml(options: AntModelOptions): string {
  const d4rl = options.variant === "d4rl";
  const mass = { massModel: options.massModel, density: DENSITY, angle: "degree" as const };
  const torso = el("body", { name: "torso", pos: [0, 0, 0.75] }, [
    trackCameraXml([0, -3, 0.3]),
    // A top-down view for maze pixels: the `track` camera sits 3 m behind the ant, inside a wall at the start cell.
    ...(d4rl ? [el("camera", { name: "topdown", mode: "trackcom", pos: [0, 0, 9], xyaxes: [1, 0, 0, 0, 1, 0] })] : []),
    el("joint", { name: "root", type: "free", limited: "false", pos: [0, 0, 0], margin: 0.01, armature: 0, damping: 0 }),
    el("geom", { name: "torso_geom", type: "sphere", size: [0.25], pos: [0, 0, 0], rgba: d4rl ? [0.3, 0.9, 0.5, 1] : undefined }),
    ...LEGS.map((leg) => bodyXml(legBody(leg), mass)),
  ]);
  return el("mujoco", { model: d4rl ? "antmaze-ant" : "ant" }, [
    el("compiler", { angle: "degree" }),
    el("option", { timestep: d4rl ? 0.02 : 0.01, integrator: "RK4" }),
    el("default", {}, [
      el("joint", { limited: "true", armature: 1, damping: 1 }),
      el("geom", {
        condim: 3, conaffinity: 0, margin: 0.01, friction: [1, 0.5, 0.5], density: DENSITY, rgba: [0.8, 0.6, 0.4, 1],
        solref: d4rl ? [0.02, 1] : undefined, solimp: d4rl ? [0.8, 0.8, 0.01] : undefined,
      }),
    ]),
    d4rl ? d4rlAssetsXml() : gymAssetsXml({ rgb1: [1, 1, 1], rgb2: [0, 0, 0] }),
    el("worldbody", {}, [
      gymLightXml(),
      el("geom", {
        name: "floor", type: "plane", pos: [0, 0, 0], size: [40, 40, 40], conaffinity: 1, condim: 3,
        material: "MatPlane", rgba: [0.8, 0.9, 0.8, 1],
      }),
      torso,
      ...(options.walls ?? []).map(wallXml),
    ]),
    el("actuator", {}, ANT_ACTUATED_JOINTS.map((j) =>
      el("motor", { name: j, joint: j, ctrllimited: "true", ctrlrange: d4rl ? [-30, 30] : [-1, 1], gear: d4rl ? 1 : 150 }),
    )),
  ]);
}
