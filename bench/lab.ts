import crypto from "node:crypto";
import type Docker from "dockerode";
import { docker, removeByLabel } from "../driver/engine";
import { waitHealthy } from "../driver/health";
import { freePorts } from "../driver/ports";
import type { RunningTopology } from "../driver/running";
import { startTopology } from "../driver/start";
import { startClientContainer, type ClientContainer } from "../harness/client-containers";
import { KIT_LABEL } from "../model/labels";
import { INTERNAL_PORTS } from "../model/layout";
import { loadModel } from "../model/load";
import { TOPOLOGIES, type Topology } from "../model/topologies";
import { benchAgentBundle } from "./agent-bundle";
import type { BenchSpec } from "./agent/main";
import type { EdgeContainer } from "./measure/edge-cpu";

/** Every run id of the bench starts with this, so leftovers of an interrupted run can be found. */
export const BENCH_PREFIX = "rkb-";
const AGENT = "/kit/bench.js";
const CONTROL_PORT = 9100;

/**
 * Settings every bench deployment gets. HAProxy's per-address connection-rate limit (a defence
 * against one abusive client) would refuse a load generator that is, by design, one address
 * opening thousands of connections.
 */
export const BENCH_SETS = ["limits.connectionRatePerClient=100000"];

/** One deployment under test. */
export interface Variant {
  key: string;
  topology: Topology;
  sets: string[];
  /** What the table calls it. */
  title: string;
}

export const VARIANTS: Variant[] = [
  { key: "single", topology: "single", sets: [], title: "single (Node only)" },
  { key: "node-proxy", topology: "node-proxy", sets: [], title: "node-proxy (Node in front)" },
  { key: "ssl-split", topology: "ssl-split", sets: [], title: "ssl-split (stunnel -> HAProxy)" },
  { key: "ssl-split-haproxy-tls", topology: "ssl-split", sets: ["tls.terminator=haproxy"], title: "ssl-split (HAProxy TLS)" },
  { key: "multi-node", topology: "multi-node", sets: [], title: "multi-node (stunnel -> HAProxy -> 2 nodes + Redis)" },
  { key: "multi-node-haproxy-tls", topology: "multi-node", sets: ["tls.terminator=haproxy"], title: "multi-node (HAProxy TLS -> 2 nodes + Redis)" },
];

export interface Deployed {
  variant: Variant;
  t: RunningTopology;
  /** Time from the call to every service healthy (images already built). */
  upMs: number;
  /** The client container that runs measurements on the deployment's network. */
  probe: BenchClient;
  /** Socket.IO URL of the entry point as seen inside the network (through every proxy). */
  entry: string;
  /** Socket.IO URL of realtime-1 itself (the baseline: no proxy). */
  direct: string;
}

/** Owner of everything the bench starts: each deployment has its own run id under one prefix. */
export class Lab {
  readonly id = `${BENCH_PREFIX}${crypto.randomBytes(3).toString("hex")}`;
  private readonly runIds = new Set<string>();
  private closed = false;

  async up(variant: Variant, log: (line: string) => void): Promise<Deployed> {
    const runId = `${this.id}-${variant.key}`;
    this.runIds.add(runId);
    if (this.closed) throw new Error("the bench is stopping");
    const [http, https] = await freePorts(2);
    const ports = [`ports.http=${http}`, ...(TOPOLOGIES[variant.topology].tls ? [`ports.https=${https}`] : [])];
    const model = loadModel({ topology: variant.topology, sets: [...ports, ...BENCH_SETS, ...variant.sets] });
    const started = Date.now();
    const t = await startTopology(model, { runId });
    const upMs = Date.now() - started;
    log(`${variant.key}: up in ${(upMs / 1000).toFixed(1)} s`);
    const probe = await BenchClient.start(t, "probe");
    return { variant, t, upMs, probe, entry: t.internalUrls.realtime, direct: `http://${t.realtimeNodes[0]}:${INTERNAL_PORTS.realtime}` };
  }

  /** Removes one deployment; resolves with the time it took. */
  async down(deployed: Deployed): Promise<number> {
    const started = Date.now();
    await deployed.t.stop();
    this.runIds.delete(deployed.t.runId);
    return Date.now() - started;
  }

  /** Removes everything of this run (also what a failed start left); nothing new starts after. */
  async cleanup(): Promise<void> {
    this.closed = true;
    const remove = () => Promise.all([...this.runIds].map((runId) => removeByLabel(runId).catch(() => undefined)));
    await remove();
    // A measurement interrupted by a signal may have been starting a client container: a second pass.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await remove();
    this.runIds.clear();
  }
}

/** Removes containers and networks of earlier bench runs that never got to clean up. */
export async function removeLeftovers(): Promise<number> {
  const filters = JSON.stringify({ label: [KIT_LABEL] });
  const [containers, networks] = await Promise.all([docker.listContainers({ all: true, filters }), docker.listNetworks({ filters })]);
  const ids = new Set([...containers, ...networks].map((item) => item.Labels?.[KIT_LABEL] ?? "").filter((id) => id.startsWith(BENCH_PREFIX)));
  for (const id of ids) await removeByLabel(id);
  return ids.size;
}

/** A client container on a deployment's network running the bench agent (bench/agent). */
export class BenchClient {
  private constructor(readonly client: ClientContainer) {}

