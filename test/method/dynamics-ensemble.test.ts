/**
 * The dynamics ensemble of MOPO and MOBILE (docs/design/method.md §17.2): gradients of its loss (soft log-variance
 * bounds included), fitting hopper transitions with holdout selection, and predictions in raw units.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { initEngine, tf } from "../../src/engine/tf.js";
import { Rng } from "../../src/engine/rng.js";
import { Adam } from "../../src/engine/optim.js";
import { makeEnv } from "../../src/envs/registry.js";
import { columnStats, DynamicsEnsemble, EnsembleSelection } from "../../src/models/dynamics-ensemble.js";
import { gradError, paramGradError, randn } from "../helpers/gradcheck.js";

before(async () => {
  await initEngine();
});

const OPTS = { members: 4, elites: 2, hidden: [32, 32], weightDecay: [2.5e-5, 5e-5, 1e-4], logVarBoundCoef: 0.01 };

/** Transitions of hopper under uniform random actions: x = [obs | act], y = [Δobs | reward], row-major. */
async function hopperTransitions(n: number, seed: number): Promise<{ x: Float32Array; y: Float32Array; obsDim: number; actDim: number }> {
  const env = await makeEnv("hopper", { seed });
  const obsDim = env.observationSpace.shape[0];
  const actDim = env.actionSpace.dim;
  const rng = new Rng(seed);
  const x = new Float32Array(n * (obsDim + actDim));
  const y = new Float32Array(n * (obsDim + 1));
  let obs = env.reset({ seed }) as Float32Array;
  for (let i = 0; i < n; i++) {
    const act = Float32Array.from({ length: actDim }, () => rng.uniformRange(-1, 1));
    const r = env.step(act);
    const next = r.obs as Float32Array;
    x.set(obs, i * (obsDim + actDim));
    x.set(act, i * (obsDim + actDim) + obsDim);
    for (let j = 0; j < obsDim; j++) y[i * (obsDim + 1) + j] = next[j] - obs[j];
    y[i * (obsDim + 1) + obsDim] = r.reward;
    obs = r.terminated || r.truncated ? (env.reset({ seed: seed + i + 1 }) as Float32Array) : next;
  }
  env.close();
  return { x, y, obsDim, actDim };
}

test("the ensemble loss has the gradients finite differences give, log-variance bounds included", () => {
  const dims = { obsDim: 3, actDim: 2 };
  const ens = new DynamicsEnsemble(dims, { ...OPTS, members: 3, hidden: [6, 5], weightDecay: [0.1, 0.2, 0.3] }, new Rng(1));
  // Bounds close to the raw outputs, so both soft clamps bend.
  ens.maxLogVar.assign(tf.fill([1, 1, 4], 0.1));
  ens.minLogVar.assign(tf.fill([1, 1, 4], -0.3));
  ens.setStats({ inMean: Float32Array.from([0.1, -0.2, 0.3, 0, 0.5]), inStd: Float32Array.from([1, 2, 0.5, 1, 1.5]), outMean: Float32Array.from([0, 1, -1, 0.2]), outStd: Float32Array.from([0.5, 1, 2, 1]) });
  const x = randn([3, 7, 5], 2) as tf.Tensor3D;
  const y = randn([3, 7, 4], 3) as tf.Tensor3D;
  const params = ens.trainableParams();
  const picked = ["l0/w", "l1/b", "l2/w", "l2/b", "maxLogVar", "minLogVar"].map((n) => params.get(n)!);
  const err = paramGradError(picked, () => ens.loss(x, y).loss, { probes: 6 });
  assert.ok(err < 2e-2, `parameter gradients: relative error ${err}`);
  const inErr = gradError((a, b) => ens.loss(a as tf.Tensor3D, b as tf.Tensor3D).loss, [x, y], { eps: 1e-3 });
  assert.ok(inErr < 2e-2, `input gradients: relative error ${inErr}`);
  assert.ok(!params.has("stats/inMean"), "standardisation constants are not trained");
  const { logVar } = ens.forward(x);
  const lv = logVar.dataSync();
  // Soft bounds: above min always; above max by at most softplus's excess log(1 + e^−(max − min)) of the lower clamp.
  const slack = Math.log(1 + Math.exp(-(0.1 - -0.3)));
  assert.ok(lv.every((v) => v > -0.3 && v < 0.1 + slack), "log-variances stay inside the learned bounds");
  tf.dispose([x, y, logVar]);
  ens.dispose();
});

