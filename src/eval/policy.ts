/**
 * What evaluation runs: a Policy acts on raw environment observations and returns an action in [-1, 1]^d.
 *
 * Evaluation may run in worker threads, so policies are described by a PolicySpec — a module URL, the name of an
 * exported factory and JSON arguments — and each worker builds its own instance with `loadPolicy`. The factory
 * receives a per-episode seed through `reset` so stochastic policies give the same episode whatever the worker count.
 */
export interface Policy {
  /** Starts an episode; `seed` drives any policy randomness for this episode. */
  reset(seed: number): void;
  /** The action for this observation (raw, un-normalised observation as the environment returns it). */
  act(obs: Float32Array | Uint8Array): Float32Array;
  dispose(): void;
}

export interface PolicySpec {
  /** Module URL (file:// URL or package specifier) exporting the factory. */
  module: string;
  /** Name of the exported factory: `(args, ctx) => Policy | Promise<Policy>`. */
  factory: string;
  /** JSON-serialisable arguments for the factory. */
  args: unknown;
}

export interface PolicyContext {
  obsShape: number[];
  actDim: number;
}

export type PolicyFactory = (args: unknown, ctx: PolicyContext) => Policy | Promise<Policy>;

export async function loadPolicy(spec: PolicySpec, ctx: PolicyContext): Promise<Policy> {
  const mod = (await import(spec.module)) as Record<string, unknown>;
  const factory = mod[spec.factory];
  if (typeof factory !== "function") {
    throw new Error(`policy factory '${spec.factory}' is not exported by ${spec.module}`);
  }
  return (factory as PolicyFactory)(spec.args, ctx);
}
