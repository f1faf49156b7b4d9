import type { Command } from "commander";
import { optionsTable } from "../../model/docs";
import { action } from "../run";

export function register(program: Command): void {
  program
    .command("options")
    .description("print every model option with its default and meaning (markdown)")
    .action(action(() => void process.stdout.write(optionsTable())));
}
