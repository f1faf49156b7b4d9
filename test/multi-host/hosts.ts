import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import type { DeploymentEngines } from "../../driver/hosts";
import { KIT_LABEL } from "../../model/labels";

/**
 * The test hosts of test-hosts.sh (network namespaces of this machine, each with its own address
 * and its own dockerd), for the suites that deploy over several machines: multi-host and faults.
 */
const SCRIPT = path.join(__dirname, "test-hosts.sh");
export const TEST_HOSTS_STATE = process.env.RK_TEST_HOSTS_DIR ?? "/var/tmp/realtime-kit-test-hosts";
/** multi-node placed over the hosts: the edge and Redis on `edge`, the pools on `node2` and `node3`. */
export const THREE_HOSTS_CONFIG = path.join(TEST_HOSTS_STATE, "three-hosts.yaml");
/** The edge host's private address: the entry ports are published on it. */
export const EDGE_ADDRESS = "10.213.0.11";
/** Addresses of this machine on the hosts' network, one per client that must come from its own source. */
export const CLIENT_ADDRESSES = Array.from({ length: 8 }, (_, index) => `10.213.0.${101 + index}`);

/** Runs test-hosts.sh; returns its log, or throws with it. */
export function testHosts(command: "start" | "stop"): string {
  const result = spawnSync(SCRIPT, [command], { encoding: "utf8", timeout: 600_000 });
  if (result.status !== 0) throw new Error(`test-hosts.sh ${command} failed (${result.status ?? result.signal}):\n${result.stderr}${result.stdout}`);
  return result.stderr;
}

/**
 * Brings the test hosts up before the enclosing describe (telling `onStarted` how long that took)
 * and tears them down after it. The ssh client takes the test key from the script's agent.
 */
export function useTestHosts(onStarted: (ms: number) => void = () => undefined): void {
  before(function () {
    this.timeout(600_000);
    const started = Date.now();
    process.stdout.write(testHosts("start").replace(/^/gm, "      "));
    onStarted(Date.now() - started);
    for (const line of fs.readFileSync(path.join(TEST_HOSTS_STATE, "env"), "utf8").split("\n")) {
      const [key, value] = line.split("=");
      if (key && value) process.env[key] = value;
    }
  });
  after(function () {
    this.timeout(120_000);
    testHosts("stop");
  });
}

/**
 * Cuts (or restores) a host's only link, the veth from its namespace to the bridge: to the others
 * the machine is gone, with nothing on it told, as when a machine loses power or its network.
 */
export function setHostLink(host: string, state: "down" | "up"): void {
  const result = spawnSync("ip", ["link", "set", `rkth-${host}`, state], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`ip link set rkth-${host} ${state}: ${result.stderr}`);
}

/** What is left of a run on each of its engines: containers, networks and volumes carrying its label, by machine. */
export async function leftovers(engines: DeploymentEngines, runId: string): Promise<Record<string, number>> {
  const filters = JSON.stringify({ label: [`${KIT_LABEL}=${runId}`] });
  const counts: Record<string, number> = {};
  for (const { name, engine } of engines.all()) {
    const [containers, networks, volumes] = await Promise.all([engine.listContainers({ all: true, filters }), engine.listNetworks({ filters }), engine.listVolumes({ filters })]);
    counts[name] = containers.length + networks.length + (volumes.Volumes ?? []).length;
  }
  return counts;
}
