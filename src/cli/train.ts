/**
 * `clap-rl train` and `clap-rl eval`.
 *
 *   clap-rl train --dataset <path> --env <id> [--algo clap] [--preset small] [--seed N] [--out DIR]
 *                 [--set k=v]... [--config FILE] [--model-from DIR] [--resume] [--quiet]
 *   clap-rl eval  --run DIR [--episodes N] [--seed N] [--workers N] [--stochastic] [--json]
 *
 * Progress lines go to stderr; `eval --json` prints one JSON object to stdout. Ctrl-C during training saves a
 * checkpoint and stops; `--resume` continues it.
 */
import { InvalidArgumentError, type Command } from "commander";
import { existsSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { UserError } from "../errors.js";
import { buildConfig, resolveConfig } from "../config/presets.js";
import { loadDataset } from "../data/load.js";
import type { EpisodeStore } from "../data/store.js";
import { envInfo } from "../envs/registry.js";
import { evaluate } from "../eval/evaluate.js";
import { registryEvaluator, train } from "../agents/trainer.js";
import { loadCheckpoint, readJson, resolveCheckpointDir } from "../agents/checkpoint.js";
import { clapPolicySpec } from "../agents/acting.js";

function nonNegativeInt(flag: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`${flag} must be a non-negative integer`);
    return n;
  };
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** The dataset's name for ε and discount derivation and run naming: the file or folder name without extensions. */
export function datasetNameOf(path: string): string {
  return basename(resolve(path)).replace(/\.(hdf5|h5|npz|zip)$/i, "");
}

function checkDatasetPath(path: string): void {
  if (existsSync(path)) return;
  const looksLikeName = !path.includes("/") && !path.includes("\\") && !/\.\w+$/.test(path);
  if (looksLikeName) {
    throw new UserError(`--dataset '${path}': not a file or folder, and registered dataset names are not available in this version; pass a dataset path`);
  }
  throw new UserError(`--dataset '${path}': no such file or folder`);
}

function openDataset(path: string, splitAt: "auto" | "done" | "timeouts", rewardTransform: "none" | "minus-one" | "cql"): Promise<EpisodeStore> {
  return loadDataset(path, { ...(splitAt === "auto" ? {} : { splitAt }), rewardTransform });
}

interface TrainFlags {
  dataset?: string;
  env?: string;
  algo: string;
  preset?: string;
  seed?: number;
  out?: string;
  set: string[];
  config?: string;
  modelFrom?: string;
  resume?: boolean;
  quiet?: boolean;
}

async function trainCommand(f: TrainFlags): Promise<void> {
  if (f.algo !== "clap") throw new UserError(`--algo '${f.algo}': unknown algorithm; available: clap`);
  if (f.resume) {
    if (!f.out) throw new UserError("--resume needs --out <run directory>");
    if (f.preset !== undefined || f.config !== undefined || f.set.length > 0 || f.seed !== undefined || f.modelFrom !== undefined) {
      throw new UserError("--resume continues a run with its saved config; --preset, --config, --set, --seed and --model-from cannot be combined with it");
    }
  }
  const manifestPath = f.out ? join(f.out, "manifest.json") : "";
  const manifest = f.resume && existsSync(manifestPath) ? (readJson(manifestPath) as { dataset?: { path?: string }; env?: string | null }) : null;
  if (f.resume && !manifest) throw new UserError(`--resume: no run to resume in '${f.out}' (no manifest.json)`);
  const datasetPath = f.dataset ?? manifest?.dataset?.path;
  const envId = f.env ?? manifest?.env ?? undefined;
  if (!datasetPath) throw new UserError("missing --dataset <path>");
  if (!envId) throw new UserError("missing --env <id>");
  checkDatasetPath(datasetPath);
  const env = envInfo(envId);
  const name = datasetNameOf(datasetPath);

  const base = f.resume ? loadCheckpoint(f.out!).config : buildConfig({ preset: f.preset, file: f.config, sets: f.set, seed: f.seed });
  const config = resolveConfig(base, name);
  const outDir = f.out ?? join("runs", `${name}-${config.algo}-${config.preset}-s${config.seed}`);
  if (!f.resume && existsSync(join(outDir, "manifest.json"))) {
    throw new UserError(`'${resolve(outDir)}' already holds a run; pass --resume to continue it or choose another --out`);
  }
  const store = await openDataset(datasetPath, config.data.splitAt, config.data.rewardTransform);
  const obsSize = env.obsShape.reduce((a, b) => a * b, 1);
  if (store.obsSize !== obsSize || store.actDim !== env.actionDim) {
    throw new UserError(
      `--dataset ${datasetPath} has observations of ${store.obsSize} values and ${store.actDim} actions; environment '${env.id}' has ${obsSize} and ${env.actionDim}`,
    );
  }
  const say = f.quiet ? () => {} : (line: string) => process.stderr.write(`${line}\n`);
  say(`clap-rl train: ${name} (${store.counts.episodes} episodes, ${store.counts.transitions} transitions) on ${env.id}, preset ${config.preset}, seed ${config.seed}, run ${outDir}`);

  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
    say("interrupt: saving a checkpoint after this step…");
  };
  process.once("SIGINT", onSigint);
  try {
    const result = await train({
      outDir,
      config,
      store,
      dataset: { name, path: datasetPath },
      envId: env.id,
      evaluate: registryEvaluator(env.id, { workers: config.eval.workers, maxSteps: config.eval.maxSteps }),
      modelFrom: f.modelFrom,
      resume: f.resume,
      progress: say,
      shouldStop: () => interrupted,
      commandLine: process.argv.slice(1),
    });
    if (result.status === "stopped") {
      say(`stopped at model step ${result.modelStep}, agent step ${result.agentStep}; continue with: clap-rl train --out ${result.runDir} --resume`);
    } else {
      const fe = result.finalEval;
      const score = fe?.score_mean !== undefined ? `, normalised score ${fe.score_mean.toFixed(1)}` : "";
      say(`done: ${result.runDir}${fe?.return_mean !== undefined ? ` (final return ${fe.return_mean.toFixed(1)}${score})` : ""}`);
    }
  } finally {
    process.removeListener("SIGINT", onSigint);
  }
}

