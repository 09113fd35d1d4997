/**
 * The ray-cast camera renderer (docs/design/environments.md §12.1): RGB uint8 frames, HWC, from one `mj_multiRay` call per
 * frame. The WebAssembly MuJoCo has no OpenGL context (§1.4), so every pixel is a ray through the camera.
 *
 * Per frame:
 * 1. camera pose = `cam_xpos`/`cam_xmat` of the named camera, as the simulator currently holds them (tracking
 *    modes such as `trackcom` are applied by MuJoCo's own kinematics, so the camera follows the body exactly as
 *    it does in MuJoCo). The renderer never runs kinematics itself: it only reads, so rendering can never change
 *    a trajectory or the values an environment reads between steps (Gymnasium's Ant reads deliberately stale
 *    `xpos`, §1.5 item 9). dm_control environments hold post-step kinematics (§8.1); Gymnasium ones hold the pose
 *    at the start of the last substep, which is also what Gymnasium's own renderer draws.
 * 2. pixel (u, v), row 0 at the top: camera-frame direction ((2(u+½)/W − 1)·a·τ, (1 − 2(v+½)/H)·τ, −1) with
 *    τ = tan(fovy/2) and a = W/H, normalised, rotated to world; all rays in one `Sim.multiRay` call (no group
 *    filter, static geoms included, no body excluded, cutoff 1000, normals on).
 * 3. miss → sky: with t = clamp(½ + ½·dir_z, 0, 1), colour = bottom + t·(top − bottom) (no shading);
 * 4. hit → base colour: planes with a 2D texture get a checker in the plane's frame; other geoms their material
 *    colour when the geom's own rgba is MuJoCo's default (0.5, 0.5, 0.5, 1), else the geom rgba (MuJoCo's rule:
 *    a non-default geom rgba overrides the material's colour);
 * 5. shade = 0.4 + 0.8·|n·d̂| (a headlight with ambient 0.4 and diffuse 0.8, as dm_control's models set it);
 * 6. byte = ⌊clamp(base·shade, 0, 1)·255⌋.
 *
 * Colours come from the compiled model, so any registered model renders with its own look:
 * - sky: the skybox texture's top and bottom face centres (MuJoCo's builtin gradient puts rgb1 on top and rgb2
 *   below); models without a skybox get dm_control's (0.4, 0.6, 0.8) over black;
 * - checker: the two colours of the texture's top-left and top-right quadrants (MuJoCo's builtin checker),
 *   multiplied by the geom's colour from step 4 as OpenGL modulates textures; one texture repeat covers two
 *   cells, and a repeat is 1/texrepeat m when the material is `texuniform`, else 2·size/texrepeat (the plane's
 *   full extent). For dm_control's `grid` material this is the 0.5 m checker of §12.1 with the texture's bytes
 *   (25, 51, 76)/255 and (51, 76, 102)/255, i.e. (0.1, 0.2, 0.3) and (0.2, 0.3, 0.4) to within 1/255.
 * Other textures (e.g. Gymnasium's cube-mapped body texture) are not drawn; such geoms are flat-coloured.
 *
 * Known differences from MuJoCo's OpenGL frames (§12.1): no shadows, reflections, specular highlights, skybox
 * dots, grid lines or extra lights; silhouettes and geometry are exact.
 */
import { PNG } from "pngjs";
import type { Sim } from "./sim.js";
import { UserError } from "../errors.js";

/** Recorded in dataset metadata and run manifests (§12.2); bump the version whenever pixels can change. */
export const RENDERER_ID = "clap-rl-raycast";
export const RENDERER_VERSION = 1;

export interface RenderOptions {
  /** Model camera to render from (name or id). */
  camera: string | number;
  /** Frame width in pixels (default 64). */
  width?: number;
  /** Frame height in pixels (default 64). */
  height?: number;
}

type Rgb = [number, number, number];

