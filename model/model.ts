import path from "node:path";
import { ConfigError } from "./errors";
import { CROSS_HOST_PORTS } from "./layout";
import { configSchema, type ConfigInput, type ParsedConfig } from "./schema";
import { listed, misfitOptions, TOPOLOGIES, topologiesWith, type Front, type TlsTerminator, type Topology } from "./topologies";
import { publicOrigins } from "./urls";
import { KIT_ROOT } from "./kit-root";

/**
 * The resolved deployment model: the single typed description every generator, the Pulumi
 * program and the test harness derive from. A part only some topologies have (the second stack,
 * TLS, static assets, several hosts) is present only there, so nothing needs to assert it exists.
 */
export interface Model {
  topology: Topology;
  hostname: string;
  /** Public plain-HTTP port, and the split-port option's realtime port where chosen. */
  ports: { http: number; realtime: number | null };
  /** Who answers the public http port. */
  front: Front;
  realtime: {
    nodes: number;
    image: string;
    /** Route the load balancer and the drivers check; the node reads it as HEALTH_PATH. */
    healthPath: string;
    /** Only with resizable pools. */
    stickiness: "session" | "source" | "cookie" | null;
    cookieName: string;
    pingIntervalMs: number;
    pingTimeoutMs: number;
    /** memory unless the topology shares state through Redis. */
    adapter: "memory" | "redis" | "redis-streams";
    connectionStateRecovery: boolean;
  };
  /** The second stack, where the topology has one. */
  app: AppStack | null;
  /** Where the topology serves https. */
  tls: TlsSettings | null;
  /** Where nginx serves static assets: absolute path of their folder on the deploying machine. */
  staticDir: string | null;
  timeouts: {
    connectMs: number;
    clientMs: number;
    serverMs: number;
    tunnelMs: number;
    proxyReadMs: number;
    healthCheckIntervalMs: number;
  };
  cors: { origins: string[] };
  limits: { maxMessageBytes: number; maxConnections: number; connectionRatePerClient: number };
  /** Resizable pools with `hosts` only: which machine runs what. null: everything on one Docker engine. */
  placement: Placement | null;
  /** The deployment's own Prometheus server, when asked for. */
  prometheus: PrometheusSettings | null;
  /** @socket.io/admin-ui on the realtime nodes' admin listener, when asked for. */
  adminUi: AdminUiSettings | null;
  /** Proxies in front of the edge whose client-address header is believed; null: every connection's own address is the client's. */
  clientAddress: ClientAddressSettings | null;
}

export interface AdminUiSettings {
  /** Host port on 127.0.0.1 where realtime-1's admin listener is published. */
  port: number;
  username: string;
  readonly: boolean;
}

export interface ClientAddressSettings {
  /** IPv4 ranges in CIDR form (a single address as /32). */
  trustedProxies: string[];
  /** Header the trusted proxies put the client's address in; its last address counts. Unused with proxyProtocol. */
  header: string;
  /** The trusted proxies announce the client in a PROXY protocol header on each connection instead. */
  proxyProtocol: boolean;
}

export interface PrometheusSettings {
  /** Host port of the query API and UI, bound to 127.0.0.1 of the edge host. */
  port: number;
  scrapeIntervalMs: number;
  retentionMs: number;
}

export interface AppStack {
  nodes: number;
  image: string;
  port: number;
  healthPath: string;
}

export interface TlsSettings {
  /** Public HTTPS port. */
  httpsPort: number;
  terminator: TlsTerminator;
  certFile: string | null;
  keyFile: string | null;
  minVersion: "TLSv1.2" | "TLSv1.3";
  hstsMaxAgeSeconds: number;
  /** What realtime requests on the plain http port get. */
  plainHttpRealtime: "redirect" | "refuse";
}

/** One machine of a multi-host deployment. */
export interface HostSpec {
  name: string;
  /** Docker engine URL (ssh://, tcp:// or unix://). */
  docker: string;
  /** Private IPv4 address the other hosts reach it at; cross-host ports are published on it only. */
  address: string;
  /** tcp:// engines: folder of the engine's TLS client files (ca.pem, cert.pem, key.pem); null otherwise. */
  certPath: string | null;
}

