/**
 * A small MJCF emitter for capsule-built bodies, so each model is described once (a body tree of plain data)
 * and both its XML and, for the legacy mass model, its explicit `<inertial>` elements come from that one
 * description (docs/design/environments.md §0.2 item 1, §11).
 *
 * Mass models:
 * - `"exact"`: no `<inertial>`; MuJoCo ≥ 2.1.2 computes capsule mass and inertia exactly from the geoms;
 * - `"legacy"`: every body gets an explicit `<inertial>` computed here with the MuJoCo ≤ 2.1.1 rule (a capsule
 *   of radius r and half-length h counts as a solid cylinder of radius r and length 2h + r), combined over the
 *   body's geoms with the parallel-axis theorem. `settotalmass` still rescales these, as old MuJoCo did.
 *
 * Written by hand because no MJCF authoring library exists for Node; the XML needed is a few element kinds.
 */

export type MassModel = "legacy" | "exact";
export type Vec3 = [number, number, number];
export type AttrValue = string | number | readonly number[];
export type Attrs = Record<string, AttrValue | undefined>;

/** A capsule's placement in its body frame, in one of MJCF's three spellings. */
export type CapsuleShape =
  | { radius: number; fromto: readonly [number, number, number, number, number, number] }
  | { radius: number; halfLength: number; pos: Vec3; zaxis: Vec3 }
  /** Rotated about the body's y axis by `yAngle` (in the model's angle unit) from +z, as `axisangle`. */
  | { radius: number; halfLength: number; pos: Vec3; yAngle: number };

export interface CapsuleGeom {
  name: string;
  shape: CapsuleShape;
  /** Other geom attributes (friction, rgba, ...). */
  attrs?: Attrs;
}

export interface BodySpec {
  name: string;
  pos: Vec3;
  /** Joint attribute sets, in order (each must carry a `name`). */
  joints: Attrs[];
  geoms: CapsuleGeom[];
  /** Raw child elements placed first in the body (cameras, sites). */
  extras?: string[];
  children?: BodySpec[];
}

export interface MassOptions {
  massModel: MassModel;
  /** Geom density in kg/m³ (MuJoCo default 1000). */
  density: number;
  /** Unit of `yAngle` values, as the model's `<compiler angle>`. */
  angle: "degree" | "radian";
}

function fmt(v: AttrValue): string {
  return typeof v === "object" ? v.map((x) => String(x)).join(" ") : String(v);
}

/** `<tag a="..."/>` or `<tag a="...">children</tag>`; undefined attributes are left out. */
export function el(tag: string, attrs: Attrs = {}, children: string[] = []): string {
  const a = Object.entries(attrs)
    .filter((e): e is [string, AttrValue] => e[1] !== undefined)
    .map(([k, v]) => ` ${k}="${fmt(v)}"`)
    .join("");
  return children.length === 0 ? `<${tag}${a}/>` : `<${tag}${a}>\n${children.join("\n")}\n</${tag}>`;
}

interface CapsuleFrame {
  centre: Vec3;
  axis: Vec3;
  radius: number;
  halfLength: number;
}

function capsuleFrame(s: CapsuleShape, angle: "degree" | "radian"): CapsuleFrame {
  if ("fromto" in s) {
    const [x0, y0, z0, x1, y1, z1] = s.fromto;
    const d: Vec3 = [x1 - x0, y1 - y0, z1 - z0];
    const len = Math.hypot(...d);
    return {
      centre: [(x0 + x1) / 2, (y0 + y1) / 2, (z0 + z1) / 2],
      axis: [d[0] / len, d[1] / len, d[2] / len],
      radius: s.radius,
      halfLength: len / 2,
    };
  }
  if ("zaxis" in s) {
    const len = Math.hypot(...s.zaxis);
    return { centre: s.pos, axis: [s.zaxis[0] / len, s.zaxis[1] / len, s.zaxis[2] / len], radius: s.radius, halfLength: s.halfLength };
  }
  const th = angle === "degree" ? (s.yAngle * Math.PI) / 180 : s.yAngle;
  return { centre: s.pos, axis: [Math.sin(th), 0, Math.cos(th)], radius: s.radius, halfLength: s.halfLength };
}

function geomXml(g: CapsuleGeom): string {
  const s = g.shape;
  const placement: Attrs =
    "fromto" in s
      ? { fromto: s.fromto, size: [s.radius] }
      : "zaxis" in s
        ? { pos: s.pos, zaxis: s.zaxis, size: [s.radius, s.halfLength] }
        : { pos: s.pos, axisangle: [0, 1, 0, s.yAngle], size: [s.radius, s.halfLength] };
  return el("geom", { name: g.name, type: "capsule", ...placement, ...g.attrs });
}

export interface LegacyInertial {
  mass: number;
  pos: Vec3;
  /** Ixx, Iyy, Izz, Ixy, Ixz, Iyz about `pos`, in the body frame. */
  fullinertia: [number, number, number, number, number, number];
}

/**
 * The MuJoCo ≤ 2.1.1 mass properties of a body made of capsules: each capsule is a solid cylinder of length
 * 2h + r; the body's inertia is summed about the combined centre of mass.
 */
