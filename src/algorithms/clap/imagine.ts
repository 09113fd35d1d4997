/**
 * The imagined rollout of the agent step (docs/design/method.md §7): from N start states, H steps of the policy's
 * action (networks.ts policyAction) through the frozen model's prior (LatentActionModel.imagineStep). It returns the
 * features of every state and the log π of every step; the heads, returns and losses stay with the caller.
 *
 * With the native addon active the rollout is one fused kernel each way (src/engine/fused-imagination.ts) wherever
 * that kernel applies: the constrained policy in mode "box" with the decoder's mean action (agent.imaginedAction
 * "mean", no decoder noise). Otherwise, and on pure wasm, the tfjs loop below runs; it is also the fused kernel's
 * reference in the tests.
 */
import { tf } from "../../engine/tf.js";
import { fusedActive } from "../../engine/blas.js";
import { imagineRollout } from "../../engine/fused-imagination.js";
import { FUSED_MLP_MAX_LAYERS } from "../../engine/fused-mlp.js";
import type { LatentState } from "../../models/latent-action-model.js";
import { policyAction, type ClapNetworks } from "./networks.js";

/** One step's standard-normal noise, [N, ·] each: the policy's, the state prior's, and the decoder's when sampled. */
export interface StepNoise {
  policy: tf.Tensor;
  prior: tf.Tensor;
  decoder?: tf.Tensor;
}

export interface Rollout {
  /** Features [(H+1)·N, featDim], step-major: block 0 the start states, block k + 1 the states after step k. */
  feats: tf.Tensor2D;
  /** log π of each step's policy output [H, N]. */
  logProbs: tf.Tensor2D;
}

/** Whether `imagine` runs the fused kernel for these networks and noise. */
export function fusedImagination(nets: ClapNetworks, noise: readonly StepNoise[]): boolean {
  if (!fusedActive("imagination") || nets.policy.mode !== "box" || noise.some((n) => n.decoder !== undefined)) return false;
  const { latentPrior, prior, decoder } = nets.model.imaginationNets();
  return [nets.policy.imaginationNet(), latentPrior, prior, decoder].every((m) => m.layers.length <= FUSED_MLP_MAX_LAYERS);
}

/** H = noise.length steps from `start`. */
export function imagine(nets: ClapNetworks, start: LatentState, noise: readonly StepNoise[]): Rollout {
  const { model } = nets;
  if (fusedImagination(nets, noise)) {
    const { feats, logProb } = imagineRollout({
      start: model.features(start),
      noisePolicy: tf.stack(noise.map((n) => n.policy)),
      noisePrior: tf.stack(noise.map((n) => n.prior)),
      policy: nets.policy.imaginationNet(),
      ...model.imaginationNets(),
    });
    return { feats, logProbs: logProb };
  }
  let state = start;
  const feats = [model.features(state)];
  const logProbs: tf.Tensor1D[] = [];
  for (const n of noise) {
    const { action, logProb } = policyAction(nets, feats[feats.length - 1], n);
    state = model.imagineStep(state, action, n.prior);
    feats.push(model.features(state));
    logProbs.push(logProb);
  }
  return { feats: tf.concat(feats, 0), logProbs: tf.stack(logProbs) as tf.Tensor2D };
}
