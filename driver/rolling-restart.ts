import type Docker from "dockerode";
import { HAPROXY_BACKENDS } from "../render/haproxy";
import { planDeployment } from "../render/deployment";
import { INTERNAL_PORTS, CROSS_HOST_PORTS } from "../model/layout";
import type { Model } from "../model/model";
import { realtimeMembers, withRealtimeNodeOnOtherPorts } from "../plan/names";
import { fileVolumesOf, volumeNames } from "../plan/volumes";
import { HaproxyRuntime } from "./haproxy-runtime";
import { execIn } from "./exec";
import { DeploymentEngines } from "./hosts";
import { portBindings } from "./kit-container";
import { REPLACEMENT_SUFFIX, startReplacement } from "./replacement";
import { KIT_LABEL, SERVICE_LABEL } from "../model/labels";
import { providerUploadArchive } from "./volumes";
import { waitFor } from "./wait";

export interface RollingRestartOptions {
  /** Nodes to replace, in this order (default: every realtime node of the run, realtime-1 first). */
  nodes?: string[];
  /** Grace Docker gives an old node to shut down (SIGTERM) before SIGKILL (s, default 10). */
  stopTimeoutS?: number;
  /** Limit for each wait: replacement healthy, old node stopped, HAProxy following (ms, default 60 s). */
  stepTimeoutMs?: number;
  /**
   * The model the run was started from (`up` records it). Required for a run over several hosts:
   * a node on another machine than the edge is reached at a port its machine publishes, which its
   * new instance cannot take while the old one holds it (see the cross-host steps below).
   */
  model?: Model;
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
 *
 * Over several hosts, a node on another machine than the edge is reached at the cross-host port
 * its machine publishes, which the old instance holds until it stops: the new instance publishes
 * on the other port of the node's pair (CROSS_HOST_PORTS), HAProxy's server is pointed at that
 * port, and once every node is done the configuration files that name the ports (haproxy.cfg,
 * prometheus.yml) are rewritten to say what now runs, so a later reload keeps it. Which port of
 * its pair each node is on is read from its container, so an interrupted restart is settled by the next.
 */
export async function rollingRestart(runId: string, options: RollingRestartOptions = {}): Promise<NodeRestart[]> {
  const log = options.log ?? (() => undefined);
  const stepTimeoutMs = options.stepTimeoutMs ?? 60_000;
  const placement = options.model?.placement ?? null;
  const engines = new DeploymentEngines(placement?.hosts ?? null);
  const settled = await settleInterruptedReplacements(runId, engines);
  if (settled.length > 0) log(`${settled.join(", ")}: left by an interrupted rolling restart`);
  const services = await serviceContainers(runId, engines);
  const haproxy = services.get("haproxy")?.container;
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
  // Over several hosts: the model as the nodes' containers now publish, and as it was before this restart.
  const before = placement ? await modelAsRunning(options.model!, services) : null;
  let current = before;

  const pending = new Set(nodes);
  const drained = new Set<string>();
  const report: NodeRestart[] = [];
  try {
    for (const node of nodes) {
      const { container: old, engine } = services.get(node)!;
      const oldInfo = await old.inspect();
      const started = Date.now();
      // Never switch a node while another one is not serving: a client cut now would have nowhere to go.
      await waitFor(async () => (await runtime.servers(backend)).every((state) => state.server === node || state.status === "UP" || state.status === "DRAIN"), {
        timeoutMs: stepTimeoutMs,
        intervalMs: 250,
        what: `every realtime node but ${node} to pass its health checks before replacing it`,
      });
      const member = current ? realtimeMembers(current).find((candidate) => candidate.name === node)! : null;
      const next = current && member?.crossHost ? withRealtimeNodeOnOtherPorts(current, node) : null;
      let replacement: Awaited<ReturnType<typeof startReplacement>>;
      let ip: string;
      let port: number;
      if (next) {
        // On another machine: the new instance publishes on the other port of the node's pair, and HAProxy follows it there.
        const spec = planDeployment(next).services.find((service) => service.name === node)!;
        replacement = await startReplacement(engine, oldInfo, stepTimeoutMs, portBindings("127.0.0.1", spec.publish));
        const nextMember = realtimeMembers(next).find((candidate) => candidate.name === node)!;
        [ip, port] = [nextMember.crossHost!.address, nextMember.crossHost!.port];
      } else {
        replacement = await startReplacement(engine, oldInfo, stepTimeoutMs);
        const network = haproxyNetworks.find((name) => replacement.addresses[name]);
        if (!network) {
          await replacement.container.remove({ force: true, v: true });
          throw new Error(`the new instance of ${node} shares no network with HAProxy`);
        }
        [ip, port] = [replacement.addresses[network]!, Number((await runtime.server(backend, node)).address.split(":").pop())];
      }
      const address = `${ip}:${port}`;
      log(`${node}: new instance ${replacement.container.id.slice(0, 12)} healthy in ${replacement.healthyMs} ms at ${address}`);

      const sessionsAtSwitch = (await runtime.server(backend, node)).sessions;
      await runtime.setAddress(backend, node, ip, port);
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
      services.set(node, { container: replacement.container, engine });
      if (next) current = next;
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
  } finally {
    // Across hosts: the files that name the nodes' ports say what runs now, even after a failed step.
    if (before) await rewritePortFiles(runId, await modelAsRunning(options.model!, services), services, runtime, stepTimeoutMs, log);
  }
  return report;
}

/** A service's container and the engine of the machine it runs on. */
interface PlacedContainer {
  container: Docker.Container;
  engine: Docker;
}

/**
 * The model with each realtime node on the port of its pair its container publishes now (a
 * rolling restart across hosts leaves some on the alternate ports).
 */
async function modelAsRunning(model: Model, services: Map<string, PlacedContainer>): Promise<Model> {
  const onAlternate: string[] = [];
  for (const member of realtimeMembers({ ...model, placement: { ...model.placement!, realtimeOnAlternatePorts: [] } })) {
    if (!member.crossHost) continue;
    const placed = services.get(member.name);
    if (!placed) continue;
    const bindings = ((await placed.container.inspect()).HostConfig.PortBindings ?? {}) as Docker.PortMap;
    const hostPorts = ((bindings[`${INTERNAL_PORTS.realtime}/tcp`] ?? []) as { HostPort?: string }[]).map((binding) => Number(binding.HostPort));
    if (hostPorts.includes(CROSS_HOST_PORTS.realtimeAlternateBase + member.number)) onAlternate.push(member.name);
  }
  return { ...model, placement: { ...model.placement!, realtimeOnAlternatePorts: onAlternate.sort() } };
}

/**
 * Makes the generated files that name the nodes' cross-host ports (those that differ between every
 * node on its first port and every node on its second) say what `now` runs: each one whose content
 * in its service's container differs is copied into the service's volume, through the seed
 * container `up` left, as a second delivery does. When haproxy.cfg changed, waits until HAProxy
 * runs it: a new worker (the image's watcher reloads it) with every realtime server UP. The other
 * images' watchers apply theirs (Prometheus re-reads its targets).
 */
async function rewritePortFiles(runId: string, now: Model, services: Map<string, PlacedContainer>, runtime: HaproxyRuntime, timeoutMs: number, log: (line: string) => void): Promise<void> {
  const remote = realtimeMembers(now).filter((member) => member.crossHost).map((member) => member.name);
  const [first, second] = [[], remote].map((onAlternate) => planDeployment({ ...now, placement: { ...now.placement!, realtimeOnAlternatePorts: onAlternate } }).files);
  const portFiles = new Set(Object.keys(first).filter((file) => first[file as keyof typeof first] !== second[file as keyof typeof second]));
  const plan = planDeployment(now);
  // Read before anything is written: the watcher may reload HAProxy before the last copy returns.
  const workerBefore = (await runtime.info()).Pid;
  const rewritten: string[] = [];
  for (const service of plan.services) {
    const placed = services.get(service.name);
    if (!placed) continue;
    for (const volume of fileVolumesOf(plan, service)) {
      for (const upload of volume.uploads) {
        if (!("content" in upload) || !("text" in upload.content) || !portFiles.has(upload.file.split("/").pop()!)) continue;
        const running = await execIn(placed.container, ["cat", upload.file]);
        if (running.exitCode === 0 && running.stdout === upload.content.text) continue;
        await placed.engine.getContainer(volumeNames(`rk-${runId}`, service, volume).seed).putArchive(providerUploadArchive(upload, null, service), { path: "/" });
        rewritten.push(`${service.name}'s ${upload.file}`);
      }
    }
  }
  if (rewritten.length === 0) return;
  log(`rewrote ${rewritten.join(", ")} with the ports the nodes publish now`);
  if (!rewritten.some((file) => file.endsWith("/haproxy.cfg"))) return;
  await waitFor(async () => (await runtime.info()).Pid !== workerBefore && (await runtime.servers(HAPROXY_BACKENDS.realtime)).every((state) => state.status === "UP"), {
    timeoutMs,
    intervalMs: 250,
    what: "HAProxy to reload with the rewritten haproxy.cfg and every realtime node UP",
  });
}

/** The run's service containers by service name (`haproxy`, `realtime-1`, ...), on every machine of the run. */
async function serviceContainers(runId: string, engines: DeploymentEngines): Promise<Map<string, PlacedContainer>> {
  const filters = JSON.stringify({ label: [`${KIT_LABEL}=${runId}`, SERVICE_LABEL] });
  const found = new Map<string, PlacedContainer>();
  for (const { engine } of engines.all()) {
    for (const info of await engine.listContainers({ all: true, filters })) found.set(info.Labels[SERVICE_LABEL]!, { container: engine.getContainer(info.Id), engine });
  }
  if (found.size === 0) throw new Error(`no containers of run ${runId} on ${engines.hosts ? "any of its hosts" : "this Docker engine"}`);
  return found;
}

/**
 * Finishes what an interrupted rolling restart left: a new instance that never took over (its
 * old instance still exists) is removed; one whose old instance is already gone is the node now
 * and gets the node's name. Either way the run has one container per service again.
 */
async function settleInterruptedReplacements(runId: string, engines: DeploymentEngines): Promise<string[]> {
  const filters = JSON.stringify({ label: [`${KIT_LABEL}=${runId}`, SERVICE_LABEL] });
  const done: string[] = [];
  for (const { engine } of engines.all()) {
    const all = await engine.listContainers({ all: true, filters });
    for (const info of all.filter((one) => one.Names[0]!.endsWith(REPLACEMENT_SUFFIX))) {
      const name = info.Names[0]!.replace(/^\//, "");
      const service = info.Labels[SERVICE_LABEL];
      if (all.some((other) => other.Id !== info.Id && other.Labels[SERVICE_LABEL] === service)) {
        await engine.getContainer(info.Id).remove({ force: true, v: true });
        done.push(`removed ${name}`);
      } else {
        await engine.getContainer(info.Id).rename({ name: name.slice(0, -REPLACEMENT_SUFFIX.length) });
        done.push(`renamed ${name}`);
      }
    }
  }
  return done;
}