interface Checker {
  c0: Rgb;
  c1: Rgb;
  /** Cell sizes along the plane's local x and y, in metres. */
  cellX: number;
  cellY: number;
}

const DEFAULT_SKY: { top: Rgb; bottom: Rgb } = { top: [0.4, 0.6, 0.8], bottom: [0, 0, 0] };
const MJ_DEFAULT_RGBA = [0.5, 0.5, 0.5, 1];
const RAY_CUTOFF = 1000;
const AMBIENT = 0.4;
const DIFFUSE = 0.8;

export class RayCastRenderer {
  readonly width: number;
  readonly height: number;
  readonly cameraId: number;
  /** Unit camera-frame ray directions, 3 per pixel in row-major pixel order. */
  private readonly localDirs: Float64Array;
  private readonly worldDirs: Float64Array;
  private readonly geomRgb: Float64Array;
  /** Checker description per geom id (planes with a 2D texture only). */
  private readonly checkers: Map<number, Checker>;
  private readonly skyTop: Rgb;
  private readonly skyBottom: Rgb;

  constructor(
    private readonly sim: Sim,
    options: RenderOptions,
  ) {
    this.width = options.width ?? 64;
    this.height = options.height ?? 64;
    for (const [what, v] of [["width", this.width], ["height", this.height]] as const) {
      if (!Number.isInteger(v) || v < 1 || v > 4096) throw new UserError(`renderer: ${what} must be an integer in [1, 4096], got ${v}`);
    }
    this.cameraId = typeof options.camera === "number" ? options.camera : sim.id("camera", options.camera);
    if (this.cameraId < 0 || this.cameraId >= sim.ncam) {
      throw new UserError(`renderer: camera ${options.camera} does not exist (the model has ${sim.ncam} cameras)`);
    }
    const tanHalf = Math.tan((sim.cameraFovy(this.cameraId) * Math.PI) / 360);
    const aspect = this.width / this.height;
    const n = this.width * this.height;
    this.localDirs = new Float64Array(3 * n);
    this.worldDirs = new Float64Array(3 * n);
    for (let v = 0; v < this.height; v++) {
      for (let u = 0; u < this.width; u++) {
        const x = ((2 * (u + 0.5)) / this.width - 1) * tanHalf * aspect;
        const y = (1 - (2 * (v + 0.5)) / this.height) * tanHalf;
        const len = Math.hypot(x, y, 1);
        const i = 3 * (v * this.width + u);
        this.localDirs[i] = x / len;
        this.localDirs[i + 1] = y / len;
        this.localDirs[i + 2] = -1 / len;
      }
    }
    const look = readLook(sim);
    this.geomRgb = look.geomRgb;
    this.checkers = look.checkers;
    this.skyTop = look.skyTop;
    this.skyBottom = look.skyBottom;
  }