export function legacyInertial(geoms: CapsuleGeom[], density: number, angle: "degree" | "radian"): LegacyInertial {
  const parts = geoms.map((g) => {
    const f = capsuleFrame(g.shape, angle);
    const len = 2 * f.halfLength + f.radius;
    const mass = density * Math.PI * f.radius * f.radius * len;
    const transverse = (mass * (3 * f.radius * f.radius + len * len)) / 12;
    const axial = (mass * f.radius * f.radius) / 2;
    return { f, mass, transverse, axial };
  });
  const mass = parts.reduce((s, p) => s + p.mass, 0);
  const com: Vec3 = [0, 0, 0];
  for (const p of parts) for (let k = 0; k < 3; k++) com[k] += (p.mass * p.f.centre[k]) / mass;
  const I = [0, 0, 0, 0, 0, 0, 0, 0, 0]; // row-major 3×3
  for (const p of parts) {
    const a = p.f.axis;
    const d = [p.f.centre[0] - com[0], p.f.centre[1] - com[1], p.f.centre[2] - com[2]];
    const dd = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        const eye = i === j ? 1 : 0;
        // Rotated cylinder: It·E + (Ia − It)·a aᵀ; shifted: + m(|d|²E − d dᵀ).
        I[3 * i + j] += p.transverse * eye + (p.axial - p.transverse) * a[i] * a[j] + p.mass * (dd * eye - d[i] * d[j]);
      }
    }
  }
  return { mass, pos: com, fullinertia: [I[0], I[4], I[8], I[1], I[2], I[5]] };
}

/** Emits a body and its subtree; with the legacy mass model each body carries its explicit inertial. */
export function bodyXml(b: BodySpec, mass: MassOptions): string {
  const inner: string[] = [...(b.extras ?? [])];
  if (mass.massModel === "legacy") {
    const li = legacyInertial(b.geoms, mass.density, mass.angle);
    inner.push(el("inertial", { pos: li.pos, mass: li.mass, fullinertia: li.fullinertia }));
  }
  for (const j of b.joints) inner.push(el("joint", j));
  for (const g of b.geoms) inner.push(geomXml(g));
  for (const c of b.children ?? []) inner.push(bodyXml(c, mass));
  return el("body", { name: b.name, pos: b.pos }, inner);
}

/** Visual assets shared by the Gymnasium locomotion models (checker floor, cube-textured geoms, skybox). */
export function gymAssetsXml(sky: { rgb1: Vec3; rgb2: Vec3 }): string {
  return el("asset", {}, [
    el("texture", { name: "skybox", type: "skybox", builtin: "gradient", rgb1: sky.rgb1, rgb2: sky.rgb2, width: 100, height: 100 }),
    el("texture", {
      name: "texgeom", type: "cube", builtin: "flat", mark: "cross", markrgb: [1, 1, 1], random: 0.01,
      rgb1: [0.8, 0.6, 0.4], rgb2: [0.8, 0.6, 0.4], width: 127, height: 1278,
    }),
    el("texture", { name: "texplane", type: "2d", builtin: "checker", rgb1: [0, 0, 0], rgb2: [0.8, 0.8, 0.8], width: 100, height: 100 }),
    el("material", { name: "MatPlane", texture: "texplane", texrepeat: [60, 60], reflectance: 0.5, specular: 1, shininess: 1 }),
    el("material", { name: "geom", texture: "texgeom", texuniform: "true" }),
  ]);
}

/** The overhead directional light every Gymnasium locomotion model uses. */
export function gymLightXml(): string {
  return el("light", {
    name: "light", directional: "true", pos: [0, 0, 1.3], dir: [0, 0, -1.3], diffuse: [1, 1, 1],
    specular: [0.1, 0.1, 0.1], cutoff: 100, exponent: 1,
  });
}

/** The planar root joints (x slide, z slide, y hinge) with no armature, damping, stiffness or limits. */
export function planarRootJoints(anchor: Vec3, rootzRef?: number): Attrs[] {
  const free = { armature: 0, damping: 0, stiffness: 0, limited: "false" };
  return [
    { name: "rootx", type: "slide", axis: [1, 0, 0], pos: anchor, ...free },
    { name: "rootz", type: "slide", axis: [0, 0, 1], pos: anchor, ref: rootzRef, ...free },
    { name: "rooty", type: "hinge", axis: [0, 1, 0], pos: [0, 0, 0], ...free },
  ];
}

/**
 * A 1 MB arena instead of MuJoCo's ≈13 MB default, so hundreds of envs fit in the 2 GB wasm heap (§1.5 item 3).
 * These planar models peak at ≈20 kB (≤ 7 contacts, ≤ 31 constraint rows); overflow raises a MuJoCo error.
 */
export const SMALL_ARENA = el("size", { memory: "1M" });

/** The `track` camera: follows the subtree centre of mass, looking along +y. */
export function trackCameraXml(pos: Vec3): string {
  return el("camera", { name: "track", mode: "trackcom", pos, xyaxes: [1, 0, 0, 0, 0, 1] });
}
