import type { Command } from "commander";
import { rollingRestart } from "../../harness/rolling-restart";
import { readRuns } from "../../harness/runs";
import { ConfigError } from "../../model/errors";
import { action, collect } from "../run";

export function register(program: Command): void {
  program
    .command("restart-realtime")
    .description("rolling restart of the realtime nodes of a run of `up`: each node drained in HAProxy, stopped gracefully, started, made ready again, one at a time")
    .option("--run <id>", "run id (default: the one run of `up` recorded in this folder)")
    .option("--node <name>", "restart only this node, e.g. realtime-2 (repeatable; default every node in order)", collect, [])
    .option("--drain-wait <ms>", "how long a drained node may keep sessions that end on their own before it is stopped", "0")
    .addHelpText(
      "after",
      "\nHAProxy is driven through its runtime API on the admin socket inside its container (docker exec + socat).\n" +
        "Clients of a restarting node are disconnected once and reconnect to another node at once; no new\n" +
        "session reaches the node until it is healthy again.",
    )
    .action(
      action(async (options: { run?: string; node: string[]; drainWait: string }) => {
        const runId = options.run ?? onlyRecordedRun();
        const drainWaitMs = Number(options.drainWait);
        if (!Number.isInteger(drainWaitMs) || drainWaitMs < 0) throw new ConfigError("--drain-wait", "expected a whole number of milliseconds");
        const report = await rollingRestart(runId, {
          nodes: options.node.length > 0 ? options.node : undefined,
          drainWaitMs,
          log: (line) => process.stdout.write(`  ${line}\n`),
        });
        const total = report.reduce((sum, step) => sum + step.totalMs, 0);
        process.stdout.write(`restarted ${report.map((step) => step.node).join(", ")} of ${runId} in ${(total / 1000).toFixed(1)} s\n`);
        return 0;
      }),
    );
}

function onlyRecordedRun(): string {
  const runs = readRuns();
  if (runs.length === 1) return runs[0]!.runId;
  if (runs.length === 0) throw new ConfigError("--run", "no run of `realtime-kit up` is recorded in ./.realtime-kit: name one with --run");
  throw new ConfigError("--run", `${runs.length} runs are recorded here (${runs.map((run) => run.runId).join(", ")}): name one with --run`);
}
