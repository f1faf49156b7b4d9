import fs from "node:fs";
import path from "node:path";
import type { Socket } from "socket.io-client";
import { docker } from "../../driver/engine";
import { waitHealthy } from "../../driver/health";
import type { RunningTopology } from "../../driver/running";
import { connect, connected, type ClientOptions } from "../../driver/socket-client";
import { KIT_LABEL, SERVICE_LABEL } from "../../model/labels";

/**
 * What the live suites use against any running deployment (whatever driver made it): host-side
 * clients, published ports, health, figures. No mocha hooks here: suites register their own.
 */

export const REPO = path.resolve(__dirname, "..", "..");
export const ARTIFACTS = path.join(REPO, "test", "artifacts");

export interface TopologyHandle {
  /** The running deployment (valid inside the describe's tests). */
  readonly t: RunningTopology;
  /** PEM file of the deployment's CA, for the CLI's --ca. */
  readonly caFile: string | null;
}

const openClients = new Set<Socket>();

/** A Socket.IO client from this machine (through the published ports), closed after the test. */
export function client(options: ClientOptions): Socket {
  const socket = connect(options);
  openClients.add(socket);
  return socket;
}

/** Connects and waits for the connection (rejects with the connect_error). */
export async function connectedClient(options: ClientOptions): Promise<Socket> {
  const socket = client(options);
  await connected(socket, options.timeoutMs ?? 15_000);
  return socket;
}

export async function closeClients(): Promise<void> {
  for (const socket of openClients) socket.disconnect();
  openClients.clear();
}

/**
 * The suite this process runs, named by the npm script that runs it (test:integration ->
 * integration): its figures files carry the name, so one suite's run never erases another's.
 */
export const SUITE = (process.env.npm_lifecycle_event ?? "adhoc").replace(/^test:/, "");
const MEASUREMENTS = path.join(ARTIFACTS, `measurements.${SUITE}.json`);
let measuredThisRun = false;

/** Records a measured figure for the report (this run's figures only) and prints it. */
export function measure(name: string, value: number, unit = "ms", note = ""): void {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  let all: Record<string, unknown> = {};
  if (measuredThisRun) all = JSON.parse(fs.readFileSync(MEASUREMENTS, "utf8")) as Record<string, unknown>;
  measuredThisRun = true;
  all[name] = { value, unit, note, at: new Date().toISOString() };
  fs.writeFileSync(MEASUREMENTS, `${JSON.stringify(all, null, 2)}\n`);
  process.stdout.write(`      measured: ${name} = ${value} ${unit}${note ? ` (${note})` : ""}\n`);
}

/** Published host ports of every container of a run, from the engine (not from the plan). */
export async function publishedPorts(runId: string): Promise<{ service: string; hostIp: string; hostPort: number; containerPort: number }[]> {
  const filters = JSON.stringify({ label: [`${KIT_LABEL}=${runId}`] });
  const containers = await docker.listContainers({ all: true, filters });
  const result: { service: string; hostIp: string; hostPort: number; containerPort: number }[] = [];
  for (const info of containers) {
    const inspect = await docker.getContainer(info.Id).inspect();
    for (const [key, bindings] of Object.entries(inspect.NetworkSettings.Ports ?? {})) {
      for (const binding of bindings ?? []) {
        result.push({ service: info.Labels[SERVICE_LABEL] ?? info.Names[0]!, hostIp: binding.HostIp, hostPort: Number(binding.HostPort), containerPort: Number(key.split("/")[0]) });
      }
    }
  }
  return result;
}

/** Every container of the plan running, healthy by its own HEALTHCHECK (waits out a check in flight). */
export async function everyContainerHealthy(t: RunningTopology): Promise<void> {
  for (const spec of t.deployment.services) {
    await waitHealthy(await t.engineContainer(spec.name), `${spec.name} healthy`, 30_000, 300);
  }
}
