import { CROSS_HOST_PORTS, INTERNAL_PORTS } from "../model/layout";
import type { HostSpec, Model } from "../model/model";
import { TOPOLOGIES } from "../model/topologies";

/**
 * Names of the services a model deploys. They are container names and network aliases at once,
 * so every generated config can address a peer by name.
 */
export const realtimeNodeNames = (model: Model): string[] => numbered("realtime", model.realtime.nodes);
export const appNodeNames = (model: Model): string[] => (model.app ? numbered("app", model.app.nodes) : []);

function numbered(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, index) => `${prefix}-${index + 1}`);
}

/**
 * Which proxies a model needs, from its topology's features: the single source for "does this
 * topology run nginx?" and friends. HAProxy routes every https request (behind stunnel or
 * terminating TLS itself) and whatever it answers on http.
 */
export function proxiesOf(model: Model): { haproxy: boolean; nginx: boolean; stunnel: boolean; redis: boolean } {
  return {
    haproxy: model.tls !== null || model.front === "haproxy",
    nginx: TOPOLOGIES[model.topology].secondStack?.proxiedBy === "nginx",
    stunnel: model.tls?.terminator === "stunnel",
    redis: model.realtime.adapter !== "memory",
  };
}

/** A member of the realtime or app pool, and how the edge reaches it. */
export interface PoolMember {
  /** Service name, e.g. `realtime-2`. */
  name: string;
  /** Node number in its pool, from 1 (the number in its name). */
  number: number;
  /** Machine it runs on (a name from `hosts`); null when everything runs on one Docker engine. */
  host: string | null;
  /** Port it listens on inside its container. */
  port: number;
  /**
   * Set when it runs on another machine than the edge: it publishes `port` on that machine's
   * private address, at a port fixed by its node number (CROSS_HOST_PORTS).
   */
  crossHost: { address: string; port: number } | null;
  /** `host:port` the edge (HAProxy) and peers on the edge host connect to. */
  address: string;
}

export function realtimeMembers(model: Model): PoolMember[] {
  return realtimeNodeNames(model).map((name, index) =>
    member(model, name, index + 1, INTERNAL_PORTS.realtime, model.placement?.realtime[index] ?? null, onAlternatePorts(model, name) ? CROSS_HOST_PORTS.realtimeAlternateBase : CROSS_HOST_PORTS.realtimeBase),
  );
}

function onAlternatePorts(model: Model, node: string): boolean {
  return model.placement?.realtimeOnAlternatePorts.includes(node) ?? false;
}

/**
 * The same model with one realtime node on the other cross-host port of its pair: the ports its
 * next instance publishes on while the current one still holds its own (a rolling restart across hosts).
 */
export function withRealtimeNodeOnOtherPorts(model: Model, node: string): Model {
  const placement = model.placement;
  if (!placement) throw new Error("only a deployment over several hosts has cross-host ports");
  const moved = placement.realtimeOnAlternatePorts.includes(node);
  const realtimeOnAlternatePorts = moved ? placement.realtimeOnAlternatePorts.filter((name) => name !== node) : [...placement.realtimeOnAlternatePorts, node].sort();
  return { ...model, placement: { ...placement, realtimeOnAlternatePorts } };
}

export function appMembers(model: Model): PoolMember[] {
  const app = model.app;
  if (!app) return [];
  return appNodeNames(model).map((name, index) => member(model, name, index + 1, app.port, model.placement?.app[index] ?? null, CROSS_HOST_PORTS.appBase));
}

/** The machine that runs the edge (HAProxy, stunnel) and Redis; null on one Docker engine. */
export function edgeHost(model: Model): HostSpec | null {
  return model.placement?.hosts[0] ?? null;
}

/** Whether any realtime node runs away from the edge host, so Redis must be reachable across hosts. */
export function redisCrossHost(model: Model): boolean {
  return realtimeMembers(model).some((node) => node.crossHost !== null);
}

/**
 * Redis URL a realtime node uses: by name on the deployment's network, by the edge host's address
 * over TLS from another machine (the hosts' network is not the deployment's own: the node verifies
 * Redis's certificate, and no one on the way reads the password or the broadcasts). `null` asks for
 * the URL shared by the nodes beside Redis.
 */
export function redisUrlFor(model: Model, node: PoolMember | null): string {
  const edge = edgeHost(model);
  return node?.crossHost && edge ? `rediss://${edge.address}:${CROSS_HOST_PORTS.redis}` : `redis://redis:${INTERNAL_PORTS.redis}`;
}

/**
 * Where the deployment's Prometheus (on the edge host) scrapes a realtime node's metrics: by name
 * on the deployment's network, or, for a node on another host, the port that host publishes them
 * on its private address (null crossHost when nothing needs publishing).
 */
export function metricsTargetOf(model: Model, node: PoolMember): { address: string; crossHost: { address: string; port: number } | null } {
  if (!model.prometheus || !node.crossHost) return { address: `${node.name}:${INTERNAL_PORTS.realtimeMetrics}`, crossHost: null };
  const base = onAlternatePorts(model, node.name) ? CROSS_HOST_PORTS.realtimeMetricsAlternateBase : CROSS_HOST_PORTS.realtimeMetricsBase;
  const crossHost = { address: node.crossHost.address, port: base + node.number };
  return { address: `${crossHost.address}:${crossHost.port}`, crossHost };
}

function member(model: Model, name: string, number: number, port: number, host: string | null, crossHostPortBase: number): PoolMember {
  const edge = edgeHost(model);
  const machine = model.placement?.hosts.find((candidate) => candidate.name === host);
  const remote = edge !== null && machine !== undefined && machine.name !== edge.name;
  const crossHost = remote ? { address: machine.address, port: crossHostPortBase + number } : null;
  return { name, number, host, port, crossHost, address: crossHost ? `${crossHost.address}:${crossHost.port}` : `${name}:${port}` };
}