test("on hopper transitions the holdout error falls, the best snapshots are restored and the elites are the best members", async () => {
  const { x, y, obsDim, actDim } = await hopperTransitions(2500, 5);
  const inD = obsDim + actDim;
  const outD = obsDim + 1;
  const n = x.length / inD;
  const nHold = 500;
  const nTrain = n - nHold;
  const trainX = x.subarray(0, nTrain * inD);
  const trainY = y.subarray(0, nTrain * outD);
  const holdX = tf.tensor2d(x.subarray(nTrain * inD), [nHold, inD]);
  const holdY = tf.tensor2d(y.subarray(nTrain * outD), [nHold, outD]);
  const ens = new DynamicsEnsemble({ obsDim, actDim }, OPTS, new Rng(7));
  const sx = columnStats(trainX, inD);
  const sy = columnStats(trainY, outD);
  ens.setStats({ inMean: sx.mean, inStd: sx.std, outMean: sy.mean, outStd: sy.std });
  const opt = new Adam(ens.trainableParams(), { lr: 1e-3, eps: 1e-8 });
  const rng = new Rng(11);
  const E = OPTS.members;
  const B = 64;
  const initial = ens.holdoutMse(holdX, holdY);
  const selection = new EnsembleSelection(ens, 5, 0.01);
  let epochs = 0;
  for (; epochs < 60; epochs++) {
    for (let s = 0; s < Math.ceil(nTrain / B); s++) {
      // Each member draws its own rows.
      const bx = new Float32Array(E * B * inD);
      const by = new Float32Array(E * B * outD);
      for (let k = 0; k < E * B; k++) {
        const i = rng.int(nTrain);
        bx.set(trainX.subarray(i * inD, (i + 1) * inD), k * inD);
        by.set(trainY.subarray(i * outD, (i + 1) * outD), k * outD);
      }
      const tx = tf.tensor3d(bx, [E, B, inD]);
      const ty = tf.tensor3d(by, [E, B, outD]);
      opt.minimize(() => ens.loss(tx, ty));
      tf.dispose([tx, ty]);
    }
    if (selection.update(ens.holdoutMse(holdX, holdY))) break;
  }
  const { holdout, elites } = selection.finish();
  const after = ens.holdoutMse(holdX, holdY);
  for (let i = 0; i < E; i++) {
    assert.ok(holdout[i] < 0.5 * initial[i], `member ${i}: holdout MSE ${initial[i]} → ${holdout[i]} after ${epochs} epochs`);
    assert.ok(Math.abs(after[i] - holdout[i]) <= 1e-5 * (1 + holdout[i]), `member ${i}: the restored snapshot gives its best error (${after[i]} vs ${holdout[i]})`);
  }
  const ranked = holdout.map((e, i) => [e, i]).sort((a, b) => a[0] - b[0]).map(([, i]) => i);
  assert.deepEqual(elites, ranked.slice(0, OPTS.elites).sort((a, b) => a - b));
  assert.deepEqual(ens.elites, elites);

  // Predictions are in raw units: better than predicting no change, with stds inside the scaled bounds.
  const obs = tf.slice(holdX, [0, 0], [-1, obsDim]);
  const act = tf.slice(holdX, [0, obsDim], [-1, actDim]);
  const { mean, std } = ens.predict(obs, act);
  assert.deepEqual(mean.shape, [E, nHold, outD]);
  const m = mean.dataSync();
  const target = holdY.dataSync();
  let errModel = 0;
  let errZero = 0;
  for (let i = 0; i < nHold * outD; i++) {
    errModel += (m[ranked[0] * nHold * outD + i] - target[i]) ** 2;
    errZero += (sy.mean[i % outD] - target[i]) ** 2;
  }
  assert.ok(errModel < 0.5 * errZero, `best member's raw squared error ${errModel} against the mean predictor's ${errZero}`);
  const sd = std.dataSync();
  const maxLv = ens.maxLogVar.dataSync();
  const minLv = ens.minLogVar.dataSync();
  for (let i = 0; i < sd.length; i++) {
    const j = i % outD;
    const upper = maxLv[j] + Math.log(1 + Math.exp(-(maxLv[j] - minLv[j])));
    assert.ok(sd[i] <= Math.exp(upper / 2) * sy.std[j] * (1 + 1e-5) && sd[i] >= Math.exp(minLv[j] / 2) * sy.std[j] * (1 - 1e-5), `std ${sd[i]} of dimension ${j}`);
  }
  tf.dispose([holdX, holdY, obs, act, mean, std]);
  ens.dispose();
});

test("ensemble options out of range are refused", () => {
  const dims = { obsDim: 3, actDim: 1 };
  assert.throws(() => new DynamicsEnsemble(dims, { ...OPTS, elites: 5 }, new Rng(0)), /elites must be in \[1, 4\]/);
  assert.throws(() => new DynamicsEnsemble(dims, { ...OPTS, weightDecay: [0.1] }, new Rng(0)), /weightDecay needs 3 entries/);
});
