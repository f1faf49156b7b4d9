import type { Command } from "commander";
import { TOPOLOGIES, TOPOLOGY_NAMES } from "../../model/topologies";
import { action } from "../run";

export function register(program: Command): void {
  program
    .command("topologies")
    .description("list the topologies the kit deploys, one line each")
    .action(
      action(() => {
        const width = Math.max(...TOPOLOGY_NAMES.map((name) => name.length));
        for (const name of TOPOLOGY_NAMES) process.stdout.write(`${name.padEnd(width)}  ${TOPOLOGIES[name].summary}\n`);
      }),
    );
}
