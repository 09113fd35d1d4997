/**
 * C-LAP (docs/method.md): the latent action model trained on windows (phase 1), then a constrained latent policy
 * and a value network trained by imagination on the frozen model (phase 2).
 *
 * Agent step: posterior states of sampled windows are the B·T start states (no gradient; padded steps kept
 * and weighted 0 so shapes stay static); an H-step rollout through the prior with the policy's latent actions decoded
 * by the action decoder; n-step or λ targets; the actor step backpropagates the targets through the rollout into the
 * policy (model and value parameters are not stepped); then the value step regresses v on the detached states and
 * targets of the same rollout.
 */
import { tf, splitRows, stopGradient } from "../../engine/tf.js";
import { Adam } from "../../engine/optim.js";
import { Rng, type RngState } from "../../engine/rng.js";
import type { ClapConfig } from "./config.js";
import type { WindowBatch } from "../../data/windows.js";
import type { ObsStats } from "../../data/store.js";
import type { Policy } from "../../eval/policy.js";
import { timeMajor, type LatentState, type ModelDims } from "../../models/latent-action-model.js";
import { buildNetworks, buildValue, policyAction, priorAction, resolved, type ClapNetworks, type ValueNetwork } from "./networks.js";
import { imagine } from "./imagine.js";
import { lambdaReturns, nStepReturns, stepWeights } from "./returns.js";
import { ActingPolicy } from "./acting.js";
import { START_STEPS } from "../diagnostics.js";
import { asWindows, type Algorithm, type Batch, type ParamGroup, type PhaseName } from "../plugin.js";

export class ClapAgent implements Algorithm {
  readonly name = "clap";
  readonly nets: ClapNetworks;
  private readonly slowValue: ValueNetwork | null;
  private readonly modelOpt: Adam;
  private readonly actorOpt: Adam;
  private readonly valueOpt: Adam;
  private modelNoise: Rng;
  private imagination: Rng;

  constructor(
    readonly cfg: ClapConfig,
    readonly dims: ModelDims,
    runRng: Rng,
  ) {
    const init = runRng.split("init");
    this.nets = buildNetworks(cfg, dims, init);
    // The same init stream as the online value network, so the slow copy starts identical to it.
    this.slowValue = cfg.agent.valueTarget === "slow" ? buildValue(cfg, dims, this.nets.model.featDim, init.split("value")) : null;
    const m = cfg.model;
    const a = cfg.agent;
    this.modelOpt = new Adam(this.nets.model.namedParams(), { lr: m.lr, eps: m.eps, clip: m.clip });
    this.actorOpt = new Adam(this.nets.policy.namedParams(), { lr: a.lr, eps: a.eps, clip: a.clip });
    this.valueOpt = new Adam(this.nets.value.namedParams(), { lr: a.lr, eps: a.eps, clip: a.clip });
    this.modelNoise = runRng.split("model-noise");
    this.imagination = runRng.split("imagination");
  }

  groups(): { model: ParamGroup; agent: ParamGroup } {
    const agent = new Map<string, tf.Variable>();
    for (const [k, v] of this.nets.policy.namedParams("policy/")) agent.set(k, v);
    for (const [k, v] of this.nets.value.namedParams("value/")) agent.set(k, v);
    if (this.slowValue) for (const [k, v] of this.slowValue.namedParams("slow_value/")) agent.set(k, v);
    return {
      model: { params: this.nets.model.namedParams(), optimisers: { model: this.modelOpt } },
      agent: { params: agent, optimisers: { actor: this.actorOpt, value: this.valueOpt } },
    };
  }

  step(phase: PhaseName, batch: Batch): Record<string, number> {
    return phase === "model" ? this.modelStep(asWindows(batch)) : this.agentStep(asWindows(batch));
  }

