/**
 * MOPO's reward penalty (docs/design/method.md §17.2 step 3): the max-aleatoric uncertainty
 * u(s, a) = max_i ‖σ_i(s, a)‖₂, the largest norm over all members (not only the elites, as MOPO's code computes it)
 * of a member's predicted std vector over [Δobs | reward], in raw units. The rollout subtracts λ · u from the reward.
 */
import type { StepPrediction } from "../model-rollouts.js";

export function maxAleatoric(p: StepPrediction): Float32Array {
  const u = new Float32Array(p.rows);
  for (let i = 0; i < p.rows; i++) {
    let best = 0;
    for (let e = 0; e < p.members; e++) {
      const at = (e * p.rows + i) * p.width;
      let sq = 0;
      for (let j = 0; j < p.width; j++) sq += p.std[at + j] * p.std[at + j];
      best = Math.max(best, Math.sqrt(sq));
    }
    u[i] = best;
  }
  return u;
}

/** λ · u(s, a) for each row: the penalty `modelRollout` subtracts. */
export function mopoPenalty(lambda: number): (p: StepPrediction) => Float32Array {
  return (p) => maxAleatoric(p).map((u) => lambda * u);
}
