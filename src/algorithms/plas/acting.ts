/**
 * Acting with a PLAS policy (docs/design/method.md §17.1): the observation z-scored with the checkpoint's statistics
 * when the run normalised them, then the decoded latent action D(s, z_max · tanh(π(s))) (perturbed with PLAS+P), in
 * the action box. Deterministic: PLAS has no stochastic mode. `createPlasPolicy` is the PolicyFactory evaluation
 * loads in worker threads.
 */
import { initEngine, tf } from "../../engine/tf.js";
import { Rng } from "../../engine/rng.js";
import { UserError } from "../../errors.js";
import type { ObsStats } from "../../data/store.js";
import type { Policy, PolicyContext, PolicySpec } from "../../eval/policy.js";
import { networkInput } from "../acting-util.js";
import { checkPolicyContext, loadCheckpointWith, resolveCheckpointDir } from "../checkpoint.js";
import { validatePlasConfig } from "./config.js";
import { LatentActor, PlasVae } from "./networks.js";

export class PlasActing implements Policy {
  /** `owns`: dispose the networks with the policy (true when it loaded them itself). */
  constructor(
    private readonly vae: PlasVae,
    private readonly actor: LatentActor,
    private readonly stats: ObsStats | null,
    private readonly owns: boolean,
  ) {}

  reset(): void {}

  act(obs: Float32Array | Uint8Array): Float32Array {
    const d = this.actor.obsDim;
    const x = networkInput(obs, this.stats, d);
    const a = tf.tidy(() => this.actor.action(tf.tensor2d(x, [1, d]), this.vae));
    const out = a.dataSync() as Float32Array;
    a.dispose();
    return out;
  }

  dispose(): void {
    if (!this.owns) return;
    this.vae.dispose();
    this.actor.dispose();
  }
}

export interface PlasPolicyArgs {
  /** A checkpoint directory or a run directory (its latest checkpoint is used). */
  checkpoint: string;
}

/** PolicyFactory: loads the VAE (model group) and the latent actor (agent group) of a checkpoint. */
export async function createPlasPolicy(args: unknown, ctx?: PolicyContext): Promise<Policy> {
  const a = args as Partial<PlasPolicyArgs> | null;
  if (!a || typeof a.checkpoint !== "string") throw new UserError("createPlasPolicy: args.checkpoint (a directory) is required");
  await initEngine();
  const dir = resolveCheckpointDir(a.checkpoint);
  const ckpt = loadCheckpointWith(dir, validatePlasConfig);
  checkPolicyContext(dir, ckpt.dims, ctx);
  const { obsDim, actDim } = ckpt.dims;
  const vae = new PlasVae(ckpt.config.vae, obsDim, actDim, new Rng(0));
  const actor = new LatentActor(ckpt.config.agent, obsDim, actDim, vae.latentDim, new Rng(0));
  ckpt.restoreParams("model", vae.namedParams("vae/"));
  ckpt.restoreParams("agent", actor.namedParams("actor/"));
  return new PlasActing(vae, actor, ckpt.config.data.obsNorm ? ckpt.obsStats : null, true);
}

export function plasPolicySpec(checkpoint: string, opts: { stochastic?: boolean } = {}): PolicySpec {
  if (opts.stochastic) throw new UserError("plas: the policy is deterministic; --stochastic does not apply");
  const args: PlasPolicyArgs = { checkpoint };
  return { module: new URL("./acting.js", import.meta.url).href, factory: "createPlasPolicy", args };
}
