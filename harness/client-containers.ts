import type { StartedTestContainer } from "testcontainers";
import { docker, logsOf } from "../driver/engine";
import type { FileContent, RunningTopology } from "../driver/running";
import { waitFor } from "../driver/wait";
import { clientAgentBundle } from "./client-bundle";
import type { HoldSpec, RoundtripReport, RoundtripSpec } from "./client/agent";

/** Where client containers find the agent bundle and the CA. */
const KIT_DIR = "/kit";

export interface ClientContainerOptions {
  /** Name suffix (container `rk-<run>-<name>`, network alias `<name>`); default client-<n>. */
  name?: string;
  /** Run this hold-mode agent as the container's main process (killing the container kills the client). */
  hold?: Omit<HoldSpec, "mode" | "ca">;
}

export interface HoldEvent {
  event: "connected" | "disconnect" | "connect_error" | "error" | "chat" | "history" | "backend";
  /** backend: HTTP status of the request through the front door. */
  status?: number;
  at: number;
  /** connected: the node; chat: the node that accepted the message. */
  node?: string;
  /** connected: the node's instance (container) that serves the client. */
  instance?: string;
  /** chat: message id and text; history: ids of the messages received on connect. */
  id?: string;
  text?: string;
  ids?: string[];
  sid?: string;
  transport?: string;
  reason?: string;
  error?: string;
}

/** A container on the deployment's network that runs Socket.IO clients from its own address. */
export class ClientContainer {
  constructor(
    private readonly topology: RunningTopology,
    readonly name: string,
    readonly container: StartedTestContainer,
    /** Its address on the deployment's network: what the proxies see as the client's source. */
    readonly address: string,
  ) {}

  /** Runs `clients` concurrent Socket.IO clients with `rounds` echo round trips each, from this container. */
  async roundtrips(spec: Omit<RoundtripSpec, "mode" | "ca">): Promise<RoundtripReport> {
    const full: RoundtripSpec = { mode: "roundtrips", ...spec, ...(this.topology.ca ? { ca: this.topology.ca } : {}) };
    const result = await this.container.exec(["node", `${KIT_DIR}/agent.js`, JSON.stringify(full)]);
    const line = result.stdout.split("\n").find((text) => text.startsWith('{"report"'));
    if (result.exitCode !== 0 || !line) throw new Error(`client agent in ${this.name} failed (exit ${result.exitCode}): ${result.output.slice(-2000)}`);
    return (JSON.parse(line) as { report: RoundtripReport }).report;
  }

  /** Runs `node -e script args...` in this container; resolves with its stdout (rejects on a non-zero exit). */
  async node(script: string, args: string[] = []): Promise<string> {
    const result = await this.container.exec(["node", "-e", script, ...args]);
    if (result.exitCode !== 0) throw new Error(`node in ${this.name} exited ${result.exitCode}: ${result.output.slice(-2000)}`);
    return result.stdout;
  }

  /** Events printed so far by a hold-mode agent. */
  async events(): Promise<HoldEvent[]> {
    const output = await logsOf(docker.getContainer(this.container.getId()));
    return output
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as HoldEvent);
  }

  /** SIGKILL: the process dies at once; its kernel still closes the TCP connections (FIN). */
  async kill(): Promise<void> {
    await docker.getContainer(this.container.getId()).kill({ signal: "SIGKILL" });
  }

  /**
   * Takes the container off the network: its connections vanish without FIN or RST, the way a
   * client on a dead Wi-Fi or a sleeping laptop disappears. Only heartbeats can detect it.
   */
  async cutNetwork(): Promise<void> {
    await docker.getNetwork(this.topology.networkName).disconnect({ Container: this.container.getId(), Force: true });
  }

  async remove(): Promise<void> {
    await docker.getContainer(this.container.getId()).remove({ force: true });
  }
}

/** Unnamed client containers started so far per deployment, for the default names client-1, client-2, ... */
const clientCounts = new WeakMap<RunningTopology, number>();

function nextClientName(topology: RunningTopology): string {
  const count = (clientCounts.get(topology) ?? 0) + 1;
  clientCounts.set(topology, count);
  return `client-${count}`;
}

/**
 * A client container on the deployment's network, from the realtime image (it has node), with
 * the client agent and the CA copied in. Each one is a distinct source address for the proxies.
 */
export async function startClientContainer(topology: RunningTopology, options: ClientContainerOptions = {}): Promise<ClientContainer> {
  const name = options.name ?? nextClientName(topology);
  const files: FileContent[] = [{ content: clientAgentBundle(), target: `${KIT_DIR}/agent.js`, mode: 0o644 }];
  if (topology.ca) files.push({ content: topology.ca, target: `${KIT_DIR}/ca.pem`, mode: 0o644 });
  const command = options.hold
    ? ["node", `${KIT_DIR}/agent.js`, JSON.stringify({ mode: "hold", ...options.hold, ...(topology.ca ? { ca: topology.ca } : {}) })]
    : ["sleep", "infinity"];
  const container = await topology.startPeerContainer(name, command, files);
  return new ClientContainer(topology, name, container, container.getIpAddress(topology.networkName));
}

/** Waits until `node` reports `sid` gone (or connected, with `present`), polling its /stats/sockets. */
export async function waitSocketState(topology: RunningTopology, node: string, sid: string, present: boolean, timeoutMs: number): Promise<number> {
  const started = Date.now();
  await waitFor(async () => (await topology.socketConnected(node, sid)) === present, {
    timeoutMs,
    intervalMs: 200,
    what: `socket ${sid} to be ${present ? "connected on" : "gone from"} ${node}`,
  });
  return Date.now() - started;
}