/** Where a multi-host deployment runs each service. */
export interface Placement {
  /** The machines, in the order given; the first (the edge host) runs HAProxy, stunnel and Redis. */
  hosts: HostSpec[];
  /** Host name of each realtime node, by node number - 1 (round-robin over realtime.hosts). */
  realtime: string[];
  /** Host name of each app node, by node number - 1 (round-robin over app.hosts). */
  app: string[];
  /**
   * Realtime nodes whose instance publishes on the alternate cross-host ports (CROSS_HOST_PORTS):
   * none as configured; a rolling restart across hosts moves a node to the other port of its pair.
   */
  realtimeOnAlternatePorts: string[];
}

/** Where option values came from, for resolving relative paths. */
export interface ModelSource {
  /** Folder relative paths in the config are resolved against (the config file's folder). */
  baseDir: string;
}

/** The kit's sample static site, used when a topology with static assets is given no staticDir. */
export const DEFAULT_STATIC_DIR = path.join(KIT_ROOT, "examples", "static");

/** Parses and validates raw configuration, then applies the topology rules. */
export function resolveModel(input: unknown, source: ModelSource): Model {
  const parsed = configSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const fieldPath = issue.code === "unrecognized_keys" ? [...issue.path, issue.keys[0]!] : issue.path;
    const field = fieldPath.length > 0 ? fieldPath.join(".") : "config";
    throw new ConfigError(field, describeIssue(issue, input));
  }
  const config = parsed.data;
  const topology = config.topology;
  const descriptor = TOPOLOGIES[topology];
  checkOptionsFit(input as ConfigInput, topology);

  const { resizable, defaultNodes } = descriptor.pools;
  const realtimeNodes = config.realtime.nodes ?? defaultNodes;
  const appNodes = config.app.nodes ?? defaultNodes;
  const resizableTopologies = listed(topologiesWith((d) => d.pools.resizable), "or");
  if (!resizable && realtimeNodes !== 1) {
    throw new ConfigError("realtime.nodes", `${topology} runs exactly 1 realtime node (got ${realtimeNodes}); use topology ${resizableTopologies} for more`);
  }
  if (!resizable && appNodes !== 1) {
    throw new ConfigError("app.nodes", `${topology} runs exactly 1 app node (got ${appNodes}); use topology ${resizableTopologies} for more`);
  }

  const ports = { http: config.ports.http, realtime: config.ports.realtime ?? null };
  const httpsPort = descriptor.tls ? config.ports.https : null;
  const publicPorts = { http: ports.http, https: httpsPort, realtime: ports.realtime };
  checkPortClashes(publicPorts);
  const prometheus = resolvePrometheus(input as ConfigInput, config, publicPorts);
  const adminUi = resolveAdminUi(input as ConfigInput, config, publicPorts, prometheus);
  const front = descriptor.fronts.length > 1 ? config.front : descriptor.fronts[0];
  const clientAddress = resolveClientAddress(input as ConfigInput, config, front);
  const placement = resolvePlacement(config, realtimeNodes, appNodes, source);
  if (placement) checkCrossHostPorts(publicPorts, placement);

  const adapter = resizable ? config.realtime.adapter : "memory";
  if (resizable && config.realtime.connectionStateRecovery && adapter !== "redis-streams") {
    throw new ConfigError(
      "realtime.connectionStateRecovery",
      "across several nodes it needs realtime.adapter: redis-streams (the plain Redis adapter cannot replay missed packets)",
    );
  }

  const heartbeatMs = config.realtime.pingInterval + config.realtime.pingTimeout;
  for (const name of ["client", "server", "tunnel", "proxyRead"] as const) {
    if (config.timeouts[name] <= heartbeatMs) {
      throw new ConfigError(
        `timeouts.${name}`,
        `${formatMs(config.timeouts[name])} would cut idle Socket.IO connections: it must exceed realtime.pingInterval + realtime.pingTimeout = ${formatMs(heartbeatMs)}`,
      );
    }
  }

  const tls = descriptor.tls && httpsPort !== null ? resolveTls(config, descriptor.tls.terminators, httpsPort, source) : null;

  return {
    topology,
    hostname: config.hostname,
    ports,
    front,
    realtime: {
      nodes: realtimeNodes,
      image: config.realtime.image,
      healthPath: config.realtime.healthPath,
      stickiness: resizable ? config.realtime.stickiness : null,
      cookieName: config.realtime.cookieName,
      pingIntervalMs: config.realtime.pingInterval,
      pingTimeoutMs: config.realtime.pingTimeout,
      adapter,
      connectionStateRecovery: config.realtime.connectionStateRecovery,
    },
    app: descriptor.secondStack ? { nodes: appNodes, image: config.app.image, port: config.app.port, healthPath: config.app.healthPath } : null,
    tls,
    staticDir: descriptor.staticAssets ? (resolvePath(config.staticDir, source) ?? DEFAULT_STATIC_DIR) : null,
    timeouts: {
      connectMs: config.timeouts.connect,
      clientMs: config.timeouts.client,
      serverMs: config.timeouts.server,
      tunnelMs: config.timeouts.tunnel,
      proxyReadMs: config.timeouts.proxyRead,
      healthCheckIntervalMs: config.timeouts.healthCheckInterval,
    },
    cors: { origins: config.cors.origins ?? [publicOrigins({ hostname: config.hostname, ports, tls }).page] },
    limits: config.limits,
    placement,
    prometheus,
    adminUi,
    clientAddress,
  };
}

