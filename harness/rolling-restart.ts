import type Docker from "dockerode";
import { HAPROXY_BACKENDS } from "../configs/haproxy";
import { KIT_LABEL } from "../model/layout";
import { docker } from "./engine";
import { HaproxyRuntime } from "./haproxy-runtime";
import { SERVICE_LABEL } from "./topology";
import { waitFor } from "./wait";

export interface RollingRestartOptions {
  /** Nodes to restart, in this order (default: every realtime node of the run, realtime-1 first). */
  nodes?: string[];
  /** How long a drained node may keep sessions that end by themselves before it is stopped (ms, default 0). */
  drainWaitMs?: number;
  /** Grace Docker gives the node to shut down (SIGTERM) before SIGKILL (s, default 10). */
  stopTimeoutS?: number;
  /** Limit for each wait: sessions gone, node healthy, HAProxy seeing it (ms, default 60 s). */
  stepTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface NodeRestart {
  node: string;
  /** Sessions HAProxy had open to the node when it was set to drain. */
  sessionsAtDrain: number;
  /** Drain until HAProxy has no session left to it (the node disconnected its clients on SIGTERM; they reconnected elsewhere). */
  drainedMs: number;
  /** Start until HAProxy's health check passes again (it stays in drain meanwhile). */
  healthyMs: number;
  /** The whole step: drain, stop, start, healthy, ready. */
  totalMs: number;
}

/**
 * Restarts a deployment's realtime nodes one at a time, the way an operator rolls out a new
 * image or config without taking the service down:
 *
 *   1. `set server realtime_pool/<node> state drain` (HAProxy runtime API): no new session goes
 *      to the node (a reconnecting client is balanced onto the others);
 *   2. optionally wait `drainWaitMs` for its sessions to end by themselves;
 *   3. stop it gracefully (SIGTERM): the server closes its Socket.IO connections, so its clients
 *      reconnect at once, to another node; wait until HAProxy counts no session to it;
 *   4. start it, wait until HAProxy's health check passes (the node is still in drain);
 *   5. `set server ... state ready`, and on to the next node.
 *
 * `runId` is the run's KIT_LABEL value (a harness run or `realtime-kit up`).
 */
export async function rollingRestart(runId: string, options: RollingRestartOptions = {}): Promise<NodeRestart[]> {
  const log = options.log ?? (() => undefined);
  const stepTimeoutMs = options.stepTimeoutMs ?? 60_000;
  const services = await serviceContainers(runId);
  const haproxy = services.get("haproxy");
  if (!haproxy) throw new Error(`run ${runId} has no HAProxy: rolling restarts drain nodes through its runtime API (multi-node)`);
  const runtime = new HaproxyRuntime(haproxy);
  const backend = HAPROXY_BACKENDS.realtime;
  const known = (await runtime.servers(backend)).map((state) => state.server);
  const nodes = options.nodes ?? known;
  for (const node of nodes) {
    if (!known.includes(node) || !services.has(node)) throw new Error(`${node} is not a realtime node of run ${runId} (have ${known.join(", ")})`);
  }
  if (nodes.length > 0 && known.length < 2) throw new Error("a rolling restart needs at least 2 realtime nodes: the others carry the clients while one restarts");

  const report: NodeRestart[] = [];
  for (const node of nodes) {
    const container = services.get(node)!;
    const started = Date.now();
    // Never take a node out while another is not serving: its clients would have nowhere to go.
    await waitFor(async () => (await runtime.servers(backend)).every((state) => state.server === node || state.status === "UP"), {
      timeoutMs: stepTimeoutMs,
      intervalMs: 250,
      what: `every realtime node but ${node} to be UP before draining it`,
    });
    const sessionsAtDrain = (await runtime.server(backend, node)).sessions;
    await runtime.setState(backend, node, "drain");
    log(`${node}: drain (${sessionsAtDrain} session(s) open)`);
    try {
      if (options.drainWaitMs) {
        await waitFor(async () => (await runtime.server(backend, node)).sessions === 0, { timeoutMs: options.drainWaitMs, intervalMs: 250, what: "" }).catch(() => undefined);
      }
      await container.stop({ t: options.stopTimeoutS ?? 10 }).catch((error: { statusCode?: number }) => {
        if (error.statusCode !== 304) throw error; // 304: already stopped
      });
      await waitFor(async () => (await runtime.server(backend, node)).sessions === 0, { timeoutMs: stepTimeoutMs, intervalMs: 100, what: `HAProxy to have no session left to ${node}` });
      const drainedMs = Date.now() - started;
      log(`${node}: stopped, its sessions moved (${drainedMs} ms)`);
      const starting = Date.now();
      await container.start();
      await waitFor(async () => (await runtime.server(backend, node)).status === "DRAIN", {
        timeoutMs: stepTimeoutMs,
        intervalMs: 100,
        what: `HAProxy's health check of ${node} to pass (status DRAIN)`,
      });
      const healthyMs = Date.now() - starting;
      await runtime.setState(backend, node, "ready");
      await waitFor(async () => (await runtime.server(backend, node)).status === "UP", { timeoutMs: stepTimeoutMs, intervalMs: 100, what: `${node} to be UP` });
      const totalMs = Date.now() - started;
      log(`${node}: healthy in ${healthyMs} ms, ready (step ${totalMs} ms)`);
      report.push({ node, sessionsAtDrain, drainedMs, healthyMs, totalMs });
    } catch (error) {
      // Leave no node drained by us: a failed step must not shrink the pool for good.
      await runtime.setState(backend, node, "ready").catch(() => undefined);
      throw error;
    }
  }
  return report;
}

/** The run's service containers by service name (`haproxy`, `realtime-1`, ...). */
async function serviceContainers(runId: string): Promise<Map<string, Docker.Container>> {
  const filters = JSON.stringify({ label: [`${KIT_LABEL}=${runId}`, SERVICE_LABEL] });
  const containers = await docker.listContainers({ all: true, filters });
  if (containers.length === 0) throw new Error(`no containers of run ${runId} on this Docker engine`);
  return new Map(containers.map((info) => [info.Labels[SERVICE_LABEL]!, docker.getContainer(info.Id)]));
}