  static async start(t: RunningTopology, name: string): Promise<BenchClient> {
    const client = await startClientContainer(t, { name });
    await client.container.copyContentToContainer([{ content: benchAgentBundle(), target: AGENT, mode: 0o644 }]);
    return new BenchClient(client);
  }

  /** Runs one bounded measurement and returns the agent's report. */
  async run<T>(spec: BenchSpec, timeoutMs: number): Promise<T> {
    const exec = this.client.container.exec(["node", AGENT, JSON.stringify(spec)]);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`bench agent (${spec.mode}) in ${this.client.name} took over ${timeoutMs} ms`)), timeoutMs)));
    try {
      const result = await Promise.race([exec, timeout]);
      const line = result.stdout.split("\n").find((text) => text.startsWith('{"report"'));
      if (result.exitCode !== 0 || !line) throw new Error(`bench agent (${spec.mode}) in ${this.client.name} failed (exit ${result.exitCode}): ${result.output.slice(-1500)}`);
      return (JSON.parse(line) as { report: T }).report;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Whether a Socket.IO handshake (polling) through `url` answers 200 now, from this client container. */
  async handshakeAnswers(url: string, ca: string): Promise<boolean> {
    const script =
      "require('https').get(process.argv[1] + '/socket.io/?EIO=4&transport=polling', { ca: process.argv[2], timeout: 3000 }, (res) => process.exit(res.statusCode === 200 ? 0 : 1)).on('error', () => process.exit(1))";
    const result = await this.client.container.exec(["node", "-e", script, url, ca]);
    return result.exitCode === 0;
  }

  /** Whether a file exists in this client container (an agent's signal that it is ready). */
  async hasFile(file: string): Promise<boolean> {
    return (await this.client.container.exec(["test", "-f", file])).exitCode === 0;
  }

  /** Starts the hold-many agent in the background (it lives as long as the container). */
  async startHolding(url: string, ca: string | null, concurrency: number): Promise<void> {
    const spec: BenchSpec = { mode: "hold-many", url, transports: ["websocket"], controlPort: CONTROL_PORT, concurrency, timeoutMs: 45_000, ...(ca ? { ca } : {}) };
    const exec = await docker.getContainer(this.client.container.getId()).exec({ Cmd: ["node", AGENT, JSON.stringify(spec)], AttachStdout: false, AttachStderr: false });
    await exec.start({ Detach: true });
  }

  /** Asks the hold-many agent for `total` connections; resolves with what it holds then. */
  async holdTotal(total: number, budgetMs: number): Promise<HoldStatus> {
    const script =
      "const u=process.argv[1];const go=n=>fetch(u).then(r=>r.text()).then(t=>process.stdout.write(t),e=>n>0?setTimeout(()=>go(n-1),250):(process.stderr.write(String(e)),process.exit(3)));go(40)";
    const out = await this.client.node(script, [`http://127.0.0.1:${CONTROL_PORT}/grow?total=${total}&budgetMs=${budgetMs}`]);
    return JSON.parse(out) as HoldStatus;
  }

  async remove(): Promise<void> {
    await this.client.remove();
  }
}

export interface HoldStatus {
  held: number;
  lost: number;
  failed?: number;
  errors: string[];
  ms?: number;
}

/** Where a container's memory is, from its cgroup (bytes). */
export interface MemoryDetail {
  /** What `docker stats` shows: cgroup usage minus inactive page cache. */
  accounted: number;
  /** The processes' own (anonymous) memory: Node's heap, buffers, native objects. */
  process: number;
  /** Page cache still counted (the program's files in use). */
  activeCache: number;
  /** The rest of the usage: kernel objects charged to the cgroup (socket structures among them). */
  kernel: number;
}

export async function containerMemory(t: RunningTopology, service: string): Promise<MemoryDetail> {
  return memoryOf(await t.engineContainer(service));
}

export async function memoryOf(container: Docker.Container): Promise<MemoryDetail> {
  const stats = (await container.stats({ stream: false })) as unknown as {
    memory_stats: { usage?: number; stats?: Record<string, number> };
  };
  const usage = stats.memory_stats.usage ?? 0;
  const counters = stats.memory_stats.stats ?? {};
  // cgroup v1 names (total_*), cgroup v2 names otherwise.
  const inactive = counters.total_inactive_file ?? counters.inactive_file ?? 0;
  const anon = counters.total_rss ?? counters.anon ?? 0;
  const cache = counters.total_cache ?? counters.file ?? 0;
  return { accounted: usage - inactive, process: anon, activeCache: cache - inactive, kernel: Math.max(0, usage - anon - cache) };
}

/**
 * Restarts a service's container and waits for its health check: a node measured from a fresh
 * start, not one whose heap grew under an earlier measurement.
 */
export async function restartFresh(t: RunningTopology, service: string, timeoutMs = 60_000): Promise<void> {
  const container = await t.engineContainer(service);
  await container.restart({ t: 10 });
  await waitHealthy(container, `${service} to be healthy after its restart`, timeoutMs);
}

/**
 * The kit's containers on the entry path to the realtime nodes: the TLS terminator and the balancer
 * (stunnel, HAProxy); none where the entry is a realtime node itself (single, node-proxy).
 */
export async function entryEdge(t: RunningTopology): Promise<EdgeContainer[]> {
  const onPath = t.deployment.services.filter((service) => service.role === "haproxy" || service.role === "stunnel");
  return Promise.all(onPath.map(async (service) => ({ name: service.name, container: await t.engineContainer(service.name) })));
}