interface EvalFlags {
  run: string;
  episodes?: number;
  seed: number;
  workers?: number;
  stochastic?: boolean;
  json?: boolean;
}

async function evalCommand(f: EvalFlags): Promise<void> {
  const dir = resolveCheckpointDir(f.run);
  const ckpt = loadCheckpoint(dir);
  const manifestPath = join(f.run, "manifest.json");
  const manifest = existsSync(manifestPath) ? (readJson(manifestPath) as { env?: string | null }) : null;
  const envId = manifest?.env;
  if (!envId) throw new UserError(`--run ${f.run}: no environment recorded in manifest.json`);
  if (ckpt.state.phase !== "done" && !f.json) process.stderr.write(`note: ${dir} is an unfinished run (phase ${ckpt.state.phase}, agent step ${ckpt.state.agentStep})\n`);
  const episodes = f.episodes ?? ckpt.config.eval.finalEpisodes ?? 10;
  if (episodes < 1) throw new UserError("--episodes must be at least 1");
  const r = await evaluate(clapPolicySpec(resolve(dir), f.stochastic), envId, { episodes, seed: f.seed, workers: f.workers ?? ckpt.config.eval.workers });
  const out = {
    run: resolve(f.run),
    checkpoint: resolve(dir),
    env: envId,
    agentStep: ckpt.state.agentStep,
    seed: f.seed,
    episodes,
    stochastic: f.stochastic ?? ckpt.config.eval.stochastic,
    returns: r.returns,
    lengths: r.lengths,
    returnMean: r.returnMean,
    returnStd: r.returnStd,
    normalizedScores: r.normalizedScores,
    normalizedMean: r.normalizedMean,
    normalizedStd: r.normalizedStd,
    successRate: r.successRate,
  };
  if (f.json) {
    process.stdout.write(JSON.stringify(out, null, 2) + "\n");
    return;
  }
  const lines = [
    `run ${out.run} (agent step ${out.agentStep}) on ${envId}: ${episodes} episodes, seed ${f.seed}`,
    `return ${r.returnMean.toFixed(2)} ± ${r.returnStd.toFixed(2)}, length ${r.lengthMean.toFixed(1)}`,
  ];
  if (r.normalizedMean !== null) lines.push(`normalised score ${r.normalizedMean.toFixed(1)} ± ${(r.normalizedStd ?? 0).toFixed(1)}`);
  if (r.successRate !== null) lines.push(`success rate ${(100 * r.successRate).toFixed(1)}%`);
  process.stdout.write(lines.join("\n") + "\n");
}

export function registerTrainCommands(program: Command): void {
  program
    .command("train")
    .description("Train C-LAP offline: the latent action model first, then the constrained policy on the frozen model")
    .option("--dataset <path>", "dataset file or folder (D4RL .hdf5, Minari folder, V-D4RL folder)")
    .option("--env <id>", "environment for evaluation (see `clap-rl env list`)")
    .option("--algo <name>", "algorithm", "clap")
    .option("--preset <name>", "config preset: tiny, small (default), full")
    .option("--seed <n>", "run seed", nonNegativeInt("--seed"))
    .option("--out <dir>", "run directory (default runs/<dataset>-<algo>-<preset>-s<seed>)")
    .option("--set <key=value>", "override one config value, e.g. --set agent.epsilon=2 (repeatable)", collect, [])
    .option("--config <file>", "JSON config file (partial configs are merged into the preset)")
    .option("--model-from <dir>", "reuse the trained model of another run (or model checkpoint) and skip phase 1")
    .option("--resume", "continue the run in --out from its latest checkpoint")
    .option("--quiet", "no progress lines")
    .action(async (f: TrainFlags) => trainCommand(f));

  program
    .command("eval")
    .description("Evaluate a trained run's policy (deterministic unless --stochastic)")
    .requiredOption("--run <dir>", "run directory or checkpoint directory")
    .option("--episodes <n>", "episodes (default: the run's eval.finalEpisodes)", nonNegativeInt("--episodes"))
    .option("--seed <n>", "evaluation seed", nonNegativeInt("--seed"), 0)
    .option("--workers <n>", "worker threads (0 = in this thread; default: the run's eval.workers)", nonNegativeInt("--workers"))
    .option("--stochastic", "sample the policy instead of taking its mode")
    .option("--json", "print the result as JSON")
    .action(async (f: EvalFlags) => evalCommand(f));
}
