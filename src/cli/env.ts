import type { Command } from "commander";

export function registerEnvCommands(program: Command): void {
  void program;
}