/** adminUi, checked: its settings mean nothing without adminUi.enabled, and its port must be free of the others on the host. */
function resolveAdminUi(input: ConfigInput, config: ParsedConfig, ports: PublicPorts, prometheus: PrometheusSettings | null): AdminUiSettings | null {
  if (!config.adminUi.enabled) {
    const stray = (["port", "username", "readonly"] as const).find((key) => getPath(input, `adminUi.${key}`) !== undefined);
    if (stray) throw new ConfigError(`adminUi.${stray}`, "applies to the admin UI only; set adminUi.enabled: true, or remove it");
    return null;
  }
  const taken = { ...Object.fromEntries(Object.entries(ports).map(([name, value]) => [`ports.${name}`, value])), ...(prometheus ? { "metrics.port": prometheus.port } : {}) };
  const clash = Object.entries(taken).find(([, value]) => value === config.adminUi.port);
  if (clash) throw new ConfigError("adminUi.port", `${config.adminUi.port} is already used by ${clash[0]}; give the admin UI a port of its own`);
  return { port: config.adminUi.port, username: config.adminUi.username, readonly: config.adminUi.readonly };
}

/** metrics.prometheus, checked: its other settings mean nothing without it, and its port must be free of the public ones. */
function resolvePrometheus(input: ConfigInput, config: ParsedConfig, ports: PublicPorts): PrometheusSettings | null {
  if (!config.metrics.prometheus) {
    const stray = (["port", "scrapeInterval", "retention"] as const).find((key) => getPath(input, `metrics.${key}`) !== undefined);
    if (stray) throw new ConfigError(`metrics.${stray}`, "applies to the deployment's Prometheus server only; set metrics.prometheus: true (or `up --with-metrics`), or remove it");
    return null;
  }
  const clash = Object.entries(ports).find(([, value]) => value === config.metrics.port);
  if (clash) throw new ConfigError("metrics.port", `${config.metrics.port} is already used by ports.${clash[0]}; give Prometheus a port of its own`);
  return { port: config.metrics.port, scrapeIntervalMs: config.metrics.scrapeInterval, retentionMs: config.metrics.retention };
}

/**
 * clientAddress, checked: HAProxy (or nginx, on ssl-split's http port) must be what clients reach,
 * and no range may cover every address (the header would then be believed from anyone).
 */
