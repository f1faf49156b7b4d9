import type { Command } from "commander";
import { TOPOLOGIES, TOPOLOGY_SUMMARIES } from "../../model/schema";
import { action } from "../run";

export function register(program: Command): void {
  program
    .command("topologies")
    .description("list the topologies the kit deploys, one line each")
    .action(
      action(() => {
        const width = Math.max(...TOPOLOGIES.map((name) => name.length));
        for (const name of TOPOLOGIES) process.stdout.write(`${name.padEnd(width)}  ${TOPOLOGY_SUMMARIES[name]}\n`);
      }),
    );
}
