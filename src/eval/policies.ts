/**
 * Built-in policies for smoke runs, baselines and benchmarks: `random` (uniform in [−1, 1]^d, seeded per
 * episode by `reset(seed)`) and `zero` (always 0). Both are PolicyFactories, so they run in evaluation workers
 * like any trained policy; `builtinPolicy(name)` gives their PolicySpec.
 */
import type { Policy, PolicyContext, PolicyFactory, PolicySpec } from "./policy.js";
import { Rng } from "../engine/rng.js";
import { UserError } from "../errors.js";

function checkNoArgs(name: string, args: unknown): void {
  if (args !== undefined && args !== null && !(typeof args === "object" && Object.keys(args).length === 0)) {
    throw new UserError(`policy "${name}" takes no arguments, got ${JSON.stringify(args)}`);
  }
}

export const random: PolicyFactory = (args: unknown, ctx: PolicyContext): Policy => {
  checkNoArgs("random", args);
  let rng = new Rng(0);
  return {
    reset(seed: number) {
      rng = new Rng(seed);
    },
    act() {
      const a = new Float32Array(ctx.actDim);
      for (let i = 0; i < a.length; i++) a[i] = rng.uniformRange(-1, 1);
      return a;
    },
    dispose() {},
  };
};

export const zero: PolicyFactory = (args: unknown, ctx: PolicyContext): Policy => {
  checkNoArgs("zero", args);
  return {
    reset() {},
    act() {
      return new Float32Array(ctx.actDim);
    },
    dispose() {},
  };
};

export const BUILTIN_POLICIES = ["random", "zero"] as const;
export type BuiltinPolicy = (typeof BUILTIN_POLICIES)[number];

/** The PolicySpec of a built-in policy; unknown names → UserError. */
export function builtinPolicy(name: string): PolicySpec {
  if (!(BUILTIN_POLICIES as readonly string[]).includes(name)) {
    throw new UserError(`unknown policy "${name}"; built-in policies: ${BUILTIN_POLICIES.join(", ")}`);
  }
  return { module: import.meta.url, factory: name, args: {} };
}
