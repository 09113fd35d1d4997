/**
 * `clap-rl dataset make <name>` and `clap-rl dataset list`: the project's regenerated D4RL-protocol datasets
 * (datasets spec §6, §9). Registered on the `dataset` command that cli/dataset.ts creates.
 */
import { existsSync, readFileSync } from "node:fs";
import { InvalidArgumentError, type Command } from "commander";
import { initEngine } from "../engine/tf.js";
import { makeDataset, type DatasetCard } from "../data/generate.js";
import { cardPathFor, clapHome, datasetPath, defaultSize, knownDatasetIds, parseDatasetName, policiesNeeded, policyFiles } from "../data/registry.js";

function intFlag(flag: string, min: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\s*\d+\s*$/.test(v) || !Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${flag} must be an integer ≥ ${min}`);
    return n;
  };
}

interface ListEntry {
  id: string;
  made: boolean;
  path: string;
  rows: number | null;
  bytes: number | null;
  sha256: string | null;
  /** Whether the behaviour policies this variant needs are committed. */
  policies: boolean;
}

/** The default-size, seed-0 file of every known id. */
function listDatasets(): ListEntry[] {
  return knownDatasetIds().map((id) => {
    const name = parseDatasetName(id);
    const path = datasetPath(name, defaultSize(name.variant), 0);
    const cardPath = cardPathFor(path);
    const made = existsSync(path) && existsSync(cardPath);
    const card = made ? (JSON.parse(readFileSync(cardPath, "utf8")) as DatasetCard) : null;
    const policies = policiesNeeded(name.variant).every((v) => existsSync(policyFiles(name.env, v).bin));
    return { id, made, path, rows: card?.rows ?? null, bytes: card?.bytes ?? null, sha256: card?.sha256 ?? null, policies };
  });
}

export function registerDatasetMakeCommands(dataset: Command): void {
  dataset
    .command("make")
    .description("Regenerate a D4RL-protocol dataset (clap:<env>/<variant>) into $CLAP_RL_HOME/datasets; progress on stderr")
    .argument("<name>", "e.g. clap:hopper/medium (see `dataset list`)")
    .option("--size <n>", "rows (default: D4RL's, 1M; medium-expert 2M; medium-replay the whole buffer)", intFlag("--size", 1))
    .option("--seed <n>", "generation seed", intFlag("--seed", 0), 0)
    .option("--run <dir>", "medium-replay: the behaviour run directory holding the replay buffer")
    .option("--force", "regenerate even if the file exists")
    .option("--json", "print the dataset card as JSON")
    .action(async (nameArg: string, f: { size?: number; seed: number; run?: string; force?: boolean; json?: boolean }) => {
      const name = parseDatasetName(nameArg);
      await initEngine();
      const log = (l: string) => process.stderr.write(l + "\n");
      const { card, made } = await makeDataset(name, { size: f.size, seed: f.seed, runDir: f.run, force: f.force, log });
      if (f.json) {
        process.stdout.write(JSON.stringify(card, null, 2) + "\n");
        return;
      }
      const score = card.normalizedMean === null ? "-" : card.normalizedMean.toFixed(1);
      process.stdout.write(
        `${card.id}: ${made ? "made" : "already made (use --force to regenerate)"} ${card.path}\n` +
          `  ${card.rows} rows, ${card.episodes} episodes, mean return ${card.returnMean?.toFixed(1) ?? "-"}, normalised ${score}, sha256 ${card.sha256}` +
          (made ? `, ${card.seconds.toFixed(1)} s` : "") +
          "\n",
      );
    });

  dataset
    .command("list")
    .description(`Known regenerated datasets: made or not (default size, seed 0), size, checksum (cache: ${clapHome()})`)
    .option("--json", "print as JSON")
    .action((f: { json?: boolean }) => {
      const rows = listDatasets();
      if (f.json) {
        process.stdout.write(JSON.stringify(rows, null, 2) + "\n");
        return;
      }
      for (const r of rows) {
        const state = r.made ? `made   ${String(r.rows).padStart(8)} rows  ${r.sha256!.slice(0, 16)}` : `absent ${r.policies ? "" : "(no behaviour policy yet)"}`;
        process.stdout.write(`${r.id.padEnd(38)} ${state}\n`);
      }
    });
}