  modelStep(batch: WindowBatch): Record<string, number> {
    const seeds = { posterior: this.modelNoise.tfSeed(), latentAction: this.modelNoise.tfSeed() };
    const r = this.modelOpt.minimize(() => this.nets.model.loss(batch, seeds));
    return { loss: r.loss, ...r.terms, grad_norm: r.gradNorm };
  }

  /** Posterior states of a window batch as N = B·T start rows (no gradient path to any optimised parameter). */
  private startStates(batch: WindowBatch, seed: number | null): { start: LatentState; mask: tf.Tensor1D } {
    return tf.tidy(() => {
      const { B, T } = batch;
      const N = B * T;
      const obs = tf.tensor2d(timeMajor(batch.obs, B, T, this.dims.obsDim), [N, this.dims.obsDim]);
      const prevAct = tf.tensor2d(timeMajor(batch.prevAct, B, T, this.dims.actDim), [N, this.dims.actDim]);
      const { h, z } = this.nets.model.observe(obs, prevAct, B, T, seed);
      return { start: { h, z }, mask: tf.tensor1d(timeMajor(batch.mask, B, T, 1)) };
    });
  }

  /**
   * One agent step. The B·T start states are processed in chunks of `agent.chunk` rows (0: one chunk): every loss is
   * a sum over start states, normalised by the global counts, so the chunks' gradients add up to the full gradient
   * while peak memory is one chunk's rollout tape.
   */
  agentStep(batch: WindowBatch): Record<string, number> {
    const a = this.cfg.agent;
    if (this.valueOpt.steps < a.valueWarmup) return this.valueWarmupStep(batch);
    const H = a.horizon;
    const gamma = resolved(a.discount, "agent.discount");
    const { start, mask } = this.startStates(batch, this.imagination.tfSeed());
    const N = mask.shape[0];
    const size = a.chunk > 0 ? Math.min(a.chunk, N) : N;
    const chunks = Array.from({ length: Math.ceil(N / size) }, (_, c) => ({ begin: c * size, rows: Math.min(size, N - c * size) }));
    // Noise for all N rows, drawn once per step and sliced per chunk: the chunk size does not change the draws.
    const draw = (d: number) => tf.randomNormal([N, d], 0, 1, "float32", this.imagination.tfSeed());
    const noise = Array.from({ length: H }, () => ({
      policy: draw(this.nets.policy.outDim),
      prior: draw(this.cfg.model.stoch),
      decoder: a.imaginedAction === "sample" && this.nets.model.latentAction ? draw(this.dims.actDim) : undefined,
    }));
    let valid = 0;
    for (const v of batch.mask) valid += v;
    const denom = N * H;
    const valueInputs: { feats: tf.Tensor2D; targets: tf.Tensor1D; weights: tf.Tensor1D }[] = [];

    const actor = this.actorOpt.minimizeSum(chunks.length, (c) => {
      const { model } = this.nets;
      const { begin, rows } = chunks[c];
      const m = tf.slice(mask, [begin], [rows]);
      const rowsOf = (t: tf.Tensor) => tf.slice(t, [begin, 0], [rows, -1]) as tf.Tensor2D;
      // Features [(H+1)·rows, ·] of the start states and the imagined ones, and log π [H, rows] (imagine.ts).
      const { feats, logProbs } = imagine(
        this.nets,
        { h: rowsOf(start.h), z: rowsOf(start.z) },
        noise.map((n) => ({ policy: rowsOf(n.policy), prior: rowsOf(n.prior), decoder: n.decoder && rowsOf(n.decoder) })),
      );
      const next = tf.slice(feats, [rows, 0], [H * rows, -1]);
      const rewards = splitRows(model.rewardMean(next), H);
      const conts = splitRows(model.continuation(next), H);
      const valueNet = this.slowValue ?? this.nets.value;
      const values = tf.split(tf.reshape(valueNet.apply(feats), [-1]), H + 1);
      const returns =
        a.returnTarget === "nstep" ? nStepReturns(rewards, conts, values, gamma, a.nstep ?? H) : lambdaReturns(rewards, conts, values, gamma, a.lambda);
      const weights = tf.mul(stopGradient(tf.stack(stepWeights(conts, gamma, a.weighting))), m);
      const R = tf.stack(returns);
      const objective = tf.div(tf.sum(tf.mul(weights, R)), denom);
      const logProbTerm = tf.div(tf.sum(tf.mul(weights, logProbs)), denom);
      const loss = tf.add(tf.neg(objective), tf.mul(a.eta, logProbTerm)) as tf.Scalar;
      valueInputs.push({
        feats: tf.keep(stopGradient(tf.slice(feats, [0, 0], [H * rows, -1]))),
        targets: tf.keep(stopGradient(tf.reshape(R, [-1]))),
        weights: tf.keep(tf.reshape(weights, [-1])),
      });
      const validMean = (x: tf.Tensor, per: number) => tf.div(tf.sum(tf.mul(x, m)), valid * per) as tf.Scalar;
      return {
        loss,
        terms: {
          return: validMean(returns[0], 1),
          value: validMean(values[0], 1),
          logp: validMean(logProbs, H),
          imag_reward: validMean(tf.stack(rewards), H),
          imag_cont: validMean(tf.stack(conts), H),
        },
      };
    });

    const value = this.valueOpt.minimizeSum(chunks.length, (c) => {
      const vin = valueInputs[c];
      const v = tf.reshape(this.nets.value.apply(vin.feats), [-1]);
      const sq = tf.mul(0.5, tf.square(tf.sub(v, vin.targets)));
      return { loss: tf.div(tf.sum(tf.mul(vin.weights, sq)), denom) as tf.Scalar };
    });
    for (const vin of valueInputs) tf.dispose([vin.feats, vin.targets, vin.weights]);
    for (const n of noise) tf.dispose([n.policy, n.prior, ...(n.decoder ? [n.decoder] : [])]);
    tf.dispose([start.h, start.z, mask]);

    if (this.slowValue && this.valueOpt.steps % a.slowEvery === 0) this.copyValueToSlow();
    return {
      actor_loss: actor.loss,
      value_loss: value.loss,
      ...actor.terms,
      actor_grad_norm: actor.gradNorm,
      value_grad_norm: value.gradNorm,
    };
  }

