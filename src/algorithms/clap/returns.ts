/**
 * Return targets over an imagined rollout (docs/design/method.md §5.2) and the per-step weights w_k (§5.3).
 *
 * Inputs are per-step tensors of shape [N]: rewards r̂_1 … r̂_H and continuations ĉ_1 … ĉ_H (index k − 1 holds step k),
 * values v(s_0) … v(s_H). Outputs V_0 … V_{H−1}. The functions are differentiable (the actor loss backpropagates
 * through them); the value loss wraps the result in a stop-gradient itself.
 */
import { tf } from "../../engine/tf.js";

/**
 * Dreamer's V_N with continuation masking, m = min(k + N, H):
 * V_k = Σ_{j=k}^{m−1} γ^{j−k} (Π_{i=k+1}^{j} ĉ_i) r̂_{j+1} + γ^{m−k} (Π_{i=k+1}^{m} ĉ_i) v(s_m).
 */
export function nStepReturns(rewards: tf.Tensor[], conts: tf.Tensor[], values: tf.Tensor[], gamma: number, n: number): tf.Tensor[] {
  const H = rewards.length;
  checkLengths(rewards, conts, values);
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`n-step return: N must be a positive integer, got ${n}`);
  const out: tf.Tensor[] = [];
  for (let k = 0; k < H; k++) {
    const m = Math.min(k + n, H);
    // disc = γ^{j−k} Π_{i=k+1}^{j} ĉ_i, advanced one step after each reward.
    let acc: tf.Tensor = rewards[k];
    let disc: tf.Tensor = tf.mul(conts[k], gamma);
    for (let j = k + 1; j < m; j++) {
      acc = tf.add(acc, tf.mul(disc, rewards[j]));
      disc = tf.mul(disc, tf.mul(conts[j], gamma));
    }
    out.push(tf.add(acc, tf.mul(disc, values[m])));
  }
  return out;
}

/** λ-return: V_H = v(s_H), V_k = r̂_{k+1} + γ ĉ_{k+1} [(1 − λ) v(s_{k+1}) + λ V_{k+1}]. */
export function lambdaReturns(rewards: tf.Tensor[], conts: tf.Tensor[], values: tf.Tensor[], gamma: number, lambda: number): tf.Tensor[] {
  const H = rewards.length;
  checkLengths(rewards, conts, values);
  const out: tf.Tensor[] = new Array(H);
  let next = values[H];
  for (let k = H - 1; k >= 0; k--) {
    const blend = tf.add(tf.mul(1 - lambda, values[k + 1]), tf.mul(lambda, next));
    next = tf.add(rewards[k], tf.mul(tf.mul(conts[k], gamma), blend));
    out[k] = next;
  }
  return out;
}

/**
 * w_k for k = 0 … H−1: "continuation" Π_{i=1}^{k} ĉ_i (w_0 = 1), "discount" additionally γ^k, "none" all ones.
 * The caller detaches them (they weight the losses, they are not optimised through).
 */
export function stepWeights(conts: tf.Tensor[], gamma: number, weighting: "none" | "continuation" | "discount"): tf.Tensor[] {
  const H = conts.length;
  const ones = tf.onesLike(conts[0]);
  const out: tf.Tensor[] = [ones];
  let w: tf.Tensor = ones;
  for (let k = 1; k < H; k++) {
    if (weighting === "none") {
      out.push(ones);
      continue;
    }
    w = tf.mul(w, weighting === "discount" ? tf.mul(conts[k - 1], gamma) : conts[k - 1]);
    out.push(w);
  }
  return out;
}

function checkLengths(rewards: tf.Tensor[], conts: tf.Tensor[], values: tf.Tensor[]): void {
  if (conts.length !== rewards.length || values.length !== rewards.length + 1) {
    throw new Error(`return targets: need H rewards, H continuations and H + 1 values (got ${rewards.length}, ${conts.length}, ${values.length})`);
  }
}
