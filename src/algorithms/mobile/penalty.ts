/**
 * MOBILE's Bellman-inconsistency penalty (docs/design/method.md §17.3): for a model transition (s, a), next states
 * s' are drawn `samples` times from each elite (DynamicsEnsemble.sampleNext), Q̂ = min_j Q'_j(s', π(s')) is evaluated
 * on each, averaged over the samples per member, and u(s, a) is the standard deviation of those averages across the
 * members — the unbiased (n − 1) estimate, as torch's `std` that MOBILE's code calls computes it. The critic target
 * then uses r − β · u.
 */
import { tf } from "../../engine/tf.js";
import type { UncertaintyPenalty } from "../model-based-sac.js";

/** q: [samples, members, rows] row-major → u [rows]. */
export function bellmanInconsistency(q: Float32Array, samples: number, members: number, rows: number): Float32Array {
  if (q.length !== samples * members * rows) throw new Error(`bellmanInconsistency: ${q.length} values, expected ${samples}·${members}·${rows}`);
  if (members < 2) throw new Error("bellmanInconsistency: needs at least 2 members for a standard deviation");
  const u = new Float32Array(rows);
  const avg = new Float64Array(members);
  for (let i = 0; i < rows; i++) {
    avg.fill(0);
    for (let s = 0; s < samples; s++) for (let e = 0; e < members; e++) avg[e] += q[(s * members + e) * rows + i] / samples;
    const m = avg.reduce((x, y) => x + y, 0) / members;
    let v = 0;
    for (let e = 0; e < members; e++) v += (avg[e] - m) ** 2;
    u[i] = Math.sqrt(v / (members - 1));
  }
  return u;
}

/**
 * β · u(s, a) for `rows` model transitions (obs, act row-major): next states from the elites, the target critics'
 * min Q at actions the current policy samples there, then bellmanInconsistency.
 */
export function mobileTargetPenalty(coef: number, samples: number): UncertaintyPenalty["target"] {
  return ({ ensemble, sac, obs, act, rows, rng }) => {
    const d = ensemble.dims.obsDim;
    const members = ensemble.elites.length;
    const o = tf.tensor2d(obs, [rows, d]);
    const a = tf.tensor2d(act, [rows, ensemble.dims.actDim]);
    const next = ensemble.sampleNext(o, a, samples, rng);
    tf.dispose([o, a]);
    const q = tf.tidy(() => sac.minTargetQ(tf.tensor2d(next, [samples * members * rows, d]), rng.tfSeed()));
    const u = bellmanInconsistency(q.dataSync() as Float32Array, samples, members, rows);
    q.dispose();
    return u.map((x) => coef * x);
  };
}