function resolveClientAddress(input: ConfigInput, config: ParsedConfig, front: Front): ClientAddressSettings | null {
  const { trustedProxies, header, proxyProtocol } = config.clientAddress;
  if (trustedProxies.length === 0) {
    const stray = (["header", "proxyProtocol"] as const).find((key) => getPath(input, `clientAddress.${key}`) !== undefined);
    if (stray) throw new ConfigError(`clientAddress.${stray}`, "means nothing without clientAddress.trustedProxies: name the proxies whose client address is to be believed, or remove it");
    return null;
  }
  if (proxyProtocol) {
    if (getPath(input, "clientAddress.header") !== undefined) {
      throw new ConfigError("clientAddress.header", "with clientAddress.proxyProtocol the client's address comes in the PROXY header, not in an HTTP header; remove one of them");
    }
    if (front === "nginx") {
      throw new ConfigError("clientAddress.proxyProtocol", `${config.topology}'s http port is nginx's, which takes the PROXY protocol from every connection or none; use a header (clientAddress.header) there, or multi-node`);
    }
    if (config.tls.terminator === "stunnel" && TOPOLOGIES[config.topology].tls !== null) {
      throw new ConfigError("clientAddress.proxyProtocol", "stunnel, which receives https, cannot read a PROXY header; set tls.terminator: haproxy");
    }
  }
  if (front === "node") {
    throw new ConfigError(
      "clientAddress.trustedProxies",
      `in ${config.topology} with the Socket.IO server in front, the kit has no proxy to take the client's address from a header; use ${listed(topologiesWith((d) => d.fronts.some((choice) => choice !== "node")), "or")} (node-proxy with front: haproxy)`,
    );
  }
  const ranges = trustedProxies.map((range) => (range.includes("/") ? range : `${range}/32`));
  ranges.forEach((range, index) => {
    if (range.endsWith("/0")) throw new ConfigError(`clientAddress.trustedProxies.${index}`, `${range} is every address: anyone could claim any client address; name the proxies' own ranges`);
  });
  return { trustedProxies: ranges, header, proxyProtocol };
}

function resolveTls(config: ParsedConfig, terminators: readonly TlsTerminator[], httpsPort: number, source: ModelSource): TlsSettings {
  if (!terminators.includes(config.tls.terminator)) {
    throw new ConfigError("tls.terminator", `${config.tls.terminator} does not terminate TLS in topology ${config.topology}; choose ${listed(terminators, "or")}`);
  }
  const certFile = resolvePath(config.tls.certFile, source);
  const keyFile = resolvePath(config.tls.keyFile, source);
  if ((certFile === null) !== (keyFile === null)) {
    throw new ConfigError(certFile ? "tls.keyFile" : "tls.certFile", "tls.certFile and tls.keyFile go together: give both, or neither for a throwaway certificate");
  }
  return {
    httpsPort,
    terminator: config.tls.terminator,
    certFile,
    keyFile,
    minVersion: config.tls.minVersion,
    hstsMaxAgeSeconds: Math.floor(config.tls.hstsMaxAge / 1000),
    plainHttpRealtime: config.plainHttpRealtime,
  };
}

/**
 * Resizable pools with `hosts`: checks the machines and spreads each pool over its hosts round-robin.
 * Without `hosts` the deployment runs on one Docker engine and the pools may not name hosts.
 */
