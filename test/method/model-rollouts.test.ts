/**
 * Model rollouts and the uncertainty penalties of MOPO and MOBILE (docs/design/method.md §17.2, §17.3, pitfall
 * §17.6.1), on a fixed ensemble whose predictions are known in closed form: rows stop at predicted terminations,
 * penalties equal hand-computed values, and MOBILE's next-state samples come from the elites.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { initEngine, tf } from "../../src/engine/tf.js";
import { Rng } from "../../src/engine/rng.js";
import { terminationRule } from "../../src/envs/termination.js";
import { DynamicsEnsemble } from "../../src/models/dynamics-ensemble.js";
import { modelRollout } from "../../src/algorithms/model-rollouts.js";
import { maxAleatoric, mopoPenalty } from "../../src/algorithms/mopo/penalty.js";
import { bellmanInconsistency } from "../../src/algorithms/mobile/penalty.js";

before(async () => {
  await initEngine();
});

const OBS = 11;
const ACT = 3;
const OPTS = { members: 3, elites: 2, hidden: [4], weightDecay: [0, 0], logVarBoundCoef: 0.01 };

const softplus = (x: number) => Math.log1p(Math.exp(x));
/** The bounded log-variance of a raw output of 0 under the initial bounds (0.5, −10). */
const LOGVAR0 = -10 + softplus(0.5 - softplus(0.5) + 10);

/**
 * An ensemble whose weights are all zero, so every member predicts the standardised mean 0 and raw log-variance 0:
 * raw mean = outMean, raw std = exp(LOGVAR0 / 2) · outStd, whatever the input.
 */
function fixedEnsemble(outMean: number[], outStd: number[]): DynamicsEnsemble {
  const ens = new DynamicsEnsemble({ obsDim: OBS, actDim: ACT }, OPTS, new Rng(0));
  for (const [name, v] of ens.trainableParams()) if (/^l\d+\//.test(name)) v.assign(tf.zerosLike(v));
  ens.setStats({ inMean: new Float32Array(OBS + ACT), inStd: new Float32Array(OBS + ACT).fill(1), outMean: Float32Array.from(outMean), outStd: Float32Array.from(outStd) });
  return ens;
}

test("rollouts stop at the termination the environment's rule gives on predicted observations", () => {
  // Δz = −0.12 per step from z = 1: 0.88, 0.76, then 0.64 < 0.7, so hopper's rule ends every row at step 3.
  const outMean = [-0.12, ...new Array(OBS - 1).fill(0), 0.5];
  const ens = fixedEnsemble(outMean, new Array(OBS + 1).fill(1e-6));
  const N = 4;
  const start = new Float32Array(N * OBS);
  for (let i = 0; i < N; i++) start[i * OBS] = 1;
  let calls = 0;
  const policy = (obs: Float32Array, rows: number) => {
    calls++;
    assert.equal(obs.length, rows * OBS);
    return new Float32Array(rows * ACT).fill(0.1);
  };
  const r = modelRollout(ens, policy, start, { length: 5, termination: terminationRule("hopper").fn, rng: new Rng(1) });
  assert.equal(calls, 3, "no step after every row has terminated");
  assert.equal(r.count, 3 * N);
  assert.deepEqual(Array.from(r.terminal), [...new Array(2 * N).fill(0), ...new Array(N).fill(1)]);
  for (let k = 0; k < r.count; k++) {
    assert.ok(Math.abs(r.nextObs[k * OBS] - (r.obs[k * OBS] - 0.12)) < 1e-4, "next = obs + the predicted change");
    assert.ok(Math.abs(r.rew[k] - 0.5) < 1e-4, "reward as predicted, no penalty");
  }
  assert.deepEqual([r.stats.terminated, r.stats.numerical, r.stats.steps], [N, 0, 3]);
  ens.dispose();
});

test("MOPO's max-aleatoric penalty is the largest std norm over members, subtracted with λ", () => {
  const outStd = [...new Array(OBS).fill(0.01), 0.2];
  const ens = fixedEnsemble(new Array(OBS + 1).fill(0), outStd);
  const sd = Math.exp(LOGVAR0 / 2);
  const u = Math.sqrt(outStd.reduce((s, x) => s + (sd * x) ** 2, 0));
  const start = new Float32Array(2 * OBS);
  start[0] = start[OBS] = 1.2;
  const r = modelRollout(ens, (_o, rows) => new Float32Array(rows * ACT), start, { length: 1, termination: terminationRule("hopper").fn, rng: new Rng(2), penalty: mopoPenalty(5) });
  assert.ok(Math.abs(r.stats.penaltyMean - 5 * u) < 1e-5, `penalty ${r.stats.penaltyMean} against 5 · ${u}`);
  // Per member by hand: the row's largest norm wins.
  const p = { mean: new Float32Array(3 * 2 * 2), std: Float32Array.from([3, 4, 0, 1, 1, 1, 0, 0, 6, 8, 0, 2]), members: 3, rows: 2, width: 2 };
  // Row 0: norms 5, √2, 10; row 1: 1, 0, 2.
  assert.deepEqual(Array.from(maxAleatoric(p)), [10, 2]);
  ens.dispose();
});

test("MOBILE's penalty is the unbiased std across members of the sample-averaged Q, and its samples come from the elites", () => {
  // samples 2, members 3, rows 2: averages per member [2, 3, 4] (std 1) for row 0, [5, 5, 5] (std 0) for row 1.
  const q = Float32Array.from([1, 5, 2, 5, 3, 5, 3, 5, 4, 5, 5, 5]);
  assert.deepEqual(Array.from(bellmanInconsistency(q, 2, 3, 2)), [1, 0]);
  assert.throws(() => bellmanInconsistency(q, 2, 3, 3), /expected/);
  const outMean = [0.3, ...new Array(OBS).fill(0)];
  const ens = fixedEnsemble(outMean, new Array(OBS + 1).fill(1e-6));
  ens.elites = [0, 2];
  const obs = tf.zeros([5, OBS]) as tf.Tensor2D;
  const act = tf.zeros([5, ACT]) as tf.Tensor2D;
  const next = ens.sampleNext(obs, act, 4, new Rng(3));
  assert.equal(next.length, 4 * 2 * 5 * OBS, "[samples, elites, rows, obsDim]");
  for (let k = 0; k < next.length; k += OBS) assert.ok(Math.abs(next[k] - 0.3) < 1e-4);
  tf.dispose([obs, act]);
  ens.dispose();
});
