/**
 * D4RL antmaze layouts and the geometry derived from them (docs/design/environments.md §7.3).
 *
 * Grid convention: `grid[row][col]`, rows listed top to bottom. World x follows the column index and world y the
 * row index, both scaled by MAZE_SCALING and shifted so the start cell's centre is the origin. Every wall cell
 * becomes a static box of half-sizes (2, 2, 1) centred at height 1 in the world body.
 *
 * The evaluation grids carry one goal cell each. The dataset-collection grids have the same walls and differ only
 * in their goal markers, which are kept here as `dataGoalCells` for the data-regeneration navigator.
 */
import type { Rng } from "../engine/rng.js";

export type MazeName = "umaze" | "medium" | "large";

/** [row, col] */
export type Cell = readonly [number, number];

export interface MazeLayout {
  readonly name: MazeName;
  /** true = wall. */
  readonly walls: readonly (readonly boolean[])[];
  readonly start: Cell;
  /** The evaluation environment's goal cell. */
  readonly goal: Cell;
  /** Goal cells marked on D4RL's dataset-collection grid (docs/design/datasets.md §6.3). */
  readonly dataGoalCells: readonly Cell[];
}

/** Metres per grid cell (D4RL `maze_size_scaling`). */
export const MAZE_SCALING = 4.0;
/** D4RL `maze_height`; walls are MAZE_HEIGHT · MAZE_SCALING = 2 m tall. */
export const MAZE_HEIGHT = 0.5;
/** Success radius around the goal, metres. */
export const GOAL_RADIUS = 0.5;

/**
 * Parses a grid written as one string per row: '#' wall, '.' free, 'R' start, 'G' goal.
 * A tiny text format keeps the tables readable and checkable against docs/design/environments.md by eye.
 */
function parseLayout(name: MazeName, rows: readonly string[], dataGoalCells: readonly Cell[]): MazeLayout {
  let start: Cell | null = null;
  let goal: Cell | null = null;
  const walls = rows.map((line, i) =>
    Array.from(line).map((ch, j) => {
      if (ch === "R") start = [i, j];
      else if (ch === "G") goal = [i, j];
      else if (ch !== "#" && ch !== ".") throw new Error(`maze ${name}: bad cell '${ch}' at row ${i}, col ${j}`);
      return ch === "#";
    }),
  );
  if (start === null || goal === null) throw new Error(`maze ${name}: needs one 'R' and one 'G' cell`);
  return { name, walls, start, goal, dataGoalCells };
}

export const MAZES: Readonly<Record<MazeName, MazeLayout>> = {
  umaze: parseLayout("umaze", ["#####", "#R..#", "###.#", "#G..#", "#####"], [[3, 1]]),
  medium: parseLayout(
    "medium",
    ["########", "#R.##..#", "#..#...#", "##...###", "#..#...#", "#.#..#.#", "#...#.G#", "########"],
    [
      [2, 6],
      [5, 1],
      [6, 5],
    ],
  ),
  large: parseLayout(
    "large",
    [
      "############",
      "#R...#.....#",
      "#.##.#.#.#.#",
      "#......#...#",
      "#.####.###.#",
      "#..#.#.....#",
      "##.#.#.#.###",
      "#..#...#.G.#",
      "############",
    ],
    [
      [1, 6],
      [3, 5],
      [3, 10],
      [5, 2],
      [7, 4],
      [7, 6],
      [7, 9],
    ],
  ),
};

export type AntMazeId =
  | "antmaze-umaze"
  | "antmaze-umaze-diverse"
  | "antmaze-medium-play"
  | "antmaze-medium-diverse"
  | "antmaze-large-play"
  | "antmaze-large-diverse";

/**
 * The antmaze evaluation environments: maze and step limit (docs/design/environments.md §7.1). "diverse" and "play" name
 * D4RL's data-collection schemes; their evaluation environments are identical.
 */
export const ANTMAZE_TASKS: Readonly<Record<AntMazeId, { maze: MazeName; maxEpisodeSteps: number }>> = {
  "antmaze-umaze": { maze: "umaze", maxEpisodeSteps: 700 },
  "antmaze-umaze-diverse": { maze: "umaze", maxEpisodeSteps: 700 },
  "antmaze-medium-play": { maze: "medium", maxEpisodeSteps: 1000 },
  "antmaze-medium-diverse": { maze: "medium", maxEpisodeSteps: 1000 },
  "antmaze-large-play": { maze: "large", maxEpisodeSteps: 1000 },
  "antmaze-large-diverse": { maze: "large", maxEpisodeSteps: 1000 },
};

/** World (x, y) of a cell's centre. */
export function cellCenter(layout: MazeLayout, cell: Cell): [number, number] {
  const [r0, c0] = layout.start;
  return [(cell[1] - c0) * MAZE_SCALING, (cell[0] - r0) * MAZE_SCALING];
}

export interface WallBox {
  name: string;
  row: number;
  col: number;
  /** Centre (x, y, z), metres. */
  pos: [number, number, number];
  /** Half-sizes, metres. */
  halfSize: [number, number, number];
}

/** One static box per wall cell, named `block_<row>_<col>`. */
export function wallBoxes(layout: MazeLayout): WallBox[] {
  const half = 0.5 * MAZE_SCALING;
  const halfHeight = 0.5 * MAZE_HEIGHT * MAZE_SCALING;
  const boxes: WallBox[] = [];
  layout.walls.forEach((row, i) =>
    row.forEach((wall, j) => {
      if (!wall) return;
      const [x, y] = cellCenter(layout, [i, j]);
      boxes.push({ name: `block_${i}_${j}`, row: i, col: j, pos: [x, y, halfHeight], halfSize: [half, half, halfHeight] });
    }),
  );
  return boxes;
}

/**
 * D4RL's evaluation goal sampler: the goal cell's centre plus U(0, 1) and then U(0, 0.5) per coordinate, each
 * coordinate clamped at ≥ 0 (the clamp only matters for goal cells left of or above the start cell).
 * Draw order: x noise, y noise, x extra, y extra.
 */
export function sampleGoal(layout: MazeLayout, rng: Rng): [number, number] {
  const [cx, cy] = cellCenter(layout, layout.goal);
  const x = cx + rng.uniformRange(0, 0.25 * MAZE_SCALING);
  const y = cy + rng.uniformRange(0, 0.25 * MAZE_SCALING);
  return [Math.max(x + rng.uniformRange(0, 0.5), 0), Math.max(y + rng.uniformRange(0, 0.5), 0)];
}
