/**
 * Behaviour cloning as a training instance: no phase 1; phase 2 regresses the policy on single dataset transitions
 * (docs/design/baselines.md, BC). Diagnostics: the action error against the data overall and over the first steps of
 * episodes, the same measures C-LAP reports for its policy, so the two read side by side.
 */
import { tf } from "../../engine/tf.js";
import { Adam } from "../../engine/optim.js";
import type { Rng, RngState } from "../../engine/rng.js";
import type { WindowBatch } from "../../data/windows.js";
import type { ObsStats } from "../../data/store.js";
import type { Policy } from "../../eval/policy.js";
import type { ModelDims } from "../../models/latent-action-model.js";
import { asTransitions, type Algorithm, type Batch, type ParamGroup, type PhaseName } from "../plugin.js";
import { policyActionErrors } from "../diagnostics.js";
import { BcActing } from "./acting.js";
import type { BcConfig } from "./config.js";
import { BcPolicy } from "./policy.js";

export class BcAgent implements Algorithm {
  readonly name = "bc";
  readonly policy: BcPolicy;
  private readonly opt: Adam;

  constructor(
    readonly cfg: BcConfig,
    readonly dims: ModelDims,
    runRng: Rng,
  ) {
    this.policy = new BcPolicy(cfg.bc, dims.obsDim, dims.actDim, runRng.split("init").split("policy"));
    this.opt = new Adam(this.policy.namedParams(), { lr: cfg.bc.lr, eps: cfg.bc.eps, clip: cfg.bc.clip });
  }

  groups(): { model: ParamGroup; agent: ParamGroup } {
    return {
      model: { params: new Map(), optimisers: {} },
      agent: { params: this.policy.namedParams("policy/"), optimisers: { policy: this.opt } },
    };
  }

  step(phase: PhaseName, batch: Batch): Record<string, number> {
    if (phase === "model") throw new Error("behaviour cloning has no phase 1");
    const b = asTransitions(batch);
    const r = this.opt.minimize(() => {
      const obs = tf.tensor2d(b.obs, [b.B, b.obsDim]);
      const act = tf.tensor2d(b.act, [b.B, b.actDim]);
      return { loss: tf.mean(this.policy.loss(obs, act)) as tf.Scalar };
    });
    return { loss: r.loss, grad_norm: r.gradNorm };
  }

  /** Squared action error of the policy's mode on dataset windows (`policy_action_mse`, and `_start` for episode starts). */
  diagnostics(batches: { all: WindowBatch; start: WindowBatch }): Record<string, number> {
    return policyActionErrors(batches, (obs) => this.policy.distribution(obs).mean);
  }

  actingPolicy(stats: ObsStats | null, opts: { stochastic: boolean }): Policy {
    return new BcActing(this.policy, stats, opts.stochastic, false);
  }

  rngStates(): Record<string, RngState> {
    return {};
  }

  setRngStates(): void {}

  dispose(): void {
    this.policy.dispose();
    this.opt.dispose();
  }
}
