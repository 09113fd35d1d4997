/**
 * `clap-rl dataset make <name>` and `clap-rl dataset list`: the project's regenerated D4RL-protocol datasets
 * (docs/design/datasets.md §6, §9). Registered on the `dataset` command that cli/dataset.ts creates.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { InvalidArgumentError, type Command } from "commander";
import { initEngine } from "../engine/tf.js";
import { makeDataset, type DatasetCard } from "../regen/generate.js";
import { policiesNeeded, policyFiles, replayLogPath } from "../regen/policies.js";
import { clapHome, datasetPath, defaultSize, knownDatasetIds, parseDatasetName } from "../data/registry.js";

function intFlag(flag: string, min: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\s*\d+\s*$/.test(v) || !Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${flag} must be an integer ≥ ${min}`);
    return n;
  };
}

interface ListFile {
  path: string;
  rows: number;
  seed: number;
  bytes: number;
  sha256: string;
}

interface ListEntry {
  id: string;
  /** Whether the default-size, seed-0 file exists (the one `train --dataset <id>` uses). */
  made: boolean;
  path: string;
  /** Every made file of this id in the cache: the default one and those made with --size or --seed. */
  files: ListFile[];
  /** Whether the behaviour policies (and, for medium-replay, the replay log) this variant needs are committed. */
  policies: boolean;
}

/** Every known id with the files of it in the cache, read from their cards. */
function listDatasets(): ListEntry[] {
  const dir = join(clapHome(), "datasets");
  const cards = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith(".json") && existsSync(join(dir, f.replace(/\.json$/, ".hdf5"))))
        .flatMap((f) => {
          try {
            return [JSON.parse(readFileSync(join(dir, f), "utf8")) as DatasetCard];
          } catch {
            return []; // a card being written by another process, or not ours
          }
        })
    : [];
  return knownDatasetIds().map((id) => {
    const name = parseDatasetName(id);
    const path = datasetPath(name, defaultSize(name.variant), 0);
    const files = cards
      .filter((c) => c.id === id)
      .map((c) => ({ path: c.path, rows: c.rows, seed: Number(c.metadata.seed), bytes: c.bytes, sha256: c.sha256 }))
      .sort((x, y) => x.rows - y.rows || x.seed - y.seed);
    const policies =
      policiesNeeded(name.variant).every((v) => existsSync(policyFiles(name.env, v).bin)) &&
      (name.variant !== "medium-replay" || existsSync(replayLogPath(name.env)));
    return { id, made: files.some((f) => f.path === path), path, files, policies };
  });
}

export function registerDatasetMakeCommands(dataset: Command): void {
  dataset
    .command("make")
    .description("Regenerate a D4RL-protocol dataset (clap:<env>/<variant>) into $CLAP_RL_HOME/datasets; progress on stderr")
    .argument("<name>", "e.g. clap:hopper/medium (see `dataset list`)")
    .option("--size <n>", "rows (default: D4RL's, 1M; medium-expert 2M; medium-replay the whole buffer)", intFlag("--size", 1))
    .option("--seed <n>", "generation seed", intFlag("--seed", 0), 0)
    .option("--force", "regenerate even if the file exists")
    .option("--json", "print the dataset card as JSON")
    .action(async (nameArg: string, f: { size?: number; seed: number; force?: boolean; json?: boolean }) => {
      const name = parseDatasetName(nameArg);
      await initEngine();
      const log = (l: string) => process.stderr.write(l + "\n");
      const { card, made } = await makeDataset(name, { size: f.size, seed: f.seed, force: f.force, log });
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
    .description(`Known regenerated datasets and the files made of each (any --size/--seed): rows, checksum (cache: ${clapHome()})`)
    .option("--json", "print as JSON")
    .action((f: { json?: boolean }) => {
      const rows = listDatasets();
      if (f.json) {
        process.stdout.write(JSON.stringify(rows, null, 2) + "\n");
        return;
      }
      for (const r of rows) {
        if (r.files.length === 0) {
          process.stdout.write(`${r.id.padEnd(38)} not made${r.policies ? "" : " (no behaviour policy yet)"}\n`);
          continue;
        }
        for (const [i, f] of r.files.entries()) {
          const what = `${String(f.rows).padStart(8)} rows  seed ${String(f.seed).padEnd(3)} ${(f.bytes / 2 ** 20).toFixed(1).padStart(7)} MiB  ${f.sha256.slice(0, 16)}  ${basename(f.path)}`;
          process.stdout.write(`${(i === 0 ? r.id : "").padEnd(38)} ${what}\n`);
        }
      }
    });
}
