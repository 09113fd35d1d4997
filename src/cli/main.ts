#!/usr/bin/env node
import { Command, CommanderError } from "commander";
import { createRequire } from "node:module";
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { fsError, isFsError, UserError } from "../errors.js";
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
    // A file-system failure that no command turned into its own line still names the path and the reason.
    if (isFsError(e)) {
      const err = fsError(e.path ?? "(unknown path)", e.syscall ?? "access", e);
      process.stderr.write(`clap-rl: ${err.message}\n`);
      return err.exitCode;
    }
    if (process.env.CLAP_RL_DEBUG) throw e;
    // No input should end in a stack trace (issue 12); what gets here is a bug, and the line says how to see more.
    process.stderr.write(`clap-rl: internal error: ${(e as Error)?.message?.split("\n")[0] ?? String(e)} (a bug in clap-rl; set CLAP_RL_DEBUG=1 for the stack trace)\n`);
    return INTERNAL_EXIT;
  }
}

/** Exit code of an unexpected error (a bug), as sysexits' EX_SOFTWARE. */
export const INTERNAL_EXIT = 70;

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