function resolvePlacement(config: ParsedConfig, realtimeNodes: number, appNodes: number, source: ModelSource): Placement | null {
  const pools = [
    { option: "realtime.hosts", names: config.realtime.hosts, nodes: realtimeNodes },
    { option: "app.hosts", names: config.app.hosts, nodes: appNodes },
  ];
  const hosts = config.hosts;
  if (hosts === undefined) {
    const named = pools.find((pool) => pool.names !== undefined);
    if (named) throw new ConfigError(named.option, "names hosts but none are declared; list the machines under hosts (each with name, docker and address)");
    return null;
  }
  for (const key of ["name", "docker", "address"] as const) {
    hosts.forEach((host, index) => {
      const first = hosts.findIndex((other) => other[key] === host[key]);
      if (first !== index) {
        throw new ConfigError(`hosts.${index}.${key}`, `${JSON.stringify(host[key])} is already the ${key} of hosts.${first}; every host needs its own ${key}`);
      }
    });
  }
  hosts.forEach((host, index) => {
    if (/^(0\.|127\.)/.test(host.address)) {
      throw new ConfigError(`hosts.${index}.address`, `${host.address} cannot be reached from the other hosts; give the machine's private address (such as 10.0.0.12)`);
    }
    const tcp = host.docker.startsWith("tcp://");
    if (tcp && host.certPath === undefined) {
      throw new ConfigError(
        `hosts.${index}.certPath`,
        `is required for ${host.docker}: a tcp:// engine is reached with TLS; give the folder of its client files (ca.pem, cert.pem, key.pem)`,
      );
    }
    if (!tcp && host.certPath !== undefined) {
      throw new ConfigError(`hosts.${index}.certPath`, `applies to tcp:// engines only; ${host.docker} needs none, remove it`);
    }
  });
  const known = hosts.map((host) => host.name);
  const spread = (pool: (typeof pools)[number]): string[] => {
    const names = pool.names ?? [known[0]!];
    names.forEach((name, index) => {
      if (!known.includes(name)) throw new ConfigError(`${pool.option}.${index}`, `unknown host ${JSON.stringify(name)}; the hosts are ${known.join(", ")}`);
    });
    return Array.from({ length: pool.nodes }, (_, node) => names[node % names.length]!);
  };
  return {
    hosts: hosts.map((host) => ({ name: host.name, docker: host.docker, address: host.address, certPath: resolvePath(host.certPath, source) })),
    realtime: spread(pools[0]!),
    app: spread(pools[1]!),
    realtimeOnAlternatePorts: [],
  };
}

/** Redis is published on the edge host for realtime nodes elsewhere: no public port may take its port. */
function checkCrossHostPorts(ports: PublicPorts, placement: Placement): void {
  const edge = placement.hosts[0]!.name;
  if (!placement.realtime.some((host) => host !== edge)) return;
  for (const [name, value] of Object.entries(ports)) {
    if (value === CROSS_HOST_PORTS.redis) {
      throw new ConfigError(
        `ports.${name}`,
        `${value} is where the edge host publishes Redis for realtime nodes on other hosts; choose another public port`,
      );
    }
  }
}

export function formatMs(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

function checkOptionsFit(input: ConfigInput, topology: Topology): void {
  for (const misfit of misfitOptions(topology)) {
    if (getPath(input, misfit.option) !== undefined) {
      throw new ConfigError(misfit.option, `does not apply to topology ${topology}: ${misfit.why}; remove it or choose topology ${misfit.fitting.join(" or ")}`);
    }
  }
}

/** Every public port by its option name, null where the topology or config has none. */
type PublicPorts = Record<"http" | "https" | "realtime", number | null>;

function checkPortClashes(ports: PublicPorts): void {
  const used: [string, number][] = [];
  for (const [name, value] of Object.entries(ports)) {
    if (value === null) continue;
    const clash = used.find(([, other]) => other === value);
    if (clash) throw new ConfigError(`ports.${name}`, `${value} is already used by ports.${clash[0]}; every public port must be different`);
    used.push([name, value]);
  }
}

function resolvePath(value: string | undefined, source: ModelSource): string | null {
  return value === undefined ? null : path.resolve(source.baseDir, value);
}

function getPath(object: unknown, dotted: string): unknown {
  let current: unknown = object;
  for (const key of dotted.split(".")) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/** Zod's messages, made to name the valid choices and the value received. */
function describeIssue(issue: import("zod").core.$ZodIssue, input: unknown): string {
  const received = getPath(input, issue.path.join("."));
  const got = received === undefined ? "" : ` (got ${JSON.stringify(received)})`;
  switch (issue.code) {
    case "invalid_value":
      return `${received === undefined ? "is required: " : ""}expected one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}${got}`;
    case "unrecognized_keys":
      return `unknown option${issue.keys.length > 1 ? "s" : ""} ${issue.keys.join(", ")}; see \`realtime-kit options\` for the valid ones`;
    case "invalid_type":
      if (received === undefined) return `is required (${issue.message.replace(/^Invalid input: /, "")})`;
      return `${issue.message.replace(/^Invalid input: /, "")}${got}`;
    default:
      return `${issue.message}${got}`;
  }
}
