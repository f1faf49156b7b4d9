import type Docker from "dockerode";
import { HAPROXY_BACKENDS } from "../render/haproxy";
import { docker } from "./engine";
import { HaproxyRuntime } from "./haproxy-runtime";
import { REPLACEMENT_SUFFIX, startReplacement } from "./replacement";
import { KIT_LABEL, SERVICE_LABEL } from "../model/labels";
import { waitFor } from "./wait";

export interface RollingRestartOptions {
  /** Nodes to replace, in this order (default: every realtime node of the run, realtime-1 first). */
  nodes?: string[];
  /** Grace Docker gives an old node to shut down (SIGTERM) before SIGKILL (s, default 10). */
  stopTimeoutS?: number;
  /** Limit for each wait: replacement healthy, old node stopped, HAProxy following (ms, default 60 s). */
  stepTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface NodeRestart {
  node: string;
  /** Sessions HAProxy had open to the old instance when the node's server was switched to the new one. */
  sessionsAtSwitch: number;
  /** Creating the new instance until its health check passes (the old one serves meanwhile). */
  replacementHealthyMs: number;
  /** When the old instance was told to stop (epoch ms): its clients stay on it until then. */
  stopSentAt: number;
  /** Stop sent until the old instance has exited (it disconnected its clients on SIGTERM; they reconnected onto new instances). */
  drainedMs: number;
  /** The whole step: new instance up, switch, old instance stopped and removed, HAProxy's server UP at the new address. */
  totalMs: number;
  /** Container ids of the old and the new instance. */
  oldId: string;
  newId: string;
}

/**
 * Rolls a deployment's realtime nodes over to new instances (a rebuilt image, a changed setting,
 * or just fresh processes) one node at a time, with one spare instance at most, so that no client
 * is moved more than once however many nodes there are:
 *
 *   1. start the node's new instance next to the old one (same settings and network alias) and
 *      wait for its health check;
 *   2. `set server realtime_pool/<node> addr <new address>` (HAProxy runtime API): the node's
 *      place in the balancing, and so its clients' stickiness, now leads to the new instance;
 *      the old instance keeps its established WebSockets;
 *   3. under cookie stickiness (leastconn), every node not replaced yet is set to drain, so a new
 *      session (a client without the cookie) never starts on an old instance that will go later.
 *      Under source stickiness nothing is drained: a client's address always hashes to the same
 *      node, whose server now leads to its new instance, and draining the others would rehash
 *      their polling clients away from their own node (to be pulled back, a second move, once it
 *      returns);
 *   4. stop the old instance gracefully (SIGTERM): the server closes its Socket.IO connections,
 *      its clients reconnect at once, onto new instances (connection state recovery restores
 *      their sessions); remove it, give the new instance its name, and wait until HAProxy's
 *      server is UP at the new address;
 *   5. on to the next node, which is made ready when its own new instance takes over.
 *
 * A rolling restart that restarted each node in place would move the first node's clients onto
 * the second, which restarts next: two reconnects for them. `runId` is the run's KIT_LABEL value
 * (a run of the local driver: the tests' or `realtime-kit up`'s).
 */
export async function rollingRestart(runId: string, options: RollingRestartOptions = {}): Promise<NodeRestart[]> {
  const log = options.log ?? (() => undefined);
  const stepTimeoutMs = options.stepTimeoutMs ?? 60_000;
  const settled = await settleInterruptedReplacements(runId);
  if (settled.length > 0) log(`${settled.join(", ")}: left by an interrupted rolling restart`);
  const services = await serviceContainers(runId);
  const haproxy = services.get("haproxy");
  if (!haproxy) throw new Error(`run ${runId} has no HAProxy: rolling restarts switch nodes through its runtime API (multi-node)`);
  const runtime = new HaproxyRuntime(haproxy);
  const backend = HAPROXY_BACKENDS.realtime;
  const known = (await runtime.servers(backend)).map((state) => state.server);
  const nodes = options.nodes ?? known;
  for (const node of nodes) {
    if (!known.includes(node) || !services.has(node)) throw new Error(`${node} is not a realtime node of run ${runId} (have ${known.join(", ")})`);
  }
  if (new Set(nodes).size !== nodes.length) throw new Error(`a node is named twice in ${nodes.join(", ")}`);
  const haproxyNetworks = Object.keys((await haproxy.inspect()).NetworkSettings.Networks);
  const drainWaiting = (await runtime.algorithm(backend)) !== "source";

  const pending = new Set(nodes);
  const drained = new Set<string>();
  const report: NodeRestart[] = [];
  try {
    for (const node of nodes) {
      const old = services.get(node)!;
      const oldInfo = await old.inspect();
      const started = Date.now();
      // Never switch a node while another one is not serving: a client cut now would have nowhere to go.
      await waitFor(async () => (await runtime.servers(backend)).every((state) => state.server === node || state.status === "UP" || state.status === "DRAIN"), {
        timeoutMs: stepTimeoutMs,
        intervalMs: 250,
        what: `every realtime node but ${node} to pass its health checks before replacing it`,
      });
      const replacement = await startReplacement(oldInfo, stepTimeoutMs);
      const network = haproxyNetworks.find((name) => replacement.addresses[name]);
      if (!network) {
        await replacement.container.remove({ force: true, v: true });
        throw new Error(`the new instance of ${node} shares no network with HAProxy`);
      }
      const current = await runtime.server(backend, node);
      const port = current.address.split(":").pop()!;
      const address = `${replacement.addresses[network]}:${port}`;
      log(`${node}: new instance ${replacement.container.id.slice(0, 12)} healthy in ${replacement.healthyMs} ms at ${address}`);

      const sessionsAtSwitch = current.sessions;
      await runtime.setAddress(backend, node, replacement.addresses[network]!, Number(port));
      pending.delete(node);
      if (drained.delete(node)) await runtime.setState(backend, node, "ready");
      for (const other of drainWaiting ? pending : []) {
        if (drained.has(other)) continue;
        await runtime.setState(backend, other, "drain");
        drained.add(other);
      }
      log(`${node}: switched to the new instance (${sessionsAtSwitch} session(s) on the old one)${drainWaiting && pending.size > 0 ? `; ${[...pending].join(", ")} drained until their turn` : ""}`);

      const stopSentAt = Date.now();
      await old.stop({ t: options.stopTimeoutS ?? 10 }).catch((error: { statusCode?: number }) => {
        if (error.statusCode !== 304) throw error; // 304: already stopped
      });
      const drainedMs = Date.now() - stopSentAt;
      log(`${node}: old instance stopped, its clients moved (${drainedMs} ms)`);
      await old.remove({ v: true });
      await replacement.container.rename({ name: oldInfo.Name.replace(/^\//, "") });
      // The old instance's DNS record is gone with it: HAProxy's resolver now agrees with the switch.
      await waitFor(async () => {
        const state = await runtime.server(backend, node);
        return state.address === address && state.status === "UP";
      }, { timeoutMs: stepTimeoutMs, intervalMs: 100, what: `HAProxy's ${node} to be UP at ${address}` });
      const totalMs = Date.now() - started;
      log(`${node}: done (step ${totalMs} ms)`);
      report.push({ node, sessionsAtSwitch, replacementHealthyMs: replacement.healthyMs, stopSentAt, drainedMs, totalMs, oldId: oldInfo.Id, newId: replacement.container.id });
    }
  } catch (error) {
    // Leave no node drained by us: a failed step must not shrink the pool for good.
    for (const node of drained) await runtime.setState(backend, node, "ready").catch(() => undefined);
    throw error;
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

/**
 * Finishes what an interrupted rolling restart left: a new instance that never took over (its
 * old instance still exists) is removed; one whose old instance is already gone is the node now
 * and gets the node's name. Either way the run has one container per service again.
 */
async function settleInterruptedReplacements(runId: string): Promise<string[]> {
  const filters = JSON.stringify({ label: [`${KIT_LABEL}=${runId}`, SERVICE_LABEL] });
  const all = await docker.listContainers({ all: true, filters });
  const done: string[] = [];
  for (const info of all.filter((one) => one.Names[0]!.endsWith(REPLACEMENT_SUFFIX))) {
    const name = info.Names[0]!.replace(/^\//, "");
    const service = info.Labels[SERVICE_LABEL];
    if (all.some((other) => other.Id !== info.Id && other.Labels[SERVICE_LABEL] === service)) {
      await docker.getContainer(info.Id).remove({ force: true, v: true });
      done.push(`removed ${name}`);
    } else {
      await docker.getContainer(info.Id).rename({ name: name.slice(0, -REPLACEMENT_SUFFIX.length) });
      done.push(`renamed ${name}`);
    }
  }
  return done;
}
