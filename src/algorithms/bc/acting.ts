/**
 * Acting with a behaviour-cloning policy: z-score the observation with the dataset statistics the checkpoint holds,
 * take the mode (or a sample with eval.stochastic, clipped to the action box). `createBcPolicy` is the
 * PolicyFactory evaluation loads in worker threads.
 */
import { initEngine, tf } from "../../engine/tf.js";
import { Rng } from "../../engine/rng.js";
import { UserError } from "../../errors.js";
import type { ObsStats } from "../../data/store.js";
import type { Policy, PolicyContext, PolicySpec } from "../../eval/policy.js";
import { networkInput } from "../acting-util.js";
import { checkPolicyContext, loadCheckpointWith, resolveCheckpointDir } from "../checkpoint.js";
import { validateBcConfig } from "./config.js";
import { BcPolicy } from "./policy.js";

export class BcActing implements Policy {
  private rng = new Rng(0);

  /** `owns`: dispose the network with the policy (true when it loaded it itself). */
  constructor(
    private readonly net: BcPolicy,
    private readonly stats: ObsStats | null,
    private readonly stochastic: boolean,
    private readonly owns: boolean,
  ) {}

  reset(seed: number): void {
    this.rng = new Rng(seed);
  }

  act(obs: Float32Array | Uint8Array): Float32Array {
    const d = this.net.obsDim;
    const x = networkInput(obs, this.stats, d);
    const seed = this.stochastic ? this.rng.tfSeed() : undefined;
    const a = tf.tidy(() => {
      const { mean, std } = this.net.distribution(tf.tensor2d(x, [1, d]));
      const sample = std !== null && seed !== undefined ? tf.add(mean, tf.mul(std, tf.randomNormal(mean.shape, 0, 1, "float32", seed))) : mean;
      return tf.clipByValue(sample, -1, 1);
    });
    const out = a.dataSync() as Float32Array;
    a.dispose();
    return out;
  }

  dispose(): void {
    if (this.owns) this.net.dispose();
  }
}

export interface BcPolicyArgs {
  /** A checkpoint directory or a run directory (its latest checkpoint is used). */
  checkpoint: string;
  /** Overrides the checkpoint config's eval.stochastic. */
  stochastic?: boolean;
}

/** PolicyFactory: loads the BC network of a checkpoint. */
export async function createBcPolicy(args: unknown, ctx?: PolicyContext): Promise<Policy> {
  const a = args as Partial<BcPolicyArgs> | null;
  if (!a || typeof a.checkpoint !== "string") throw new UserError("createBcPolicy: args.checkpoint (a directory) is required");
  await initEngine();
  const dir = resolveCheckpointDir(a.checkpoint);
  const ckpt = loadCheckpointWith(dir, validateBcConfig);
  checkPolicyContext(dir, ckpt.dims, ctx);
  const net = new BcPolicy(ckpt.config.bc, ckpt.dims.obsDim, ckpt.dims.actDim, new Rng(0));
  ckpt.restoreParams("agent", net.namedParams("policy/"));
  return new BcActing(net, ckpt.config.data.obsNorm ? ckpt.obsStats : null, a.stochastic ?? ckpt.config.eval.stochastic, true);
}

export function bcPolicySpec(checkpoint: string, opts: { stochastic?: boolean } = {}): PolicySpec {
  const args: BcPolicyArgs = { checkpoint, stochastic: opts.stochastic };
  return { module: new URL("./acting.js", import.meta.url).href, factory: "createBcPolicy", args };
}