  /** Renders the current simulator state into `out` (or a new array): height × width × 3 bytes. */
  render(out: Uint8Array = new Uint8Array(this.width * this.height * 3)): Uint8Array {
    const n = this.width * this.height;
    if (out.length !== 3 * n) throw new UserError(`renderer: output buffer has ${out.length} bytes, expected ${3 * n}`);
    const origin = this.sim.camXpos(this.cameraId);
    const R = this.sim.camXmat(this.cameraId);
    const L = this.localDirs;
    const W = this.worldDirs;
    for (let i = 0; i < 3 * n; i += 3) {
      const x = L[i];
      const y = L[i + 1];
      const z = L[i + 2];
      W[i] = R[0] * x + R[1] * y + R[2] * z;
      W[i + 1] = R[3] * x + R[4] * y + R[5] * z;
      W[i + 2] = R[6] * x + R[7] * y + R[8] * z;
    }
    const hits = this.sim.multiRay(origin, W, { normals: true, cutoff: RAY_CUTOFF });
    const normal = hits.normal!;
    const planes = new Map<number, { pos: Float64Array; mat: Float64Array }>();
    for (const g of this.checkers.keys()) planes.set(g, { pos: this.sim.geomXpos(g), mat: this.sim.geomXmat(g) });

    const rgb = this.geomRgb;
    for (let p = 0; p < n; p++) {
      const i = 3 * p;
      const g = hits.geomId[p];
      if (g < 0) {
        const t = Math.min(1, Math.max(0, 0.5 + 0.5 * W[i + 2]));
        for (let c = 0; c < 3; c++) out[i + c] = toByte(this.skyBottom[c] + t * (this.skyTop[c] - this.skyBottom[c]));
        continue;
      }
      const shade = AMBIENT + DIFFUSE * Math.abs(normal[i] * W[i] + normal[i + 1] * W[i + 1] + normal[i + 2] * W[i + 2]);
      let r = rgb[3 * g];
      let gr = rgb[3 * g + 1];
      let b = rgb[3 * g + 2];
      const checker = this.checkers.get(g);
      if (checker !== undefined) {
        const { pos, mat } = planes.get(g)!;
        const d = hits.dist[p];
        const hx = origin[0] + d * W[i] - pos[0];
        const hy = origin[1] + d * W[i + 1] - pos[1];
        const hz = origin[2] + d * W[i + 2] - pos[2];
        // Local plane coordinates: columns of the row-major geom_xmat are the plane's axes in world.
        const lx = mat[0] * hx + mat[3] * hy + mat[6] * hz;
        const ly = mat[1] * hx + mat[4] * hy + mat[7] * hz;
        const cell = (Math.floor(lx / checker.cellX) + Math.floor(ly / checker.cellY)) & 1 ? checker.c1 : checker.c0;
        r *= cell[0];
        gr *= cell[1];
        b *= cell[2];
      }
      out[i] = toByte(r * shade);
      out[i + 1] = toByte(gr * shade);
      out[i + 2] = toByte(b * shade);
    }
    return out;
  }
}

function toByte(x: number): number {
  return Math.floor((x <= 0 ? 0 : x >= 1 ? 1 : x) * 255);
}

