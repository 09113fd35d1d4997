/**
 * Normalised scores on the 0–100 scale papers report (docs/design/environments.md §13, docs/design/method.md §14).
 *
 * One table, `SCORE_REFERENCES`, holds every constant with its source:
 * - D4RL locomotion and antmaze: `100 · (R − REF_MIN) / (REF_MAX − REF_MIN)` with D4RL's `d4rl/infos.py`
 *   REF_MIN_SCORE / REF_MAX_SCORE (the `*-random-v0` entries, which the v1 and v2 entries copy). For antmaze
 *   (min 0, max 1) that is 100 × the episode's success, since the return is 1 on reaching the goal and 0 otherwise.
 * - V-D4RL (dm_control): return / 10, i.e. min 0 and max 1000 [inferred from the magnitude of the published
 *   numbers, docs/design/environments.md §13.2].
 *
 * Each entry also names the environment semantics its constants assume (§0.1): D4RL's numbers assume
 * Gymnasium-v4-equivalent rules, and normalising returns of an environment with other semantics (say a v5 port)
 * would silently mix benchmarks, so `normalizedScore100` refuses unless `allowSemanticsMismatch` is set.
 *
 * Scores of this project's runs are not comparable with published ones: the datasets are regenerated and the
 * engine version differs (§13.1).
 */
import { envInfo } from "../envs/registry.js";
import { UserError } from "../errors.js";

export interface ScoreReference {
  /** Return that maps to 0. */
  min: number;
  /** Return that maps to 100. */
  max: number;
  /** Environment semantics the constants were made for; must equal the registry's `semantics`. */
  semantics: string;
  /** Short name of the normalisation, for report lines. */
  kind: "D4RL" | "V-D4RL return/10";
  /** Where the constants come from. */
  source: string;
}

const D4RL_INFOS = "D4RL d4rl/infos.py REF_MIN_SCORE/REF_MAX_SCORE (*-random-v0 entries; v1/v2 copy them)";
const VD4RL = "V-D4RL: raw dm_control return (0–1000) / 10 [inferred, docs/design/environments.md §13.2]";

function d4rl(min: number, max: number, semantics = "gymnasium-v4"): ScoreReference {
  return { min, max, semantics, kind: "D4RL", source: D4RL_INFOS };
}

const ANTMAZE = d4rl(0, 1, "d4rl-v2");

export const SCORE_REFERENCES: Readonly<Record<string, ScoreReference>> = {
  halfcheetah: d4rl(-280.178953, 12135.0),
  hopper: d4rl(-20.272305, 3234.3),
  walker2d: d4rl(1.629008, 4592.3),
  ant: d4rl(-325.6, 3879.7),
  "antmaze-umaze": ANTMAZE,
  "antmaze-umaze-diverse": ANTMAZE,
  "antmaze-medium-play": ANTMAZE,
  "antmaze-medium-diverse": ANTMAZE,
  "antmaze-large-play": ANTMAZE,
  "antmaze-large-diverse": ANTMAZE,
  "dmc-cheetah-run": { min: 0, max: 1000, semantics: "dm_control", kind: "V-D4RL return/10", source: VD4RL },
  "dmc-walker-walk": { min: 0, max: 1000, semantics: "dm_control", kind: "V-D4RL return/10", source: VD4RL },
};

export interface ScoreOptions {
  /**
   * Semantics of the environment that produced the return, e.g. as recorded in a run manifest; default: the
   * registry's current entry for the id.
   */
  semantics?: string;
  /** Normalise even when the semantics differ from the constants' (the result is then not comparable). */
  allowSemanticsMismatch?: boolean;
}

/** The reference entry for an environment id, or null when the id has no published constants. */
export function scoreReference(envId: string): ScoreReference | null {
  return Object.hasOwn(SCORE_REFERENCES, envId) ? SCORE_REFERENCES[envId] : null;
}

/** `100 · (ret − min) / (max − min)` with the environment's reference constants. */
export function normalizedScore100(envId: string, ret: number, options: ScoreOptions = {}): number {
  const ref = scoreReference(envId);
  if (ref === null) {
    throw new UserError(`no reference scores for environment "${envId}"; known: ${Object.keys(SCORE_REFERENCES).join(", ")}`);
  }
  if (!Number.isFinite(ret)) throw new UserError(`normalizedScore100(${envId}): return must be finite, got ${ret}`);
  const semantics = options.semantics ?? envInfo(envId).semantics;
  if (semantics !== ref.semantics && options.allowSemanticsMismatch !== true) {
    throw new UserError(
      `${envId}: reference scores assume "${ref.semantics}" semantics but the environment has "${semantics}"; ` +
        "pass allowSemanticsMismatch to normalise anyway (the scores are then not comparable)",
    );
  }
  return (100 * (ret - ref.min)) / (ref.max - ref.min);
}
