/**
 * What the two dm_control suite models (cheetah, walker; docs/design/environments.md §9.2 / §10.2) share, on top of the
 * project's MJCF emitter (`builder.ts`, which also supplies the legacy capsule mass model).
 *
 * Only the pieces of dm_control's `common/*.xml` that the physics or the pixel camera needs are authored here:
 * the `self` and `grid` materials, the skybox gradient, the headlight and the near clipping plane.
 * Every attribute is written on its element (no default classes), so the model reads without dm_control's
 * class hierarchy; the output is self-contained (no includes) and loads with `Sim.fromXml(xml)`.
 */
import { bodyXml, el, type Attrs, type BodySpec, type MassModel, type Vec3 } from "./builder.js";

export interface DmcModelSpec {
  model: string;
  timestep: number;
  /** dm_control's `settotalmass`; MuJoCo applies it after the per-body masses are known, in both mass models. */
  totalMass?: number;
  statistic: { center: Vec3; extent: number };
  /** The floor plane's attributes besides type, conaffinity and material. */
  floor: Attrs & { name: string };
  root: BodySpec;
  /** Motor name (= its joint's name) and gear, in actuator order; every motor has ctrlrange [−1, 1]. */
  motors: ReadonlyArray<readonly [string, number]>;
}

/** A camera in `trackcom` mode; `orientation` is one MJCF orientation attribute (quat, xyaxes, euler). */
export function trackcomCamera(name: string, pos: Vec3, orientation: Attrs): string {
  return el("camera", { name, pos, ...orientation, mode: "trackcom" });
}

/** The light 2 m above the torso, following the centre of mass (MuJoCo's default colours otherwise). */
export function trackcomLight(): string {
  return el("light", { name: "light", pos: [0, 0, 2], mode: "trackcom" });
}

/** The model's MJCF text; the velocity sensor `torso_subtreelinvel` sits on the root body. */
export function dmcModelXml(spec: DmcModelSpec, massModel: MassModel): string {
  return el("mujoco", { model: spec.model }, [
    el("compiler", { angle: "degree", inertiafromgeom: "auto", settotalmass: spec.totalMass }),
    el("option", { timestep: spec.timestep, integrator: "Euler" }),
    el("statistic", { center: spec.statistic.center, extent: spec.statistic.extent }),
    el("visual", {}, [
      el("headlight", { ambient: [0.4, 0.4, 0.4], diffuse: [0.8, 0.8, 0.8], specular: [0.1, 0.1, 0.1] }),
      el("map", { znear: 0.01 }),
    ]),
    el("asset", {}, [
      el("texture", { name: "skybox", type: "skybox", builtin: "gradient", rgb1: [0.4, 0.6, 0.8], rgb2: [0, 0, 0], width: 800, height: 800 }),
      el("texture", { name: "grid", type: "2d", builtin: "checker", rgb1: [0.1, 0.2, 0.3], rgb2: [0.2, 0.3, 0.4], width: 300, height: 300 }),
      el("material", { name: "grid", texture: "grid", texrepeat: [1, 1], texuniform: "true", reflectance: 0.2 }),
      el("material", { name: "self", rgba: [0.7, 0.5, 0.3, 1] }),
    ]),
    el("worldbody", {}, [
      el("geom", { type: "plane", conaffinity: 1, material: "grid", ...spec.floor }),
      bodyXml(spec.root, { massModel, density: 1000, angle: "degree" }),
    ]),
    el("sensor", {}, [el("subtreelinvel", { name: "torso_subtreelinvel", body: spec.root.name })]),
    el(
      "actuator",
      {},
      spec.motors.map(([name, gear]) => el("motor", { name, joint: name, gear, ctrllimited: "true", ctrlrange: [-1, 1] })),
    ),
  ]);
}
