/**
 * Termination functions on observations only, for model rollouts (MOPO/MOBILE; docs/design/environments.md §2, §3.1,
 * §4.1, §5.1). The real environments use the same rules on their unclipped state (see gym-locomotion.ts), so
 * the thresholds live here once.
 *
 * A function reads one observation at `obs[offset .. offset + obsDim)` and answers:
 * - `"none"`: the rollout continues;
 * - `"terminal"`: the task's own termination rule fired;
 * - `"numerical"`: a non-finite entry or a sanity bound fired (a model blow-up, not a task event); callers
 *   terminate and should count/log these.
 *
 * Other environment families add their entries to `TERMINATION_RULES`.
 */
import { UserError } from "../errors.js";
import { ANTMAZE_TASKS } from "./maze.js";

export type TerminationKind = "none" | "terminal" | "numerical";
export type TerminationFn = (obs: ArrayLike<number>, offset?: number) => TerminationKind;

export interface TerminationRule {
  obsDim: number;
  fn: TerminationFn;
  /** One line for logs and reports. */
  description: string;
}

function allFinite(obs: ArrayLike<number>, offset: number, dim: number): boolean {
  for (let i = offset; i < offset + dim; i++) if (!Number.isFinite(obs[i])) return false;
  return true;
}

/** Hopper: healthy while z > 0.7, |angle| < 0.2 and every entry after z is inside (−100, 100). */
const hopper: TerminationFn = (obs, offset = 0) => {
  if (!allFinite(obs, offset, 11)) return "numerical";
  if (!(obs[offset] > 0.7) || !(Math.abs(obs[offset + 1]) < 0.2)) return "terminal";
  for (let i = offset + 1; i < offset + 11; i++) if (!(Math.abs(obs[i]) < 100)) return "terminal";
  return "none";
};

/** Walker2d: healthy while 0.8 < z < 2.0 and −1 < angle < 1; no range check on the rest. */
const walker2d: TerminationFn = (obs, offset = 0) => {
  if (!allFinite(obs, offset, 17)) return "numerical";
  const z = obs[offset];
  const angle = obs[offset + 1];
  return z > 0.8 && z < 2.0 && angle > -1 && angle < 1 ? "none" : "terminal";
};

/** HalfCheetah never terminates; only a blown-up prediction (non-finite or any |obs| ≥ 100) stops a rollout. */
const halfcheetah: TerminationFn = (obs, offset = 0) => {
  for (let i = offset; i < offset + 17; i++) if (!(Math.abs(obs[i]) < 100)) return "numerical";
  return "none";
};

/** Ant (27-dim observation, obs[0] = torso z): healthy while every entry is finite and 0.2 ≤ z ≤ 1.0 (§6). */
export const ANT_HEALTHY_Z: readonly [number, number] = [0.2, 1.0];
const ant: TerminationFn = (obs, offset = 0) => {
  if (!allFinite(obs, offset, 27)) return "numerical";
  const z = obs[offset];
  return z >= ANT_HEALTHY_Z[0] && z <= ANT_HEALTHY_Z[1] ? "none" : "terminal";
};

/**
 * Antmaze: success is the only termination and needs the goal, which the observation lacks (§7.1), so rollouts
 * never terminate on the task (docs/design/method.md §17.6); a blown-up prediction (non-finite or |obs| ≥ 100, far beyond
 * the largest maze's 36 m extent and any velocity a random ant reaches) stops it.
 */
const antmaze: TerminationFn = (obs, offset = 0) => {
  for (let i = offset; i < offset + 29; i++) if (!(Math.abs(obs[i]) < 100)) return "numerical";
  return "none";
};

export const TERMINATION_RULES: Record<string, TerminationRule> = {
  hopper: { obsDim: 11, fn: hopper, description: "z > 0.7, |angle| < 0.2, |obs[1:]| < 100" },
  walker2d: { obsDim: 17, fn: walker2d, description: "0.8 < z < 2.0, -1 < angle < 1" },
  halfcheetah: { obsDim: 17, fn: halfcheetah, description: "never (sanity bound |obs| < 100)" },
  ant: { obsDim: 27, fn: ant, description: "finite, 0.2 <= z <= 1.0" },
  ...Object.fromEntries(
    Object.keys(ANTMAZE_TASKS).map((id) => [id, { obsDim: 29, fn: antmaze, description: "never: goal not observed (sanity bound |obs| < 100)" }]),
  ),
};

export function terminationRule(envId: string): TerminationRule {
  const rule = TERMINATION_RULES[envId];
  if (rule === undefined) {
    throw new UserError(`no model-rollout termination rule for env "${envId}" (known: ${Object.keys(TERMINATION_RULES).join(", ")})`);
  }
  return rule;
}

/**
 * Applies a rule to a row-major batch of observations. `mask[i]` is 1 where observation i ends the rollout;
 * `numerical` counts the rows ended by the sanity check rather than the task rule.
 */
export function terminationMask(rule: TerminationRule, obs: ArrayLike<number>): { mask: Uint8Array; numerical: number } {
  if (obs.length % rule.obsDim !== 0) {
    throw new UserError(`termination: batch of ${obs.length} values is not a multiple of the observation size ${rule.obsDim}`);
  }
  const n = obs.length / rule.obsDim;
  const mask = new Uint8Array(n);
  let numerical = 0;
  for (let i = 0; i < n; i++) {
    const kind = rule.fn(obs, i * rule.obsDim);
    if (kind !== "none") mask[i] = 1;
    if (kind === "numerical") numerical++;
  }
  return { mask, numerical };
}
