#!/usr/bin/env node
import { Command, CommanderError } from "commander";
import { createRequire } from "node:module";
import { UserError } from "../errors.js";
import { registerEnvCommands } from "./env.js";
import { registerTrainCommands } from "./train.js";
import { registerDatasetCommands } from "./dataset.js";
import { registerReportCommands } from "./report.js";

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
  registerTrainCommands(program);
  registerEnvCommands(program);
  registerDatasetCommands(program);
  registerReportCommands(program);
  return program;
}

/** Runs the CLI; user errors become one line on stderr and a non-zero exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
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

const isEntry = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isEntry || process.argv[1]?.endsWith("/clap-rl")) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
