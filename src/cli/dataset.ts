import type { Command } from "commander";

export function registerDatasetCommands(program: Command): void {
  void program;
}