  /**
   * A value warm-up step (agent.valueWarmup, docs/deviations.md): v regresses on the dataset's discounted
   * return-to-go at the batch's posterior states, the behaviour policy's value, while the actor stays at its
   * initialisation. Without it the value starts at 0 against returns of hundreds, and the first actor steps
   * optimise a few imagined rewards.
   */
  private valueWarmupStep(batch: WindowBatch): Record<string, number> {
    if (!batch.rtg) throw new Error("agent.valueWarmup needs window batches with returns-to-go (WindowOptions.returnsToGo)");
    const { B, T } = batch;
    const { start, mask } = this.startStates(batch, this.imagination.tfSeed());
    const feats = tf.tidy(() => this.nets.model.features(start));
    const target = tf.tensor1d(timeMajor(batch.rtg, B, T, 1));
    // Entries with an action: a timeout-ended episode's final entry has no return recorded after it.
    const w = tf.mul(mask, tf.tensor1d(timeMajor(batch.actMask, B, T, 1)));
    const count = Math.max(1, tf.tidy(() => tf.sum(w).dataSync()[0]));
    const weightedMean = (x: tf.Tensor) => tf.div(tf.sum(tf.mul(x, w)), count) as tf.Scalar;
    const r = this.valueOpt.minimize(() => {
      const v = tf.reshape(this.nets.value.apply(feats), [-1]);
      return { loss: weightedMean(tf.mul(0.5, tf.square(tf.sub(v, target)))), terms: { value: weightedMean(v), value_target: weightedMean(target) } };
    });
    tf.dispose([start.h, start.z, mask, feats, target, w]);
    if (this.slowValue && this.valueOpt.steps % this.cfg.agent.slowEvery === 0) this.copyValueToSlow();
    return { value_loss: r.loss, ...r.terms, value_grad_norm: r.gradNorm };
  }

