import { Option, type Command } from "commander";
import { UserError } from "../errors.js";
import { formatSummary, inspectStore } from "../data/inspect.js";
import { formatIssue } from "../data/issues.js";
import { loadDataset, type LoadOptions } from "../data/load.js";
import { normalizedScore100 } from "../eval/scores.js";
import { expectationsFor, validateDataset, type DatasetExpectations } from "../data/validate.js";
import { registerDatasetMakeCommands } from "./dataset-make.js";
import { positiveInt } from "./train.js";

const splitOption = () =>
  new Option("--split-at <rule>", 'D4RL episode ends: "done" (terminals or timeouts) or "timeouts" (antmaze default)').choices([
    "done",
    "timeouts",
  ]);

interface CommonFlags {
  splitAt?: "done" | "timeouts";
  obsKey?: string;
  json?: boolean;
}

function loadOptions(f: CommonFlags): LoadOptions {
  return { ...(f.splitAt ? { splitAt: f.splitAt } : {}), ...(f.obsKey ? { obsKey: f.obsKey } : {}) };
}

export function registerDatasetCommands(program: Command): void {
  const dataset = program.command("dataset").description("Check and summarise offline datasets (D4RL HDF5, Minari, V-D4RL npz)");
  registerDatasetMakeCommands(dataset);

  dataset
    .command("validate")
    .description("Check a dataset for missing keys, bad dtypes/shapes, NaN/Inf, out-of-range actions, flag problems; exit 1 on errors (warnings alone, such as a legacy layout's, exit 0)")
    .argument("<path>", "D4RL .hdf5 file, Minari dataset folder, or V-D4RL folder/.npz")
    .option("--env <id>", "check sizes and flags against this environment's dataset facts (e.g. hopper, antmaze-umaze)")
    .option("--obs-dim <n>", "expected observation size (vector observations)", positiveInt("--obs-dim"))
    .option("--act-dim <n>", "expected action size", positiveInt("--act-dim"))
    .option("--timeout-steps <n>", "expected episode length at a timeout", positiveInt("--timeout-steps"))
    .addOption(splitOption())
    .option("--obs-key <key>", "Minari Dict observation spaces: the sub-key to use")
    .option("--json", "print the report as JSON")
    .action(async (path: string, f: CommonFlags & { env?: string; obsDim?: number; actDim?: number; timeoutSteps?: number }) => {
      const expect: DatasetExpectations = { ...(f.env ? expectationsFor(f.env) : {}) };
      if (f.obsDim !== undefined) expect.obsShape = [f.obsDim];
      if (f.actDim !== undefined) expect.actDim = f.actDim;
      if (f.timeoutSteps !== undefined) expect.timeoutSteps = f.timeoutSteps;
      const report = await validateDataset(path, { ...loadOptions(f), expect });
      if (f.json) {
        process.stdout.write(JSON.stringify(report, null, 2) + "\n");
      } else {
        for (const i of report.issues) process.stdout.write(formatIssue(i) + "\n");
        // Warnings describe a valid file read by a documented rule (a legacy D4RL layout): it is accepted, exit 0.
        if (report.errors === 0) {
          const w = report.warnings > 0 ? `, ${report.warnings} warning(s)` : "";
          process.stdout.write(`${path}: ok (${report.format}, ${report.episodes} episodes, ${report.transitions} transitions${w})\n`);
        }
      }
      if (report.errors > 0) {
        throw new UserError(`${path}: ${report.errors} error(s), ${report.warnings} warning(s)`, 1);
      }
    });

  dataset
    .command("inspect")
    .description("Summarise a dataset: episodes, transitions, returns, lengths, terminal/timeout counts, action ranges")
    .argument("<path>", "D4RL .hdf5 file, Minari dataset folder, or V-D4RL folder/.npz")
    .option("--env <id>", "also report the episodes' normalised scores with this environment's reference constants")
    .addOption(splitOption())
    .option("--obs-key <key>", "Minari Dict observation spaces: the sub-key to use")
    .option("--json", "print the summary as JSON")
    .action(async (path: string, f: CommonFlags & { env?: string }) => {
      const env = f.env;
      if (env !== undefined) normalizedScore100(env, 0);
      const store = await loadDataset(path, loadOptions(f));
      const summary = inspectStore(store, env !== undefined ? { normalise: (ret) => normalizedScore100(env, ret) } : {});
      process.stdout.write((f.json ? JSON.stringify(summary, null, 2) : formatSummary(summary)) + "\n");
    });
}
