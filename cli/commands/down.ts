import type { Command } from "commander";
import { localRunIds, removeByLabel } from "../../driver/engine";
import { DeploymentEngines } from "../../driver/hosts";
import { forgetRun, processAlive, readRuns } from "../../driver/runs";
import { waitFor } from "../../driver/wait";
import { action } from "../run";

export function register(program: Command): void {
  program
    .command("down")
    .description("stop what `realtime-kit up` started from this folder and remove its containers, network and volumes (by label)")
    .option("--all", "remove every run of `up` and of the integration tests on this Docker engine, from any folder")
    .action(
      action(async (options: { all?: boolean }) => {
        const runs = readRuns();
        let removedContainers = 0;
        let removedNetworks = 0;
        let removedVolumes = 0;
        for (const run of runs) {
          if (processAlive(run.pid) && run.pid !== process.pid) {
            // Ask `up` to clean up after itself; it removes everything and exits.
            process.kill(run.pid, "SIGTERM");
            await waitFor(() => !processAlive(run.pid), { timeoutMs: 30_000, intervalMs: 200, what: `realtime-kit up (pid ${run.pid}) to exit` }).catch(() => undefined);
          }
          // Across hosts, on every machine the run was placed on.
          const removed = await new DeploymentEngines(run.hosts ?? null).removeByLabel(run.runId);
          removedContainers += removed.containers;
          removedNetworks += removed.networks;
          removedVolumes += removed.volumes;
          forgetRun(run.runId);
          process.stdout.write(`${run.runId} (${run.topology}): stopped\n`);
        }
        if (options.all) {
          for (const runId of await localRunIds()) {
            const removed = await removeByLabel(runId);
            removedContainers += removed.containers;
            removedNetworks += removed.networks;
            removedVolumes += removed.volumes;
            process.stdout.write(`${runId}: removed ${removed.containers} container(s), ${removed.networks} network(s), ${removed.volumes} volume(s)\n`);
          }
        } else if (runs.length === 0) {
          process.stdout.write("nothing to stop: no run of `realtime-kit up` is recorded in ./.realtime-kit (use --all for every run on this engine)\n");
          return 0;
        }
        process.stdout.write(`removed ${removedContainers} container(s), ${removedNetworks} network(s) and ${removedVolumes} volume(s)\n`);
        return 0;
      }),
    );
}
