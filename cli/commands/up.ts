import fs from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { NOTHING_REMOVED, type RemovalCounts } from "../../driver/engine";
import { DeploymentEngines } from "../../driver/hosts";
import type { RunningTopology } from "../../driver/running";
import { assertContract } from "../../driver/verify-image";
import { forgetRun, runFilesDir, writeRun } from "../../driver/runs";
import { newRunId, startTopology } from "../../driver/start";
import { loadModel } from "../../model/load";
import { kitImage } from "../../plan/services";
import { TOPOLOGY_NAMES } from "../../model/topologies";
import { action, collect } from "../run";

export function register(program: Command): void {
  program
    .command("up")
    .description("run a topology on the local Docker engine (or over the machines of `hosts`), print its URLs, and keep it until Ctrl-C, SIGTERM (or SIGHUP) or `realtime-kit down`")
    .argument("<topology>", TOPOLOGY_NAMES.join(" | "))
    .option("--config <file>", "YAML or JSON file of model options")
    .option("--set <key=value>", "set one option, e.g. --set ports.http=8080 (repeatable)", collect, [])
    .option("--listen <address>", "host address the public ports are published on (0.0.0.0 for every interface)", "127.0.0.1")
    .option("--with-metrics", "also run a Prometheus server scraping every node and HAProxy (metrics.prometheus=true; on 127.0.0.1 only)")
    .option("--with-admin-ui", "also serve @socket.io/admin-ui behind a password made for the run (adminUi.enabled=true; on 127.0.0.1 only)")
    .addHelpText(
      "after",
      "\nEverything `up` creates carries the label io.realtime-kit.deployment=<run id> and is removed on exit.\n" +
        "The run is recorded in ./.realtime-kit/runs/ so `realtime-kit down` from this folder can stop it.\n" +
        "TLS topologies without tls.certFile get a throwaway CA; its PEM is written beside the record.",
    )
    .action(
      action(async (topology: string, options: { config?: string; set: string[]; listen: string; withMetrics?: boolean; withAdminUi?: boolean }) => {
        const sets = [...options.set, ...(options.withMetrics ? ["metrics.prometheus=true"] : []), ...(options.withAdminUi ? ["adminUi.enabled=true"] : [])];
        const model = loadModel({ topology, configFile: options.config, sets });
        const runId = newRunId("up");
        const hosts = model.placement?.hosts ?? null;
        const engines = new DeploymentEngines(hosts);
        let stopping: string | null = null;
        let wake: () => void = () => undefined;
        /** The removal a signal started; the final one waits for it, so the two never race over the same objects. */
        let signalRemoval: Promise<RemovalCounts> = Promise.resolve(NOTHING_REMOVED);
        const onSignal = (signal: NodeJS.Signals) => {
          if (stopping) return;
          stopping = signal;
          process.stderr.write(`\n${signal}: removing ${runId}...\n`);
          // Also covers a start still in progress: whatever exists already goes now, the rest below.
          signalRemoval = engines.removeByLabel(runId).catch(() => NOTHING_REMOVED);
          wake();
        };
        process.on("SIGINT", onSignal);
        process.on("SIGTERM", onSignal);
        process.on("SIGHUP", onSignal);
        writeRun({ runId, topology, pid: process.pid, startedAt: new Date().toISOString(), urls: {}, caFile: null, hosts, model });
        let running: RunningTopology | null = null;
        /** Whether the body returned (no error to report ahead of a failed removal). */
        let completed = false;
        try {
          await assertContract(model, (service, step) => process.stdout.write(`  ${step.ok ? "ok  " : "FAIL"} ${service.role}.image ${service.image}: ${step.name}: ${step.detail}\n`));
          process.stdout.write(`starting ${topology} as ${runId}...\n`);
          running = await startTopology(model, { runId, publishAddress: options.listen, log: (line) => process.stdout.write(`  ${line}\n`) });
          if (stopping) {
            completed = true;
            return 1;
          }
          let caFile: string | null = null;
          if (running.ca) {
            caFile = path.join(runFilesDir(runId), "ca.pem");
            fs.writeFileSync(caFile, running.ca);
          }
          let adminUiPasswordFile: string | null = null;
          if (running.adminUiPassword) {
            // Never printed: readable by this user only, removed with the run's files.
            adminUiPasswordFile = path.join(runFilesDir(runId), "admin-ui-password");
            fs.writeFileSync(adminUiPasswordFile, `${running.adminUiPassword}\n`, { mode: 0o600 });
          }
          writeRun({ runId, topology, pid: process.pid, startedAt: new Date().toISOString(), urls: { ...running.urls }, caFile, hosts, model });
          printUrls(running, caFile, adminUiPasswordFile);
          await new Promise<void>((resolve) => {
            // `down` may remove the containers directly: leave when the network is gone (the edge
            // host's, across hosts). The timer also keeps the process alive while it waits.
            const timer = setInterval(() => {
              engines.edge
                .getNetwork(running!.networkName)
                .inspect()
                .catch((error: { statusCode?: number }) => {
                  if (error.statusCode !== 404) return;
                  stopping ??= "down";
                  wake();
                });
            }, 2000);
            wake = () => {
              clearInterval(timer);
              resolve();
            };
            if (stopping) wake();
          });
          completed = true;
          return 0;
        } finally {
          process.off("SIGINT", onSignal);
          process.off("SIGTERM", onSignal);
          process.off("SIGHUP", onSignal);
          const early = await signalRemoval;
          const unremoved = await engines.removeByLabel(runId).then(
            (late) => {
              const removed = { containers: early.containers + late.containers, networks: early.networks + late.networks, volumes: early.volumes + late.volumes };
              forgetRun(runId);
              process.stdout.write(`removed ${removed.containers} container(s), ${removed.networks} network(s) and ${removed.volumes} volume(s) of ${runId}\n`);
              return null;
            },
            (error: Error) => error,
          );
          // A machine that did not answer keeps the run recorded, for `down` to finish. Its error is
          // the outcome only when the run itself succeeded; otherwise that first error is.
          if (unremoved && completed) throw unremoved;
          if (unremoved) process.stderr.write(`realtime-kit: ${unremoved.message}\n`);
        }
      }),
    );
}

