#!/usr/bin/env node
import { Command, CommanderError } from "commander";
import { createRequire } from "node:module";
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { UserError } from "../errors.js";
import { registerEnvCommands } from "./env.js";
import { registerTrainCommands } from "./train.js";
import { registerDatasetCommands } from "./dataset.js";
import { registerBehaviourCommands } from "./behaviour.js";
import { registerReportCommands } from "./report.js";
import { registerQuickstartCommand } from "./quickstart.js";
import { registerSweepCommand } from "./sweep.js";
import { registerWorkerCommand } from "./worker.js";
import { registerReproduceCommand } from "./reproduce.js";
import { registerBenchCommand } from "./bench.js";

const require = createRequire(import.meta.url);
const pkg = require("../../../package.json") as { version: string };

export function buildProgram(): Command {
  const program = new Command();
  program
    .name("clap-rl")
    .description("Model-based offline RL in TypeScript: C-LAP, environments, datasets, evaluation")
    .version(pkg.version)
    .showHelpAfterError(false)
    .exitOverride();
  registerQuickstartCommand(program);
  registerTrainCommands(program);
  registerSweepCommand(program);
  registerWorkerCommand(program);
  registerReproduceCommand(program);
  registerEnvCommands(program);
  registerDatasetCommands(program);
  registerBehaviourCommands(program);
  registerReportCommands(program);
  registerBenchCommand(program);
  return program;
}

/** Runs the CLI; user errors become one line on stderr and a non-zero exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: "user" });
    // A command may end without an error but with a code of its own (a run stopped by Ctrl-C: 130).
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Commander has already printed its message (help, version, or the error line).
      return e.exitCode === 0 ? 0 : 2;
    }
    if (e instanceof UserError) {
      process.stderr.write(`clap-rl: ${e.message}\n`);
      return e.exitCode;
    }
    throw e;
  }
}

/** True when this file is the process's entry point, also when started through npm's `clap-rl` bin symlink. */
function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
