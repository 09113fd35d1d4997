/**
 * Acting in an environment (docs/design/method.md §8): the posterior is filtered online with the previous executed action.
 *
 * Per step: h ← GRU(h, [z, a_prev]); z ← posterior mean (or sample) given the normalised observation; policy mode
 * (or a sample with eval.stochastic); ũ = μ + εσ ⊙ x; a = decoder mean, clipped to [−1, 1]; a_prev ← a.
 * Observations are z-scored with the dataset statistics stored in the checkpoint.
 *
 * `createClapPolicy` is the PolicyFactory that evaluation (possibly in worker threads) uses to load a policy from a
 * checkpoint directory.
 */
import { initEngine, tf } from "../../engine/tf.js";
import { Rng } from "../../engine/rng.js";
import type { Module } from "../../engine/nn.js";
import { UserError } from "../../errors.js";
import type { ObsStats } from "../../data/store.js";
import type { Policy, PolicyContext, PolicySpec } from "../../eval/policy.js";
import type { LatentState } from "../../models/latent-action-model.js";
import { buildNetworks, policyAction, priorAction, type ClapNetworks } from "./networks.js";
import { checkPolicyContext, loadCheckpointWith, resolveCheckpointDir } from "../checkpoint.js";
import { validateClapConfig } from "./config.js";

export interface ActingOptions {
  stochastic: boolean;
  posterior: "mean" | "sample";
  /** Act with the prior policy (ũ = μ, decoded mean) instead of the trained policy: the jump-start's reference. */
  prior?: boolean;
}

export class ActingPolicy implements Policy {
  private state: LatentState | null = null;
  private prevAction: tf.Tensor2D | null = null;
  private rng = new Rng(0);
  private readonly obsDim: number;
  private readonly actDim: number;

  /** `owns`: dispose the networks with the policy (true when it loaded them itself). */
  constructor(
    private readonly nets: ClapNetworks,
    private readonly stats: ObsStats | null,
    private readonly opts: ActingOptions,
    private readonly owns: boolean,
  ) {
    this.obsDim = nets.model.dims.obsDim;
    this.actDim = nets.model.dims.actDim;
    if (stats && stats.mean.length !== this.obsDim) {
      throw new Error(`observation statistics have ${stats.mean.length} dimensions, the model expects ${this.obsDim}`);
    }
  }

  reset(seed: number): void {
    this.disposeState();
    this.rng = new Rng(seed);
    this.state = tf.tidy(() => {
      const s = this.nets.model.initialState(1);
      return { h: tf.keep(s.h), z: tf.keep(s.z) };
    });
    this.prevAction = tf.zeros([1, this.actDim]);
  }

  act(obs: Float32Array | Uint8Array): Float32Array {
    if (!this.state || !this.prevAction) throw new Error("policy.act called before reset");
    if (obs.length !== this.obsDim) throw new UserError(`policy: observation has ${obs.length} values, the model expects ${this.obsDim}`);
    const x = new Float32Array(this.obsDim);
    for (let i = 0; i < this.obsDim; i++) x[i] = this.stats ? (obs[i] - this.stats.mean[i]) / this.stats.std[i] : obs[i];
    const prev = this.state;
    const prevAction = this.prevAction;
    const postSeed = this.opts.posterior === "sample" ? this.rng.tfSeed() : undefined;
    const policySeed = this.opts.stochastic ? this.rng.tfSeed() : undefined;
    const { state, action } = tf.tidy(() => {
      const normal = (d: number, seed: number) => tf.randomNormal([1, d], 0, 1, "float32", seed);
      const postNoise = postSeed === undefined ? undefined : normal(this.nets.model.cfg.stoch, postSeed);
      const s = this.nets.model.filterStep(prev, prevAction, tf.tensor2d(x, [1, this.obsDim]), postNoise);
      const feat = this.nets.model.features(s);
      const a = this.opts.prior
        ? requirePrior(priorAction(this.nets, feat))
        : policyAction(this.nets, feat, policySeed === undefined ? undefined : { policy: normal(this.nets.policy.outDim, policySeed) }).action;
      return { state: { h: tf.keep(s.h), z: tf.keep(s.z) }, action: tf.keep(tf.clipByValue(a, -1, 1) as tf.Tensor2D) };
    });
    tf.dispose([prev.h, prev.z, prevAction]);
    this.state = state;
    this.prevAction = action;
    return action.dataSync() as Float32Array;
  }

  private disposeState(): void {
    if (this.state) tf.dispose([this.state.h, this.state.z]);
    if (this.prevAction) this.prevAction.dispose();
    this.state = null;
    this.prevAction = null;
  }

  dispose(): void {
    this.disposeState();
    if (this.owns) {
      const mods: Module[] = [this.nets.model, this.nets.policy, this.nets.value];
      for (const m of mods) m.dispose();
    }
  }
}

function requirePrior(a: tf.Tensor2D | null): tf.Tensor2D {
  if (!a) throw new UserError("the prior policy needs a model with latent actions (model.latentAction = true)");
  return a;
}

export interface ClapPolicyArgs {
  /** A checkpoint directory or a run directory (its latest checkpoint is used). */
  checkpoint: string;
  /** Overrides the checkpoint config's eval.stochastic. */
  stochastic?: boolean;
  /** Act with the prior policy ũ = μ (ActingOptions.prior). */
  prior?: boolean;
}

/** PolicyFactory: loads the model and policy of a C-LAP checkpoint (docs/design/method.md §8, eval settings from its config). */
export async function createClapPolicy(args: unknown, ctx?: PolicyContext): Promise<Policy> {
  const a = args as Partial<ClapPolicyArgs> | null;
  if (!a || typeof a.checkpoint !== "string") throw new UserError("createClapPolicy: args.checkpoint (a directory) is required");
  await initEngine();
  const dir = resolveCheckpointDir(a.checkpoint);
  const ckpt = loadCheckpointWith(dir, validateClapConfig);
  const { config, dims } = ckpt;
  checkPolicyContext(dir, dims, ctx);
  const nets = buildNetworks(config, dims, new Rng(0));
  ckpt.restoreParams("model", nets.model.namedParams());
  ckpt.restoreParams("agent", nets.policy.namedParams("policy/"));
  ckpt.restoreParams("agent", nets.value.namedParams("value/"));
  return new ActingPolicy(nets, config.data.obsNorm ? ckpt.obsStats : null, { stochastic: a.stochastic ?? config.eval.stochastic, posterior: config.eval.posterior, prior: a.prior === true }, true);
}

/** The PolicySpec evaluation uses to build a C-LAP policy from a checkpoint inside worker threads. */
export function clapPolicySpec(checkpoint: string, opts: { stochastic?: boolean; prior?: boolean } = {}): PolicySpec {
  const args: ClapPolicyArgs = { checkpoint, stochastic: opts.stochastic, prior: opts.prior };
  return { module: new URL("./acting.js", import.meta.url).href, factory: "createClapPolicy", args };
}
