/** Inputs shared by the algorithms' benchmarks. */
import type { Rng } from "../engine/rng.js";
import type { TransitionBatch } from "../data/transitions.js";

/** Hopper's sizes, at which the transition-based benchmarks time their steps. */
export const HOPPER_DIMS = { obsDim: 11, actDim: 3 } as const;

/** B random transitions of hopper's shapes: step time does not depend on the values. */
export function syntheticTransitions(B: number, rng: Rng): TransitionBatch {
  const { obsDim, actDim } = HOPPER_DIMS;
  const fill = (n: number, f: () => number) => Float32Array.from({ length: n }, f);
  return {
    kind: "transitions",
    B,
    obsDim,
    actDim,
    obs: fill(B * obsDim, () => rng.normal()),
    act: fill(B * actDim, () => Math.tanh(rng.normal())),
    rew: fill(B, () => rng.normal()),
    nextObs: fill(B * obsDim, () => rng.normal()),
    cont: new Float32Array(B).fill(1),
    isFirst: new Float32Array(B),
  };
}
