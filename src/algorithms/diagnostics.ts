/**
 * Diagnostics every algorithm reports on the same fixed dataset windows, so that runs of different algorithms read
 * side by side: the squared error between the policy's action and the dataset's, over all entries and over the first
 * START_STEPS entries of episodes (`_start`), where a behaviour model that under-trains episode starts fails first
 * (docs/deviations.md).
 */
import { tf } from "../engine/tf.js";
import type { WindowBatch } from "../data/windows.js";

/** Entries from an episode's start over which the `_start` diagnostics average. */
export const START_STEPS = 10;

/**
 * Mean over valid entries (mask · actMask, and t < `firstSteps` within each window) of the squared action error,
 * averaged over action dimensions, for a memoryless policy `act` mapping normalised observations to actions.
 */
export function windowActionError(batch: WindowBatch, firstSteps: number, act: (obs: tf.Tensor2D) => tf.Tensor2D): number {
  const { B, T, actDim } = batch;
  const obsDim = batch.obs.length / (B * T);
  const r = tf.tidy(() => {
    const w = Float32Array.from({ length: B * T }, (_, i) => (i % T < firstSteps ? batch.mask[i] * batch.actMask[i] : 0));
    const err = tf.mean(tf.square(tf.sub(act(tf.tensor2d(batch.obs, [B * T, obsDim])), tf.tensor2d(batch.act, [B * T, actDim]))), 1);
    const wt = tf.tensor1d(w);
    return tf.div(tf.sum(tf.mul(err, wt)), tf.maximum(tf.sum(wt), 1));
  });
  const v = r.dataSync()[0];
  r.dispose();
  return v;
}

/**
 * `policy_action_mse` over the random windows and `policy_action_mse_start` over the first START_STEPS entries of the
 * episode-start windows, for a memoryless policy `act` (see windowActionError).
 */
export function policyActionErrors(batches: { all: WindowBatch; start: WindowBatch }, act: (obs: tf.Tensor2D) => tf.Tensor2D): Record<string, number> {
  return { policy_action_mse: windowActionError(batches.all, Infinity, act), policy_action_mse_start: windowActionError(batches.start, START_STEPS, act) };
}
