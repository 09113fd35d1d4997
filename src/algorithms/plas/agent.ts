/**
 * PLAS as a training instance (docs/design/method.md §17.1): phase 1 fits the conditional VAE to the dataset's
 * (s, a) pairs; phase 2 trains twin critics and a deterministic latent actor on single transitions, with the VAE
 * frozen, in the reference's order: one critic step, one actor step on the updated critics, then Polyak averaging of
 * the target actor and critics.
 *
 * Diagnostics: the value estimate of §13 (Q1 at the policy's action, averaged over dataset states; the policy is
 * deterministic, so one action stands for the "actions sampled from the policy") and the action errors every
 * algorithm reports.
 */
import { tf } from "../../engine/tf.js";
import { Adam } from "../../engine/optim.js";
import { Rng, type RngState } from "../../engine/rng.js";
import type { WindowBatch } from "../../data/windows.js";
import type { TransitionBatch } from "../../data/transitions.js";
import type { ObsStats } from "../../data/store.js";
import type { Policy } from "../../eval/policy.js";
import type { ModelDims } from "../../models/latent-action-model.js";
import { asTransitions, type Algorithm, type Batch, type ParamGroup, type PhaseName } from "../plugin.js";
import { policyActionErrors } from "../diagnostics.js";
import { PlasActing } from "./acting.js";
import type { PlasConfig } from "./config.js";
import { LatentActor, PlasVae, softClippedTarget, TwinCritic } from "./networks.js";

export class PlasAgent implements Algorithm {
  readonly name = "plas";
  readonly vae: PlasVae;
  readonly actor: LatentActor;
  readonly critic: TwinCritic;
  private readonly targetActor: LatentActor;
  private readonly targetCritic: TwinCritic;
  private readonly vaeOpt: Adam;
  private readonly actorOpt: Adam;
  private readonly criticOpt: Adam;
  private vaeNoise: Rng;

  constructor(
    readonly cfg: PlasConfig,
    readonly dims: ModelDims,
    runRng: Rng,
  ) {
    const { obsDim, actDim } = dims;
    const { vae: v, agent: a } = cfg;
    const init = runRng.split("init");
    this.vae = new PlasVae(v, obsDim, actDim, init.split("vae"));
    this.actor = new LatentActor(a, obsDim, actDim, this.vae.latentDim, init.split("actor"));
    this.critic = new TwinCritic(a, obsDim, actDim, init.split("critic"));
    // The same init streams: the targets start as copies of the online networks (the reference's deepcopy).
    this.targetActor = new LatentActor(a, obsDim, actDim, this.vae.latentDim, init.split("actor"));
    this.targetCritic = new TwinCritic(a, obsDim, actDim, init.split("critic"));
    this.vaeOpt = new Adam(this.vae.namedParams(), { lr: v.lr, eps: v.eps });
    this.actorOpt = new Adam(this.actor.namedParams(), { lr: a.actorLr, eps: a.eps });
    this.criticOpt = new Adam(this.critic.namedParams(), { lr: a.criticLr, eps: a.eps });
    this.vaeNoise = runRng.split("vae-noise");
  }

  groups(): { model: ParamGroup; agent: ParamGroup } {
    const agent = new Map<string, tf.Variable>();
    for (const [prefix, m] of [
      ["actor/", this.actor],
      ["critic/", this.critic],
      ["target_actor/", this.targetActor],
      ["target_critic/", this.targetCritic],
    ] as const) {
      for (const [k, p] of m.namedParams(prefix)) agent.set(k, p);
    }
    return {
      model: { params: this.vae.namedParams("vae/"), optimisers: { vae: this.vaeOpt } },
      agent: { params: agent, optimisers: { actor: this.actorOpt, critic: this.criticOpt } },
    };
  }

  step(phase: PhaseName, batch: Batch): Record<string, number> {
    const b = asTransitions(batch);
    if (phase === "model") return this.vaeStep(b);
    const critic = this.criticStep(b);
    const actor = this.actorStep(b);
    this.updateTargets();
    return { ...critic, ...actor };
  }

