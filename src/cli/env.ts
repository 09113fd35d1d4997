/**
 * `clap-rl env list [--json]` and `clap-rl env run <id> ...`: inspect the registered environments and run a
 * built-in policy in one, printing returns, lengths and normalised scores; `--pixels out.png` also saves frames
 * of episode 0 from the ray-cast renderer.
 */
import { InvalidArgumentError, Option, type Command } from "commander";
import { envInfo, listEnvs, makeEnv, type EnvInfo } from "../envs/registry.js";
import { MujocoEnv, type MassModel } from "../envs/mujoco-env.js";
import { encodePng, frameStrip, RayCastRenderer } from "../envs/render.js";
import { episodeSeeds, evaluate, type EvaluationResult } from "../eval/evaluate.js";
import { loadPolicy, type PolicySpec } from "../eval/policy.js";
import { BUILTIN_POLICIES, builtinPolicy } from "../eval/policies.js";
import { scoreReference } from "../eval/scores.js";
import { UserError } from "../errors.js";
import { writeFileAtomic } from "../util/atomic.js";

function intFlag(flag: string, min: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\s*\d+\s*$/.test(v) || !Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${flag} must be an integer ≥ ${min}`);
    return n;
  };
}

function formatTable(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (c === r.length - 1 ? 0 : r[c].length))));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join("  ")).join("\n");
}

function listText(envs: EnvInfo[]): string {
  const rows = [["id", "obs", "act", "steps", "semantics", "description"]];
  for (const e of envs) rows.push([e.id, `[${e.obsShape.join(",")}]`, String(e.actionDim), String(e.maxEpisodeSteps), e.semantics, e.description]);
  return formatTable(rows);
}

interface RunFlags {
  policy: string;
  episodes: number;
  seed: number;
  workers?: number;
  massModel: MassModel;
  pixels?: string;
  frames: number;
  frameEvery: number;
  json?: boolean;
}

/**
 * Plays episode 0 (same seeds as the evaluation) with the state observation the policy expects and renders the
 * env's camera every `every` steps, from the reset on, until `count` frames or the episode's end.
 */
async function recordFrames(spec: PolicySpec, id: string, f: RunFlags): Promise<{ frames: Uint8Array[]; size: number }> {
  const env = await makeEnv(id, { massModel: f.massModel });
  try {
    if (!(env instanceof MujocoEnv)) throw new UserError(`--pixels: ${id} is not a MuJoCo environment and cannot be rendered`);
    const renderer = new RayCastRenderer(env.sim, { camera: env.camera.name });
    const policy = await loadPolicy(spec, { obsShape: [...env.observationSpace.shape], actDim: env.actionSpace.dim });
    try {
      const seeds = episodeSeeds(f.seed, 0);
      let obs: Float32Array | Uint8Array = env.reset({ seed: seeds.env });
      policy.reset(seeds.policy);
      const frames = [renderer.render()];
      for (let t = 1; frames.length < f.frames; t++) {
        const step = env.step(policy.act(obs));
        obs = step.obs;
        if (t % f.frameEvery === 0) frames.push(renderer.render());
        if (step.terminated || step.truncated) break;
      }
      return { frames, size: renderer.width };
    } finally {
      policy.dispose();
    }
  } finally {
    env.close();
  }
}

function runText(r: EvaluationResult, policy: string): string {
  const lines = [`${r.envId}: ${policy} policy, ${r.episodes.length} episodes, seed ${r.seed}`];
  for (const e of r.episodes) {
    const extra = [e.normalizedScore === null ? "" : `, score ${e.normalizedScore.toFixed(2)}`, e.success === undefined ? "" : `, success ${e.success}`];
    lines.push(`  episode ${e.index}: return ${e.return.toFixed(3)}, length ${e.length}${extra.join("")}`);
  }
  lines.push(`return ${r.returnMean.toFixed(3)} ± ${r.returnStd.toFixed(3)} (mean ± std), mean length ${r.lengthMean.toFixed(1)}`);
  if (r.successRate !== null) lines.push(`success rate ${(100 * r.successRate).toFixed(1)} %`);
  if (r.normalizedMean !== null) {
    lines.push(
      `normalised score ${r.normalizedMean.toFixed(2)} ± ${r.normalizedStd!.toFixed(2)} (0–100, ${scoreReference(r.envId)!.kind}; ` +
        "not comparable with published scores: regenerated datasets, different engine)",
    );
  }
  return lines.join("\n");
}

export function registerEnvCommands(program: Command): void {
  const env = program.command("env").description("List the registered environments and run policies in them");

  env
    .command("list")
    .description("Registered environments: id, observation shape, action size, step limit, semantics, description")
    .option("--json", "print the list as JSON")
    .action((f: { json?: boolean }) => {
      const envs = listEnvs();
      process.stdout.write((f.json ? JSON.stringify(envs, null, 2) : listText(envs)) + "\n");
    });

  env
    .command("run")
    .description("Run a built-in policy for some episodes; print returns, lengths and normalised scores")
    .argument("<id>", "environment id (see `clap-rl env list`)")
    .addOption(new Option("--policy <name>", "built-in policy").choices([...BUILTIN_POLICIES]).default("random"))
    .option("--episodes <n>", "number of episodes", intFlag("--episodes", 1), 3)
    .option("--seed <s>", "base seed; episode i uses seeds derived from (seed, i)", intFlag("--seed", 0), 0)
    .option("--workers <n>", "worker threads (0 = this thread; default: one per CPU, at most one per episode)", intFlag("--workers", 0))
    .addOption(new Option("--mass-model <model>", "capsule mass model").choices(["legacy", "exact"]).default("legacy"))
    .option("--pixels <out.png>", "also save frames of episode 0 from the env's camera as a PNG strip")
    .option("--frames <n>", "with --pixels: how many frames (left to right)", intFlag("--frames", 1), 1)
    .option("--frame-every <k>", "with --pixels: agent steps between frames", intFlag("--frame-every", 1), 10)
    .option("--json", "print the results as JSON")
    .action(async (id: string, f: RunFlags) => {
      envInfo(id);
      if (f.seed > 0xffffffff) throw new UserError(`--seed must be at most ${0xffffffff}, got ${f.seed}`);
      if (f.pixels !== undefined && !f.pixels.toLowerCase().endsWith(".png")) throw new UserError(`--pixels: the output file must end in .png, got "${f.pixels}"`);
      const spec = builtinPolicy(f.policy);
      const result = await evaluate(spec, id, {
        episodes: f.episodes,
        seed: f.seed,
        workers: f.workers,
        envOptions: { massModel: f.massModel },
      });
      let pixels: { path: string; frames: number; width: number; height: number } | null = null;
      if (f.pixels !== undefined) {
        const { frames, size } = await recordFrames(spec, id, f);
        const strip = frameStrip(frames, size, size);
        writeFileAtomic(f.pixels, encodePng(strip.data, strip.width, strip.height));
        pixels = { path: f.pixels, frames: frames.length, width: strip.width, height: strip.height };
      }
      if (f.json) {
        process.stdout.write(JSON.stringify({ policy: f.policy, massModel: f.massModel, ...result, pixels }, null, 2) + "\n");
        return;
      }
      process.stdout.write(runText(result, f.policy) + "\n");
      if (pixels !== null) {
        process.stdout.write(`pixels: wrote ${pixels.path} (${pixels.frames} frame(s) of episode 0, ${pixels.width}×${pixels.height}, ray-cast renderer)\n`);
      }
    });
}
