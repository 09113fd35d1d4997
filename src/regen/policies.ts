/**
 * The committed behaviour policies (docs/design/datasets.md §6.1–§6.2, §9): `assets/policies/<env>-<medium|expert>.bin`
 * (SAC actor weights) + `.json` card, and beside the medium policy the replay log of its run, shipped with the
 * package. `behaviour export` writes them from a behaviour training run (./behaviour.ts); the dataset generator
 * (./generate.ts) reads them.
 */
import { existsSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { UserError } from "../errors.js";
import { loadArrays, saveArrays } from "../engine/serialize.js";
import { evaluate } from "../eval/evaluate.js";
import { writeJsonAtomic } from "../util/atomic.js";
import { PROVENANCE_LABEL, sha256File, type Variant } from "../data/registry.js";
import { resolveSacConfig, sacPolicySpec } from "../algorithms/sac.js";
import { policyPath, readCheckpoints, readReplay, readSettings, type CheckpointEntry } from "./behaviour.js";

export type PolicyVariant = "medium" | "expert";

export interface PolicyCard {
  env: string;
  variant: PolicyVariant;
  algorithm: "SAC";
  /** Environment steps of the checkpoint. */
  checkpointStep: number;
  /** Steps the run had trained when the policy was exported. */
  runSteps: number;
  seed: number;
  /** Evaluation over `episodes` deterministic (tanh-mean) episodes, evaluation seed `evalSeed`. */
  episodes: number;
  evalSeed: number;
  returnMean: number;
  returnStd: number;
  normalizedScore: number | null;
  normalizedStd: number | null;
  /** The checkpoint's own evaluation during training (fewer episodes, other seeds). */
  trainingEvalReturn: number;
  /**
   * How the checkpoint was chosen. `fractionOfExpert` = the checkpoint's training evaluation return / expertReturn
   * (for medium policies, ≈ 1/3 by the protocol; a hand-picked checkpoint below that is a provisional medium).
   */
  selection: { rule: string; ratio?: number; expertReturn?: number; threshold?: number; fractionOfExpert?: number };
  hidden: number[];
  sha256: string;
  date: string;
  label: string;
  /** Medium policies: the run's replay log, from which medium-replay is re-simulated (see `writeReplayLog`). */
  replay?: { file: string; rows: number; runSeed: number; sha256: string };
}

/** The package's assets/policies folder (three levels up from dist/src/regen/). */
export function defaultPolicyDir(): string {
  return fileURLToPath(new URL("../../../assets/policies/", import.meta.url));
}

/** The committed behaviour policies a variant is made from (medium-replay checks its run against the medium one). */
export function policiesNeeded(variant: Variant): PolicyVariant[] {
  switch (variant) {
    case "random":
      return [];
    case "medium-expert":
      return ["medium", "expert"];
    case "expert":
      return ["expert"];
    default:
      return ["medium"];
  }
}

export function policyFiles(env: string, variant: PolicyVariant, dir = defaultPolicyDir()): { bin: string; card: string } {
  return { bin: join(dir, `${env}-${variant}.bin`), card: join(dir, `${env}-${variant}.json`) };
}

/** The medium run's replay log, committed beside the medium policy. */
export function replayLogPath(env: string, dir = defaultPolicyDir()): string {
  return join(dir, `${env}-medium-replay.bin`);
}

/**
 * Writes the replay log of a run's first `rows` steps: actions, behaviour log-probabilities and rewards. With the
 * run seed (episode resets) that is all medium-replay needs, since the wasm simulator replays the states exactly;
 * about 1/4 of the buffer's bytes for the 17-dim environments, so the log can be committed where the buffer cannot.
 * The rewards are the check that a re-simulation matches the run.
 */
export function writeReplayLog(runDir: string, rows: number, dest: string): void {
  const buf = readReplay(runDir);
  if (buf.total > buf.size) {
    throw new UserError(`${runDir}: the replay buffer has wrapped (${buf.total} steps, capacity ${buf.size}); the rows from the start of the run are gone`);
  }
  if (buf.size < rows) throw new UserError(`${runDir}: the replay buffer holds ${buf.size} rows, fewer than the ${rows} asked for`);
  const c = buf.inOrder(rows);
  saveArrays(
    dest,
    new Map([
      ["actions", { data: c.act, shape: [rows, c.act.length / rows] }],
      ["log_probs", { data: c.log_prob, shape: [rows] }],
      ["rewards", { data: c.rew, shape: [rows] }],
    ]),
  );
}

/** The committed behaviour policy and its card, or a UserError saying how to make one. */
export function readPolicyCard(env: string, variant: PolicyVariant, dir = defaultPolicyDir()): { bin: string; card: PolicyCard } {
  const f = policyFiles(env, variant, dir);
  if (!existsSync(f.bin) || !existsSync(f.card)) {
    throw new UserError(
      `no ${variant} behaviour policy for ${env} (${f.bin}); train one with "clap-rl behaviour train ${env}" and ` +
        `"clap-rl behaviour export <run-dir> --variant ${variant}"`,
    );
  }
  const card = JSON.parse(readFileSync(f.card, "utf8")) as PolicyCard;
  const sha = sha256File(f.bin);
  if (sha !== card.sha256) throw new UserError(`${f.bin}: checksum ${sha.slice(0, 12)}… does not match its card (${card.sha256.slice(0, 12)}…)`);
  return { bin: f.bin, card };
}

export interface ExportOptions {
  runDir: string;
  variant: PolicyVariant;
  /** medium: fraction of the expert return the checkpoint must reach (default 1/3, docs/design/datasets.md §6.2). */
  ratio?: number;
  /** medium: the expert return the ratio applies to (default: the run's best training evaluation return). */
  expertReturn?: number;
  /** Export this checkpoint instead of choosing one. */
  step?: number;
  episodes?: number;
  assets?: string;
  log?: (line: string) => void;
}

/** Chooses the run's medium or expert checkpoint (or `step`), evaluates it, and writes the policy file + card. */
export async function exportBehaviourPolicy(o: ExportOptions): Promise<PolicyCard> {
  const settings = readSettings(o.runDir);
  const cps = readCheckpoints(o.runDir);
  if (cps.length === 0) throw new UserError(`${o.runDir}: the run has no checkpoints yet`);
  // SAC's evaluation return swings between checkpoints (hopper: 3135 at 200k, 2183 at 240k), so the expert is the
  // best-evaluated checkpoint rather than the latest, and medium is measured against that checkpoint's return (§6.2).
  const expert = cps.reduce((b, c) => (c.evalReturn > b.evalReturn ? c : b));
  const expertReturn = o.expertReturn ?? expert.evalReturn;
  let chosen: CheckpointEntry | undefined;
  let selection: PolicyCard["selection"];
  if (o.step !== undefined) {
    chosen = cps.find((c) => c.step === o.step);
    if (!chosen) throw new UserError(`${o.runDir}: no checkpoint at step ${o.step}; have ${cps.map((c) => c.step).join(", ")}`);
    selection = { rule: `checkpoint ${o.step} chosen by hand` };
  } else if (o.variant === "medium") {
    const ratio = o.ratio ?? 1 / 3;
    const threshold = ratio * expertReturn;
    chosen = cps.find((c) => c.evalReturn >= threshold);
    if (!chosen) throw new UserError(`${o.runDir}: no checkpoint reaches ${threshold.toFixed(1)} (= ${ratio.toFixed(4)} × ${expertReturn.toFixed(1)})`);
    selection = {
      rule: `first checkpoint whose evaluation return ≥ ratio × expertReturn (${o.expertReturn === undefined ? `the run's best, step ${expert.step}` : "given"})`,
      ratio,
      threshold,
    };
  } else {
    chosen = expert;
    selection = { rule: "checkpoint with the highest training evaluation return" };
  }
  selection = { ...selection, expertReturn, fractionOfExpert: chosen.evalReturn / expertReturn };
  const src = policyPath(o.runDir, chosen.step);
  const episodes = o.episodes ?? 20;
  const evalSeed = 0;
  o.log?.(`behaviour export: evaluating ${settings.env} checkpoint ${chosen.step} over ${episodes} episodes`);
  const ev = await evaluate(sacPolicySpec(src), settings.env, { episodes, seed: evalSeed });
  const dest = policyFiles(settings.env, o.variant, o.assets ?? defaultPolicyDir());
  // Re-encode rather than copy so the committed file holds the actor weights and nothing else.
  saveArrays(dest.bin, loadArrays(src));
  const card: PolicyCard = {
    env: settings.env,
    variant: o.variant,
    algorithm: "SAC",
    checkpointStep: chosen.step,
    runSteps: cps[cps.length - 1].step,
    seed: settings.seed,
    episodes,
    evalSeed,
    returnMean: ev.returnMean,
    returnStd: ev.returnStd,
    normalizedScore: ev.normalizedMean,
    normalizedStd: ev.normalizedStd,
    trainingEvalReturn: chosen.evalReturn,
    selection,
    hidden: resolveSacConfig(settings.sac).hidden,
    sha256: sha256File(dest.bin),
    date: new Date().toISOString(),
    label: `behaviour policy for ${PROVENANCE_LABEL}`,
  };
  if (o.variant === "medium") {
    const log = replayLogPath(settings.env, o.assets ?? defaultPolicyDir());
    o.log?.(`behaviour export: writing the replay log of steps [0, ${chosen.step}) to ${log}`);
    writeReplayLog(o.runDir, chosen.step, log);
    card.replay = { file: basename(log), rows: chosen.step, runSeed: settings.seed, sha256: sha256File(log) };
  }
  writeJsonAtomic(dest.card, card);
  return card;
}
