import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { docker, removeByLabel } from "../../driver/engine";
import { freePorts } from "../../driver/ports";
import type { RunningTopology } from "../../driver/running";
import { newRunId, startTopology } from "../../driver/start";
import { KIT_LABEL } from "../../model/labels";
import { loadModel } from "../../model/load";
import type { Topology } from "../../model/topologies";

import { ARTIFACTS, closeClients, SUITE, type TopologyHandle } from "./clients";

export { ARTIFACTS, REPO, client, connectedClient, everyContainerHealthy, measure, publishedPorts, type TopologyHandle } from "./clients";

// ---------------------------------------------------------------- durations

interface Duration {
  describe: string;
  upMs: number;
  totalMs: number;
}
const durations: Duration[] = [];
const live = new Set<RunningTopology>();

// Ctrl-C during a run: mocha may never reach the after hooks, so clean up here too.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void Promise.all([...live].map((topology) => topology.stop())).finally(() => process.exit(130));
  });
}

after(function () {
  if (durations.length === 0) return;
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const byDescribe = Object.fromEntries(durations.map(({ describe, ...figures }) => [describe, figures]));
  fs.writeFileSync(path.join(ARTIFACTS, `durations.${SUITE}.json`), `${JSON.stringify(byDescribe, null, 2)}\n`);
  process.stdout.write("\n  per-describe durations (bring-up / whole describe incl. teardown):\n");
  for (const entry of durations) process.stdout.write(`    ${entry.describe.padEnd(58)} ${(entry.upMs / 1000).toFixed(1).padStart(5)} s / ${(entry.totalMs / 1000).toFixed(1).padStart(6)} s\n`);
});

// ---------------------------------------------------------------- topology per describe

/**
 * Brings `topology` up once for the enclosing describe (free high ports chosen here; a set
 * `key=auto` gets one too) and
 * removes it after, whatever happened. Host-side Socket.IO clients opened with `client()` are
 * closed after each test.
 */
export function useTopology(topology: Topology, sets: string[] = []): TopologyHandle {
  let running: RunningTopology | null = null;
  let caFile: string | null = null;
  let started = 0;
  let upMs = 0;
  const runId = newRunId("it");
  const handle: TopologyHandle = {
    get t() {
      if (!running) throw new Error("topology is not running (its before hook failed)");
      return running;
    },
    get caFile() {
      return caFile;
    },
  };

  before(async function () {
    this.timeout(300_000);
    started = Date.now();
    const tls = topology === "ssl-split" || topology === "multi-node";
    const [http, https, ...spare] = await freePorts(2 + sets.length);
    const portSets = [`ports.http=${http}`, ...(tls ? [`ports.https=${https}`] : [])];
    // `key=auto` takes another free port (e.g. ports.realtime=auto).
    const resolved = sets.map((set, index) => (set.endsWith("=auto") ? set.replace(/auto$/, String(spare[index])) : set));
    const model = loadModel({ topology, sets: [...portSets, ...resolved] });
    // Docker runs the health checks every 2 s: tests that stop or break a service see its
    // state change in seconds.
    running = await startTopology(model, { runId, healthIntervalMs: 2_000 });
    live.add(running);
    upMs = Date.now() - started;
    if (running.ca) {
      caFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "rk-it-")), "ca.pem");
      fs.writeFileSync(caFile, running.ca);
    }
  });

  afterEach(closeClients);

  after(async function () {
    this.timeout(120_000);
    await closeClients();
    if (running) {
      live.delete(running);
      await running.stop();
    } else {
      await removeByLabel(runId);
    }
    if (caFile) fs.rmSync(path.dirname(caFile), { recursive: true, force: true });
    const title = this.test?.parent?.fullTitle() ?? topology;
    durations.push({ describe: title, upMs, totalMs: Date.now() - started });
    // Nothing of the run may survive its describe.
    const filters = JSON.stringify({ label: [`${KIT_LABEL}=${runId}`] });
    const left = (await docker.listContainers({ all: true, filters })).length + (await docker.listNetworks({ filters })).length;
    if (left > 0) throw new Error(`${left} container(s)/network(s) of ${runId} survived teardown`);
  });
  return handle;
}

