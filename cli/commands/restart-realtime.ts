import type { Command } from "commander";
import { rollingRestart } from "../../driver/rolling-restart";
import { readRuns, recordedRun } from "../../driver/runs";
import { ConfigError } from "../../model/errors";
import { action, collect } from "../run";

export function register(program: Command): void {
  program
    .command("restart-realtime")
    .description("rolling restart of the realtime nodes of a run of `up`: each node replaced by a new instance (its current image and settings) one at a time, every client moved at most once")
    .option("--run <id>", "run id (default: the one run of `up` recorded in this folder)")
    .option("--node <name>", "restart only this node, e.g. realtime-2 (repeatable; default every node in order)", collect, [])
    .option("--stop-timeout <s>", "how long an old instance may take to shut down gracefully before it is killed", "10")
    .addHelpText(
      "after",
      "\nFor each node: its new instance starts next to the old one; once healthy, HAProxy's server for the node\n" +
        "is pointed at it (runtime API on the admin socket inside the HAProxy container, docker exec + socat) and\n" +
        "the nodes not replaced yet are drained; the old instance is stopped gracefully, so its clients reconnect\n" +
        "at once, onto new instances only. Rebuild the image first (npm run setup -- --only realtime) to roll it out.\n" +
        "Across hosts, a node on another machine than the edge gets its new instance on the other cross-host port\n" +
        "of its pair (18080 + i or 18180 + i; metrics 19464 + i or 19564 + i), and haproxy.cfg and prometheus.yml\n" +
        "are rewritten with the ports in use: keep both ports of each pair open between the hosts.",
    )
    .action(
      action(async (options: { run?: string; node: string[]; stopTimeout: string }) => {
        const runId = options.run ?? onlyRecordedRun();
        const record = recordedRun(runId);
        if (record?.hosts && !record.model) {
          throw new ConfigError("--run", `${runId} runs over several hosts and was recorded by an older realtime-kit, without the model its nodes' ports are planned from; \`down\` and \`up\` it again to restart it node by node`);
        }
        const stopTimeoutS = Number(options.stopTimeout);
        if (!Number.isInteger(stopTimeoutS) || stopTimeoutS < 0) throw new ConfigError("--stop-timeout", "expected a whole number of seconds, e.g. --stop-timeout 10");
        const report = await rollingRestart(runId, {
          nodes: options.node.length > 0 ? options.node : undefined,
          stopTimeoutS,
          ...(record?.hosts ? { model: record.model } : {}),
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