/** The static colours of a compiled model: per-geom base colour, plane checkers, sky gradient. */
function readLook(sim: Sim): { geomRgb: Float64Array; checkers: Map<number, Checker>; skyTop: Rgb; skyBottom: Rgb } {
  return sim.withRaw((mj, model) => {
    const ngeom = model.ngeom;
    const geomType = model.geom_type as Int32Array;
    const geomMat = model.geom_matid as Int32Array;
    const geomRgba = model.geom_rgba as Float32Array;
    const geomSize = model.geom_size as Float64Array;
    const matRgba = model.mat_rgba as Float32Array;
    const matTexid = model.mat_texid as Int32Array;
    const matRepeat = model.mat_texrepeat as Float32Array;
    const texType = model.tex_type as Int32Array;
    const texW = model.tex_width as Int32Array;
    const texH = model.tex_height as Int32Array;
    const texAdr = model.tex_adr as Int32Array;
    const texNch = model.tex_nchannel as Int32Array;
    const texData = model.tex_data as Uint8Array;
    const nTexRole = mj.mjtTextureRole.mjNTEXROLE.value;
    const rgbRole = mj.mjtTextureRole.mjTEXROLE_RGB.value;
    const PLANE = mj.mjtGeom.mjGEOM_PLANE.value;
    const TEX_2D = mj.mjtTexture.mjTEXTURE_2D.value;
    const TEX_SKYBOX = mj.mjtTexture.mjTEXTURE_SKYBOX.value;

    const texel = (t: number, x: number, y: number): Rgb => {
      const k = texAdr[t] + texNch[t] * (y * texW[t] + x);
      // One- and two-channel textures are grey (+ alpha): repeat the first channel.
      return texNch[t] >= 3 ? [texData[k] / 255, texData[k + 1] / 255, texData[k + 2] / 255] : [texData[k] / 255, texData[k] / 255, texData[k] / 255];
    };

    const geomRgb = new Float64Array(3 * ngeom);
    const checkers = new Map<number, Checker>();
    for (let g = 0; g < ngeom; g++) {
      const m = geomMat[g];
      const isDefault = MJ_DEFAULT_RGBA.every((v, k) => geomRgba[4 * g + k] === v);
      const src = m >= 0 && isDefault ? matRgba.subarray(4 * m, 4 * m + 4) : geomRgba.subarray(4 * g, 4 * g + 4);
      geomRgb.set([src[0], src[1], src[2]], 3 * g);
      if (geomType[g] !== PLANE || m < 0) continue;
      const t = matTexid[m * nTexRole + rgbRole];
      if (t < 0 || texType[t] !== TEX_2D) continue;
      const mat = model.mat(m);
      let uniform: boolean;
      try {
        uniform = Boolean(mat.texuniform);
      } finally {
        mat.delete();
      }
      const repeatX = matRepeat[2 * m] || 1;
      const repeatY = matRepeat[2 * m + 1] || 1;
      // Half a texture repeat per cell: the builtin checker is 2 × 2 cells. A zero plane size means an infinite
      // plane, which has no extent to spread the texture over, so it repeats per metre as with `texuniform`.
      const cellX = uniform || geomSize[3 * g] <= 0 ? 0.5 / repeatX : geomSize[3 * g] / repeatX;
      const cellY = uniform || geomSize[3 * g + 1] <= 0 ? 0.5 / repeatY : geomSize[3 * g + 1] / repeatY;
      const w = texW[t];
      const h = texH[t];
      checkers.set(g, {
        c0: texel(t, Math.floor(w / 4), Math.floor(h / 4)),
        c1: texel(t, Math.floor((3 * w) / 4), Math.floor(h / 4)),
        cellX,
        cellY,
      });
    }

    let skyTop = DEFAULT_SKY.top;
    let skyBottom = DEFAULT_SKY.bottom;
    for (let t = 0; t < model.ntex; t++) {
      if (texType[t] !== TEX_SKYBOX) continue;
      // A skybox is six square faces stacked vertically (+x, −x, +y, −y, +z, −z of the texture cube); MuJoCo
      // shows the third face overhead and the fourth underfoot.
      const w = texW[t];
      const centre = Math.floor(w / 2);
      skyTop = texel(t, centre, 2 * w + centre);
      skyBottom = texel(t, centre, 3 * w + centre);
      break;
    }
    return { geomRgb, checkers, skyTop, skyBottom };
  });
}

/** Encodes an HWC RGB frame as PNG bytes. */
export function encodePng(frame: Uint8Array, width: number, height: number): Buffer {
  if (frame.length !== width * height * 3) {
    throw new UserError(`encodePng: frame has ${frame.length} bytes, expected ${width}×${height}×3 = ${width * height * 3}`);
  }
  const png = new PNG({ width, height, colorType: 2, inputColorType: 2, inputHasAlpha: false });
  png.data = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  return PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false });
}

/** Places equally sized HWC frames side by side, left to right, in one HWC image. */
export function frameStrip(frames: Uint8Array[], width: number, height: number): { data: Uint8Array; width: number; height: number } {
  if (frames.length === 0) throw new UserError("frameStrip: no frames given");
  const stripW = width * frames.length;
  const data = new Uint8Array(stripW * height * 3);
  frames.forEach((f, k) => {
    if (f.length !== width * height * 3) throw new UserError(`frameStrip: frame ${k} has ${f.length} bytes, expected ${width * height * 3}`);
    for (let row = 0; row < height; row++) {
      data.set(f.subarray(row * width * 3, (row + 1) * width * 3), (row * stripW + k * width) * 3);
    }
  });
  return { data, width: stripW, height };
}