  private copyValueToSlow(): void {
    if (!this.slowValue) return;
    const src = [...this.nets.value.namedParams().values()];
    [...this.slowValue.namedParams().values()].forEach((v, i) => v.assign(src[i]));
  }

  /**
   * On fixed dataset batches, at posterior-mean states: the value estimate (docs/design/method.md §13), and the squared error between
   * the dataset action and the decoded action of the policy (its mode) and of the prior policy (ũ = μ), and between
   * the two (`policy_prior_shift`: how far training has moved the policy), over all entries and over the first
   * `START_STEPS` entries of episodes (`_start`), where the jump-start fails first.
   */
  diagnostics(batches: { all: WindowBatch; start: WindowBatch }): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [which, batch] of Object.entries(batches)) {
      const { start, mask } = this.startStates(batch, null);
      const stats = tf.tidy(() => {
        const { B, T } = batch;
        const feat = this.nets.model.features(start);
        const value = tf.reshape(this.nets.value.apply(feat), [-1]);
        const act = tf.tensor2d(timeMajor(batch.act, B, T, this.dims.actDim), [B * T, this.dims.actDim]);
        // Time-major rows: row t·B + b is entry t of window b.
        const early = Float32Array.from({ length: B * T }, (_, i) => (which === "start" && Math.floor(i / B) >= START_STEPS ? 0 : 1));
        const w = tf.mul(tf.mul(mask, tf.tensor1d(timeMajor(batch.actMask, B, T, 1))), tf.tensor1d(early));
        const meanSq = (a: tf.Tensor2D, b: tf.Tensor2D) => tf.div(tf.sum(tf.mul(tf.mean(tf.square(tf.sub(a, b)), 1), w)), tf.sum(w));
        const prior = priorAction(this.nets, feat);
        const policy = policyAction(this.nets, feat).action;
        // Against the data, and how far the policy has moved from the prior policy on dataset states.
        return tf.stack([tf.div(tf.sum(tf.mul(value, mask)), tf.sum(mask)), meanSq(policy, act), ...(prior ? [meanSq(prior, act), meanSq(policy, prior)] : [])]);
      });
      const [valueEstimate, policyMse, priorMse, priorShift] = stats.dataSync();
      tf.dispose([stats, start.h, start.z, mask]);
      const suffix = which === "start" ? "_start" : "";
      if (which === "all") out.value_estimate = valueEstimate;
      out[`policy_action_mse${suffix}`] = policyMse;
      if (priorMse !== undefined) {
        out[`prior_action_mse${suffix}`] = priorMse;
        out[`policy_prior_shift${suffix}`] = priorShift;
      }
    }
    return out;
  }

  actingPolicy(stats: ObsStats | null, opts: { stochastic: boolean; posterior: "mean" | "sample" }): Policy {
    return new ActingPolicy(this.nets, stats, opts, false);
  }

  rngStates(): Record<string, RngState> {
    return { "model-noise": this.modelNoise.getState(), imagination: this.imagination.getState() };
  }

  setRngStates(states: Record<string, RngState>): void {
    for (const k of ["model-noise", "imagination"]) if (!states[k]) throw new Error(`checkpoint has no RNG state '${k}'`);
    this.modelNoise = Rng.fromState(states["model-noise"]);
    this.imagination = Rng.fromState(states.imagination);
  }

  dispose(): void {
    this.nets.model.dispose();
    this.nets.policy.dispose();
    this.nets.value.dispose();
    this.slowValue?.dispose();
    this.modelOpt.dispose();
    this.actorOpt.dispose();
    this.valueOpt.dispose();
  }
}