  private vaeStep(b: TransitionBatch): Record<string, number> {
    const seed = this.vaeNoise.tfSeed();
    const r = this.vaeOpt.minimize(() => {
      const noise = tf.randomNormal([b.B, this.vae.latentDim], 0, 1, "float32", seed) as tf.Tensor2D;
      return this.vae.loss(tf.tensor2d(b.obs, [b.B, b.obsDim]), tf.tensor2d(b.act, [b.B, b.actDim]), noise);
    });
    return { vae_loss: r.loss, recon: r.terms.recon, kl: r.terms.kl, vae_grad_norm: r.gradNorm };
  }

  /** One step of both critics towards the soft clipped double-Q target of the target actor and critics. */
  criticStep(b: TransitionBatch): Record<string, number> {
    const { discount, lambda } = this.cfg.agent;
    const obs = tf.tensor2d(b.obs, [b.B, b.obsDim]);
    const act = tf.tensor2d(b.act, [b.B, b.actDim]);
    // Built outside the optimiser's tape: a constant to the critic step, as the reference's torch.no_grad block.
    const target = tf.tidy(() => {
      const next = tf.tensor2d(b.nextObs, [b.B, b.obsDim]);
      const [q1, q2] = this.targetCritic.both(next, this.targetActor.action(next, this.vae));
      return softClippedTarget(tf.tensor1d(b.rew), tf.tensor1d(b.cont), q1, q2, discount, lambda);
    });
    const r = this.criticOpt.minimize(() => this.critic.loss(obs, act, target));
    tf.dispose([obs, act, target]);
    return { critic_loss: r.loss, q_mean: r.terms.q_mean, critic_grad_norm: r.gradNorm };
  }

  /** One step of the actor (only its parameters move) up Q1 at its decoded action. */
  actorStep(b: TransitionBatch): Record<string, number> {
    const obs = tf.tensor2d(b.obs, [b.B, b.obsDim]);
    const r = this.actorOpt.minimize(() => ({ loss: tf.neg(tf.mean(this.critic.q1(obs, this.actor.action(obs, this.vae)))) as tf.Scalar }));
    obs.dispose();
    return { actor_loss: r.loss, actor_grad_norm: r.gradNorm };
  }

  /** target ← τ · online + (1 − τ) · target, for the actor and the critics. */
  private updateTargets(): void {
    const tau = this.cfg.agent.tau;
    tf.tidy(() => {
      for (const [online, target] of [
        [this.actor, this.targetActor],
        [this.critic, this.targetCritic],
      ] as const) {
        const src = online.params();
        target.params().forEach((p, i) => p.assign(tf.add(tf.mul(tau, src[i]), tf.mul(1 - tau, p))));
      }
    });
  }

  /**
   * `value_estimate`: the mean of Q1(s, policy action) over the random windows' states that have an action (the
   * states the critics are trained on); `policy_action_mse` (and `_start`): the policy's action against the data's.
   */
  diagnostics(batches: { all: WindowBatch; start: WindowBatch }): Record<string, number> {
    const policy = (obs: tf.Tensor2D) => this.actor.action(obs, this.vae);
    const { B, T, obs, mask, actMask } = batches.all;
    const value = tf.tidy(() => {
      const states = tf.tensor2d(obs, [B * T, this.dims.obsDim]);
      const w = tf.mul(tf.tensor1d(mask), tf.tensor1d(actMask));
      return tf.div(tf.sum(tf.mul(this.critic.q1(states, policy(states)), w)), tf.maximum(tf.sum(w), 1));
    });
    const valueEstimate = value.dataSync()[0];
    value.dispose();
    return { value_estimate: valueEstimate, ...policyActionErrors(batches, policy) };
  }

  actingPolicy(stats: ObsStats | null): Policy {
    return new PlasActing(this.vae, this.actor, stats, false);
  }

  rngStates(): Record<string, RngState> {
    return { "vae-noise": this.vaeNoise.getState() };
  }

  setRngStates(states: Record<string, RngState>): void {
    if (!states["vae-noise"]) throw new Error("checkpoint has no RNG state 'vae-noise'");
    this.vaeNoise = Rng.fromState(states["vae-noise"]);
  }

  dispose(): void {
    for (const m of [this.vae, this.actor, this.critic, this.targetActor, this.targetCritic]) m.dispose();
    for (const o of [this.vaeOpt, this.actorOpt, this.criticOpt]) o.dispose();
  }
}
