import type { Command } from "commander";
import { DeploymentEngines } from "../../driver/hosts";
import { deploymentContainers, followLogs, formatLine, jsonLine, readLogs, selectServices, type LogLine } from "../../driver/logs";
import { processAlive, readRuns, recordedHosts } from "../../driver/runs";
import { ConfigError } from "../../model/errors";
import { action } from "../run";

export function register(program: Command): void {
  program
    .command("logs")
    .description("print what a deployment's containers logged, merged in time order: JSON lines, and Redis's, stunnel's, nginx's error log's and HAProxy's own lines read into fields")
    .argument("[service]", "a service (realtime-2, haproxy) or a pool (realtime, app); default every service")
    .option("--deployment <label>", "the deployment: an `up` run id or a Pulumi stack name (default: the run `up` recorded in this folder)")
    .option("--since <seconds>", "only lines of the last <seconds> seconds")
    .option("-f, --follow", "keep printing new lines until Ctrl-C")
    .option("--json", "one JSON object per line (service, at, stream, and the line's own fields or msg), for jq and log shippers")
    .addHelpText(
      "after",
      "\nA run of `up` recorded in this folder is read from every engine it runs on (each machine of its `hosts`).\n" +
        "Anything else (a Pulumi stack) is read from the engine DOCKER_HOST names (default the local one): over\n" +
        "several hosts, once per host.",
    )
    .action(
      action(async (service: string | undefined, options: { deployment?: string; since?: string; follow?: boolean; json?: boolean }) => {
        const label = options.deployment ?? recordedRun();
        const sinceSeconds = options.since === undefined ? undefined : Number(options.since);
        if (sinceSeconds !== undefined && !(Number.isInteger(sinceSeconds) && sinceSeconds > 0)) {
          throw new ConfigError("--since", `expected a whole number of seconds, at least 1 (got ${JSON.stringify(options.since)})`);
        }
        const engines = new DeploymentEngines(recordedHosts(label));
        const found = await Promise.all(engines.all().map(({ engine }) => deploymentContainers(engine, label)));
        const containers = selectServices(found.flat(), service, label);
        const width = Math.max(...containers.map((entry) => entry.service.length));
        const print = (line: LogLine) => process.stdout.write(`${options.json ? jsonLine(line) : formatLine(line, width)}\n`);
        if (!options.follow) {
          for (const line of await readLogs(containers, { sinceSeconds })) print(line);
          return 0;
        }
        if (sinceSeconds !== undefined) for (const line of await readLogs(containers, { sinceSeconds })) print(line);
        const stop = new AbortController();
        for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => stop.abort());
        await followLogs(containers, print, stop.signal);
        return 0;
      }),
    );
}

/** The one live run `up` recorded in this folder. */
function recordedRun(): string {
  const live = readRuns().filter((run) => processAlive(run.pid));
  if (live.length === 1) return live[0]!.runId;
  if (live.length === 0) throw new ConfigError("--deployment", "no run of `realtime-kit up` is recorded in this folder; name the deployment (an `up` run id or a Pulumi stack name)");
  throw new ConfigError("--deployment", `several runs are recorded in this folder (${live.map((run) => run.runId).join(", ")}); name one`);
}
