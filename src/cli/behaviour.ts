/**
 * `clap-rl behaviour train <env>`: trains or resumes a SAC behaviour run (docs/design/datasets.md §6.1).
 * `clap-rl behaviour export <run-dir> --variant medium|expert`: picks the run's medium or expert checkpoint,
 * evaluates it over 20 episodes and writes the small policy file and its card under assets/policies/.
 */
import { InvalidArgumentError, Option, type Command } from "commander";
import { join } from "node:path";
import { initEngine } from "../engine/tf.js";
import { trainBehaviour } from "../regen/behaviour.js";
import { exportBehaviourPolicy, type PolicyVariant } from "../regen/policies.js";
import { clapHome } from "../data/registry.js";

function intFlag(flag: string, min: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\s*\d+\s*$/.test(v) || !Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${flag} must be an integer ≥ ${min}`);
    return n;
  };
}

function positiveNumber(flag: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${flag} must be a positive number`);
    return n;
  };
}

export function registerBehaviourCommands(program: Command): void {
  const behaviour = program.command("behaviour").description("Train SAC behaviour policies for the regenerated D4RL-protocol datasets");

  behaviour
    .command("train")
    .description("Train (or --resume) online SAC; checkpoint + evaluation every 10k steps, replay buffer kept in order")
    .argument("<env>", "hopper, halfcheetah or walker2d")
    .option("--steps <n>", "total environment steps to reach", intFlag("--steps", 1), 1_000_000)
    .option("--out <dir>", "run directory (default: $CLAP_RL_HOME/behaviour/<env>)")
    .option("--resume", "continue the run in --out from its latest checkpoint")
    .option("--seed <n>", "training seed (new runs only)", intFlag("--seed", 0))
    .option("--checkpoint-every <n>", "environment steps between checkpoints (new runs only)", intFlag("--checkpoint-every", 1))
    .option("--eval-episodes <n>", "evaluation episodes per checkpoint (new runs only)", intFlag("--eval-episodes", 1))
    .action(async (env: string, f: { steps: number; out?: string; resume?: boolean; seed?: number; checkpointEvery?: number; evalEpisodes?: number }) => {
      await initEngine();
      const outDir = f.out ?? join(clapHome(), "behaviour", env);
      const settings = {
        ...(f.seed !== undefined ? { seed: f.seed } : {}),
        ...(f.checkpointEvery !== undefined ? { checkpointEvery: f.checkpointEvery } : {}),
        ...(f.evalEpisodes !== undefined ? { evalEpisodes: f.evalEpisodes } : {}),
      };
      const cps = await trainBehaviour({ env, outDir, steps: f.steps, resume: f.resume === true, settings, log: (l) => process.stderr.write(l + "\n") });
      const best = cps.reduce((b, c) => (b === null || c.evalReturn > b.evalReturn ? c : b), null as (typeof cps)[number] | null);
      process.stdout.write(`${outDir}: ${cps.length} checkpoints; best eval return ${best ? best.evalReturn.toFixed(1) + " at step " + best.step : "-"}\n`);
    });

  behaviour
    .command("export")
    .description("Copy a run's medium (first checkpoint ≥ ratio × the best checkpoint's return) or expert (best) checkpoint into assets/policies with a card")
    .argument("<run-dir>", "a behaviour run directory")
    .addOption(new Option("--variant <v>", "which policy to export").choices(["medium", "expert"]).makeOptionMandatory())
    .option("--ratio <r>", "medium: fraction of the expert return to reach", positiveNumber("--ratio"), 1 / 3)
    .option("--expert-return <r>", "medium: expert return the ratio applies to (default: the run's best checkpoint's evaluation return)", positiveNumber("--expert-return"))
    .option("--step <n>", "export this checkpoint instead of choosing one", intFlag("--step", 1))
    .option("--episodes <n>", "evaluation episodes for the card", intFlag("--episodes", 1), 20)
    .option("--assets <dir>", "destination folder (default: the package's assets/policies)")
    .action(async (runDir: string, f: { variant: PolicyVariant; ratio: number; expertReturn?: number; step?: number; episodes: number; assets?: string }) => {
      await initEngine();
      const card = await exportBehaviourPolicy({ runDir, ...f, log: (l) => process.stderr.write(l + "\n") });
      process.stdout.write(JSON.stringify(card, null, 2) + "\n");
    });
}
