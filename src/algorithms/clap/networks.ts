/**
 * The networks of a C-LAP agent (latent action model, constrained policy, value) and the policy-to-action map that
 * imagination, diagnostics and acting share.
 */
import { tf } from "../../engine/tf.js";
import { MLP } from "../../engine/nn.js";
import type { Rng } from "../../engine/rng.js";
import type { ClapConfig } from "./config.js";
import { LatentActionModel, type ModelDims } from "../../models/latent-action-model.js";
import { ConstrainedPolicy, type PolicyMode } from "./constrained-policy.js";

export interface ClapNetworks {
  model: LatentActionModel;
  policy: ConstrainedPolicy;
  value: ValueNetwork;
}

/**
 * v(s) = scale · MLP(s) (docs/design/method.md §5.1). With agent.valueScale "returns" the scale is the data's mean |return-to-go|
 * (ModelDims.returnScale), so Adam's steps, which move the MLP's output by about lr per step whatever the loss, move
 * the value in the units of the returns (docs/deviations.md); with "none" the scale is 1, the paper's plain MLP.
 * Parameter names are those of the plain MLP, so checkpoints load either way.
 */
export class ValueNetwork extends MLP {
  constructor(
    featDim: number,
    hidden: number[],
    readonly scale: number,
    rng: Rng,
  ) {
    super(featDim, hidden, 1, rng);
  }

  override apply(feat: tf.Tensor2D): tf.Tensor2D {
    const v = super.apply(feat);
    return this.scale === 1 ? v : (tf.mul(v, this.scale) as tf.Tensor2D);
  }
}

/** The value network of a config, initialised from `rng` (the online value and its slow copy draw the same). */
export function buildValue(cfg: ClapConfig, dims: ModelDims, featDim: number, rng: Rng): ValueNetwork {
  const hidden = Array.from({ length: cfg.agent.layers }, () => cfg.agent.hidden);
  return new ValueNetwork(featDim, hidden, cfg.agent.valueScale === "returns" ? (dims.returnScale ?? 1) : 1, rng);
}

export function policyMode(cfg: ClapConfig): PolicyMode {
  if (!cfg.model.latentAction) return "action";
  return cfg.policy.constraint === "box" ? "box" : "none";
}

/** A derived config field after resolveConfig has filled it. */
export function resolved(value: number | null, key: string): number {
  if (value === null) throw new Error(`${key} is unresolved; call resolveConfig first`);
  return value;
}

/** Builds the networks from a config with seeded initialisation (one child stream per network). */
export function buildNetworks(cfg: ClapConfig, dims: ModelDims, initRng: Rng): ClapNetworks {
  const model = new LatentActionModel(cfg.model, dims, initRng.split("model"));
  const outDim = cfg.model.latentAction ? cfg.model.latentActionDim : dims.actDim;
  const policy = new ConstrainedPolicy(cfg.policy, policyMode(cfg), model.featDim, outDim, resolved(cfg.agent.epsilon, "agent.epsilon"), initRng.split("policy"));
  const value = buildValue(cfg, dims, model.featDim, initRng.split("value"));
  return { model, policy, value };
}

/** Maps an action-space output of the policy to the action fed to the model (decoder mean or sample, or as is). */
function decodeAction(nets: ClapNetworks, feat: tf.Tensor2D, out: tf.Tensor2D, decoderNoise?: tf.Tensor): tf.Tensor2D {
  if (!nets.model.latentAction) return out;
  const dec = nets.model.actionDecoder(feat, out);
  if (decoderNoise === undefined) return dec.mean as tf.Tensor2D;
  return tf.clipByValue(tf.add(dec.mean, tf.mul(dec.std, decoderNoise)), -1, 1) as tf.Tensor2D;
}

/**
 * The prior policy: ũ = μ, the latent action prior's mean, decoded by the action decoder's mean — what the constrained
 * policy reduces to at x = 0 (the behaviour model the jump-start rests on, docs/design/method.md §4.3). Null without latent actions.
 */
export function priorAction(nets: ClapNetworks, feat: tf.Tensor2D): tf.Tensor2D | null {
  if (!nets.model.latentAction) return null;
  return decodeAction(nets, feat, nets.model.latentActionPrior(feat).mean as tf.Tensor2D);
}

/**
 * Policy output and decoded action at latent features: the policy's mode when `noise` is undefined, and the decoder
 * mean unless decoder noise is given. Noise tensors are standard normal, drawn by the caller.
 */
export function policyAction(nets: ClapNetworks, feat: tf.Tensor2D, noise?: { policy: tf.Tensor; decoder?: tf.Tensor }): { action: tf.Tensor2D; logProb: tf.Tensor1D } {
  const prior = nets.policy.mode === "box" ? nets.model.latentActionPrior(feat) : null;
  const { out, logProb } = nets.policy.act(feat, prior, noise?.policy);
  return { action: decodeAction(nets, feat, out, noise?.decoder), logProb };
}

