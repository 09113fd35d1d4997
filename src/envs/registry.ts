/**
 * The environment registry: `await makeEnv(id, options?)`, `listEnvs()`, `envInfo(id)`.
 *
 * Adding an environment = adding one entry to `ENTRIES` (id, family, semantics, description, observation shape,
 * action dim, step limit, and an async `create(options)`). Options are resolved here, once:
 * `{ massModel: "legacy", disableIsland: true, seed: 0 }` unless given (docs/design/environments.md §0.2).
 * `pixels: true` (or `{ size, camera }`) wraps the env so it observes rendered frames (pixels.ts, §12).
 * An unknown id → `UserError` listing the closest registered ids.
 *
 * `semantics` records which reference the env reproduces ("gymnasium-v4", "d4rl", "dm_control", ...); score
 * normalisation checks it before applying D4RL constants (§0.1).
 */
import type { Env } from "./env.js";
import type { MassModel, MujocoEnvOptions } from "./mujoco-env.js";
import { createHalfCheetah } from "./halfcheetah.js";
import { createHopper } from "./hopper.js";
import { createWalker2d } from "./walker2d.js";
import { AntEnv } from "./ant.js";
import { ANTMAZE_OBS_DIM, AntMazeEnv } from "./antmaze.js";
import { ANTMAZE_TASKS, type AntMazeId } from "./maze.js";
import { DmcCheetahRunEnv } from "./dmc-cheetah.js";
import { DmcWalkerWalkEnv } from "./dmc-walker.js";
import { withPixels, type PixelOptions } from "./pixels.js";
import { UserError } from "../errors.js";

export type EnvOptions = Partial<MujocoEnvOptions> & {
  /** Observe 64×64 RGB uint8 frames instead of the state vector (pixels.ts); an object sets size/camera. */
  pixels?: boolean | PixelOptions;
};

export interface EnvInfo {
  id: string;
  /** Grouping for reports and CLI listings, e.g. "locomotion", "antmaze", "dmc". */
  family: string;
  semantics: string;
  description: string;
  obsShape: number[];
  actionDim: number;
  maxEpisodeSteps: number;
}

export interface EnvEntry extends EnvInfo {
  create(options: MujocoEnvOptions): Promise<Env>;
}

const ENTRIES: EnvEntry[] = [
  {
    id: "hopper",
    family: "locomotion",
    semantics: "gymnasium-v4",
    description: "Hopper-v4: one-legged planar hopper, forward reward + 1 healthy − 0.001·|a|², terminates when unhealthy",
    obsShape: [11],
    actionDim: 3,
    maxEpisodeSteps: 1000,
    create: createHopper,
  },
  {
    id: "halfcheetah",
    family: "locomotion",
    semantics: "gymnasium-v4",
    description: "HalfCheetah-v4: planar cheetah, forward reward − 0.1·|a|², never terminates",
    obsShape: [17],
    actionDim: 6,
    maxEpisodeSteps: 1000,
    create: createHalfCheetah,
  },
  {
    id: "walker2d",
    family: "locomotion",
    semantics: "gymnasium-v4",
    description: "Walker2d-v4: planar biped, forward reward + 1 healthy − 0.001·|a|², terminates when fallen",
    obsShape: [17],
    actionDim: 6,
    maxEpisodeSteps: 1000,
    create: createWalker2d,
  },
  {
    id: "ant",
    family: "locomotion",
    semantics: "gymnasium-v4",
    description: "Ant-v4: quadruped, x velocity + 1 healthy − 0.5·|a|², terminates when torso z leaves [0.2, 1]",
    obsShape: [27],
    actionDim: 8,
    maxEpisodeSteps: 1000,
    create: (o) => AntEnv.create(o),
  },
  ...(Object.keys(ANTMAZE_TASKS) as AntMazeId[]).map((id): EnvEntry => ({
    id,
    family: "antmaze",
    semantics: "d4rl-v2",
    description: `D4RL ${id}-v2 evaluation: ant in the ${ANTMAZE_TASKS[id].maze} maze, reward 1 and termination within 0.5 m of a per-reset goal`,
    obsShape: [ANTMAZE_OBS_DIM],
    actionDim: 8,
    maxEpisodeSteps: ANTMAZE_TASKS[id].maxEpisodeSteps,
    create: (o) => AntMazeEnv.create(id, o),
  })),
  {
    id: "dmc-cheetah-run",
    family: "dmc",
    semantics: "dm_control",
    description: "dm_control cheetah-run with V-D4RL's action repeat 2: reward clip(v/10, 0, 1) per control step summed over 2, 500 steps, never terminates",
    obsShape: [17],
    actionDim: 6,
    maxEpisodeSteps: 500,
    create: (options) => DmcCheetahRunEnv.create(options),
  },
  {
    id: "dmc-walker-walk",
    family: "dmc",
    semantics: "dm_control",
    description: "dm_control walker-walk with V-D4RL's action repeat 2: stand·(5·move + 1)/6 per control step summed over 2, 500 steps, never terminates",
    obsShape: [24],
    actionDim: 6,
    maxEpisodeSteps: 500,
    create: (options) => DmcWalkerWalkEnv.create(options),
  },
];

const MASS_MODELS: readonly MassModel[] = ["legacy", "exact"];

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

function entry(id: string): EnvEntry {
  const found = ENTRIES.find((e) => e.id === id);
  if (found !== undefined) return found;
  const ranked = ENTRIES.map((e) => ({ id: e.id, d: editDistance(id.toLowerCase(), e.id) + (e.id.includes(id.toLowerCase()) ? -5 : 0) }))
    .sort((a, b) => a.d - b.d)
    .slice(0, 3)
    .map((e) => e.id);
  throw new UserError(`unknown environment "${id}"; closest: ${ranked.join(", ")}`);
}

function resolveOptions(id: string, options: EnvOptions): MujocoEnvOptions {
  const massModel = options.massModel ?? "legacy";
  if (!MASS_MODELS.includes(massModel)) {
    throw new UserError(`${id}: massModel must be "legacy" or "exact", got "${String(massModel)}"`);
  }
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0) throw new UserError(`${id}: seed must be a non-negative integer, got ${seed}`);
  return { massModel, disableIsland: options.disableIsland ?? true, seed };
}

/** Creates a registered environment. */
export async function makeEnv(id: string, options: EnvOptions = {}): Promise<Env> {
  const e = entry(id);
  const env = await e.create(resolveOptions(id, options));
  if (options.pixels === undefined || options.pixels === false) return env;
  try {
    return withPixels(env, options.pixels === true ? {} : options.pixels);
  } catch (e) {
    env.close();
    throw e;
  }
}

/** Every registered environment's description, in registration order. */
export function listEnvs(): EnvInfo[] {
  return ENTRIES.map(({ create: _create, ...info }) => ({ ...info, obsShape: [...info.obsShape] }));
}

/** The description of one registered environment (UserError for an unknown id). */
export function envInfo(id: string): EnvInfo {
  const { create: _create, ...info } = entry(id);
  return { ...info, obsShape: [...info.obsShape] };
}
