/**
 * Pixel observations for any registered MuJoCo environment: `makeEnv(id, { pixels: true })` wraps the state env
 * so that `reset` and `step` return a 64 × 64 × 3 uint8 frame (HWC) from the env's camera, rendered by the
 * ray-cast renderer (render.ts; docs/design/environments.md §12). Frames are rendered after reset and after every agent step.
 *
 * Everything else is the wrapped env's: rewards, termination, truncation, time limit, seeding and actions.
 * Rendering only reads simulator state, so a pixel env follows exactly the trajectory of its state twin. The
 * state observation stays available: `info.state` on each step and `state` for the latest one (datasets store
 * both).
 */
import type { ActionSpace, Env, ResetOptions, Space, StepResult } from "./env.js";
import { MujocoEnv } from "./mujoco-env.js";
import { RayCastRenderer, RENDERER_ID, RENDERER_VERSION } from "./render.js";
import { UserError } from "../errors.js";

export interface PixelOptions {
  /** Frame width and height in pixels (default 64; V-D4RL uses 64, DrQ+BC's variant 84). */
  size?: number;
  /** Model camera; default the env's own pixel camera (e.g. `side` for dm_control, `track` for Gymnasium). */
  camera?: string;
}

export class PixelEnv implements Env {
  readonly id: string;
  readonly observationSpace: Space;
  readonly actionSpace: ActionSpace;
  readonly maxEpisodeSteps: number;
  readonly renderer: RayCastRenderer;
  /** Renderer identity for dataset metadata and run manifests (§12.2). */
  readonly rendererInfo = { id: RENDERER_ID, version: RENDERER_VERSION };
  private latestState: Float32Array | null = null;

  constructor(
    readonly inner: MujocoEnv,
    options: PixelOptions = {},
  ) {
    const size = options.size ?? 64;
    this.id = inner.id;
    this.actionSpace = inner.actionSpace;
    this.maxEpisodeSteps = inner.maxEpisodeSteps;
    this.renderer = new RayCastRenderer(inner.sim, { camera: options.camera ?? inner.camera.name, width: size, height: size });
    this.observationSpace = { shape: [size, size, 3], dtype: "uint8" };
  }

  /** The wrapped env's state observation after the latest reset or step. */
  get state(): Float32Array {
    if (this.latestState === null) throw new UserError(`${this.id}: no state yet; call reset() first`);
    return this.latestState;
  }

  reset(options?: ResetOptions): Uint8Array {
    this.latestState = this.inner.reset(options) as Float32Array;
    return this.renderer.render();
  }

  step(action: ArrayLike<number>): StepResult {
    const r = this.inner.step(action);
    this.latestState = r.obs as Float32Array;
    return { ...r, obs: this.renderer.render(), info: { ...r.info, state: r.obs } };
  }

  close(): void {
    this.inner.close();
  }
}

/** Wraps a MuJoCo env so it observes pixels; any other env → UserError. */
export function withPixels(env: Env, options: PixelOptions = {}): PixelEnv {
  if (!(env instanceof MujocoEnv)) throw new UserError(`${env.id}: pixel observations need a MuJoCo environment`);
  return new PixelEnv(env, options);
}