function printUrls(running: RunningTopology, caFile: string | null, adminUiPasswordFile: string | null): void {
  const out = (line = "") => process.stdout.write(`${line}\n`);
  out();
  out(`${running.model.topology} is up (run ${running.runId}):`);
  const model = running.model;
  const ownRealtime = model.realtime.image !== kitImage("realtime");
  for (const entry of running.deployment.entrypoints) {
    // The chat page is the kit's own server's; a realtime image of one's own serves what it serves.
    if (entry.name === "chat" && ownRealtime) continue;
    out(`  ${entry.name.padEnd(10)} ${entry.url.padEnd(34)} ${entry.what}`);
  }
  if (caFile) out(`  CA         ${caFile}  (throwaway CA: trust it, e.g. curl --cacert, or check --ca)`);
  if (adminUiPasswordFile) out(`  admin UI   password in ${adminUiPasswordFile} (user ${running.model.adminUi!.username}; server URL in the UI: http://127.0.0.1:${running.model.adminUi!.port}/admin)`);
  out();
  const base = running.urls.https ?? running.urls.http;
  const extra = [
    caFile ? `--ca ${path.relative(process.cwd(), caFile)}` : "",
    running.urls.realtimePort ? `--realtime-url ${running.urls.realtimePort}` : "",
    model.app ? "" : "--no-app",
    // A second stack of one's own answers its health route, not the kit's app's PONG.
    model.app && model.app.image !== kitImage("app") ? `--app-path ${model.app.healthPath} --app-expect ''` : "",
  ].filter(Boolean);
  out(`probe it:  npx realtime-kit check ${base}${extra.length ? ` ${extra.join(" ")}` : ""}`);
  out("stop it:   Ctrl-C here, or `npx realtime-kit down` from this folder");
}
