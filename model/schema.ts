import { z } from "zod";
import { HEALTH_PATHS } from "./layout";
import { FRONT_CHOICES, listed, TLS_TERMINATORS, TOPOLOGIES, TOPOLOGY_NAMES, topologiesWith } from "./topologies";

/**
 * The user-facing configuration: what a config file, `--set`, or Pulumi stack config may say.
 * Every option has its default here and a `describe()` text; `docs/options.md` and the README
 * table are rendered from these descriptions, so defaults are written down exactly once.
 */

/** Which topologies an option applies to, as its description names them, from the topology table. */
const TLS_TOPOLOGIES = topologiesWith((d) => d.tls !== null).join(", ");
const SPLIT_PORT_TOPOLOGIES = topologiesWith((d) => d.splitRealtimePort).join(", ");
const FRONT_CHOICE_TOPOLOGIES = listed(topologiesWith((d) => d.fronts.length > 1));
const STATIC_TOPOLOGIES = topologiesWith((d) => d.staticAssets).join(", ");
const POOL_TOPOLOGIES = topologiesWith((d) => d.pools.resizable);
const POOLS = POOL_TOPOLOGIES.join(", ");
const POOL_DEFAULTS = `1 except in ${listed(POOL_TOPOLOGIES, "or")} (default ${POOL_TOPOLOGIES.map((name) => TOPOLOGIES[name].pools.defaultNodes).join("/")} there)`;

const DURATION_UNITS_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * The longest timer HAProxy takes (2^31 - 1 ms, about 24.8 days; a longer `timeout` is refused or
 * wraps), and Node's setTimeout as well: the ceiling of every timeout and interval option.
 */
export const MAX_TIMER_MS = 24 * 86_400_000;
/** Below this a timeout or check interval only makes a loaded proxy fail healthy peers. */
export const MIN_TIMER_MS = 100;

/**
 * A duration written as `500ms`, `60s`, `2m`, `1h`, `180d` (or a whole number of milliseconds),
 * parsed to ms and held to the option's range; the error names the range.
 */
function duration(minMs = MIN_TIMER_MS, maxMs = MAX_TIMER_MS) {
  const expected = `expected a duration from ${formatDuration(minMs)} to ${formatDuration(maxMs)}, such as "500ms", "60s", "2m", "1h" or "1d" (or a whole number of milliseconds)`;
  return z
    .union([z.number({ error: expected }).int(expected), z.string({ error: expected }).regex(/^\d+(ms|s|m|h|d)$/, expected)], { error: expected })
    .transform((value) => {
      if (typeof value === "number") return value;
      const [, amount, unit] = /^(\d+)(ms|s|m|h|d)$/.exec(value)!;
      return Number(amount) * DURATION_UNITS_MS[unit as keyof typeof DURATION_UNITS_MS];
    })
    .pipe(z.number().min(minMs, expected).max(maxMs, expected));
}

function formatDuration(ms: number): string {
  const unit = (["d", "h", "m", "s"] as const).find((candidate) => ms % DURATION_UNITS_MS[candidate] === 0);
  return unit ? `${ms / DURATION_UNITS_MS[unit]}${unit}` : `${ms}ms`;
}

/**
 * A request path as HAProxy's `http-check send ... uri` and the second stack read it: RFC 3986
 * path and query characters only, percent-escapes well formed, and none of what HAProxy's config
 * parser treats specially (`#` comment, quotes, `\` escape, `$` variable, spaces).
 */
export const HTTP_PATH = /^\/(?:[A-Za-z0-9\-._~!&()*+,;=:@\/]|%[0-9A-Fa-f]{2})*(?:\?(?:[A-Za-z0-9\-._~!&()*+,;=:@\/?]|%[0-9A-Fa-f]{2})*)?$/;

/** A health route: written as it is into HAProxy's `http-check` line, so only plain path characters. */
function healthPath(fallback: string, description: string) {
  return z
    .string()
    .regex(
      HTTP_PATH,
      "expected a path starting with / made of letters, digits and - . _ ~ ! & ( ) * + , ; = : @ / (an optional ?query too), other characters %-escaped; # quotes \\ $ and spaces are not allowed",
    )
    .default(fallback)
    .describe(description);
}

/** A whole number in a range; every error names the range. */
function wholeNumber(min: number, max: number, unit: string) {
  const expected = `expected a whole number of ${unit} from ${min} to ${max}`;
  return z.number({ error: expected }).int(expected).min(min, expected).max(max, expected);
}

const port = z
  .number({ error: "expected a port number from 1 to 65535" })
  .int("expected a whole port number from 1 to 65535")
  .min(1, "expected a port number from 1 to 65535")
  .max(65535, "expected a port number from 1 to 65535");

const nodeCount = z
  .number({ error: "expected a whole number of nodes, at least 1" })
  .int("expected a whole number of nodes, at least 1")
  .min(1, "at least 1 node is needed")
  .max(32, "at most 32 nodes are supported");

const HOSTNAME = /^(?=.{1,253}$)[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;
const ORIGIN = /^https?:\/\/[a-zA-Z0-9.-]+(:\d{1,5})?$/;
const IMAGE_REF = /^[a-z0-9]+([._/:@-][a-zA-Z0-9]+)*$/;
/** A machine's name in `hosts`: short, lowercase, usable in resource and container names. */
const HOST_NAME = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;
/** A Docker engine URL: ssh://[user@]host[:port], tcp://host[:port] or unix:///path. */
const DOCKER_URL = /^(ssh:\/\/([A-Za-z0-9._-]+@)?[A-Za-z0-9.-]+(:\d{1,5})?|tcp:\/\/[A-Za-z0-9.-]+(:\d{1,5})?|unix:\/\/\/[^\s]+)$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
/** An IPv4 address, or a range of them with a prefix length from 1 to 32. */
const IPV4_RANGE = new RegExp(`${IPV4.source.slice(0, -1)}(\\/(3[0-2]|[12]?\\d))?$`);

/** Resizable pools: host names a pool's nodes are spread over, round-robin. */
const poolHosts = (pool: string) =>
  z
    .array(z.string().regex(HOST_NAME, "expected the name of one of the hosts"))
    .min(1, `list at least one host name, or leave ${pool}.hosts out to run every ${pool} node on the first host`)
    .optional()
    .describe(`${POOLS} with hosts: names of the hosts the ${pool} nodes are spread over, round-robin (node 1 on the first name, node 2 on the second, ...). Default: all on the first host.`);

const host = z.strictObject({
  name: z
    .string()
    .regex(HOST_NAME, 'expected a short name of lowercase letters, digits and - such as "edge" or "node-2"')
    .describe("Name realtime.hosts and app.hosts refer to."),
  docker: z
    .string()
    .regex(DOCKER_URL, "expected a Docker engine URL: ssh://user@host, tcp://host:2376 or unix:///var/run/docker.sock")
    .describe("Docker engine of the machine: ssh://user@host, tcp://host:2376 (TLS) or unix:///var/run/docker.sock."),
  address: z
    .string()
    .regex(
      IPV4,
      "expected the machine's private IPv4 address, such as 10.0.0.12 (ports are published on it, and Docker binds published ports to IP addresses, not names)",
    )
    .describe("Private IPv4 address the other hosts reach this machine at; cross-host ports are published on it only."),
  certPath: z
    .string()
    .min(1)
    .optional()
    .describe("tcp:// engines only (required there): folder with this engine's TLS client files ca.pem, cert.pem and key.pem, as DOCKER_CERT_PATH holds them."),
});

export const configSchema = z.strictObject({
  topology: z.enum(TOPOLOGY_NAMES).describe(`Which deployment to build: ${listed(TOPOLOGY_NAMES, "or")}.`),
  hostname: z
    .string()
    .regex(HOSTNAME, "expected a DNS hostname such as chat.example.com (no scheme, no port)")
    .default("localhost")
    .describe("Public hostname users reach the deployment at; used for redirects and the default CORS origins."),
  ports: z
    .strictObject({
      http: port.default(80).describe("Public plain-HTTP port."),
      https: port.default(443).describe(`Public HTTPS port (${TLS_TOPOLOGIES}).`),
      realtime: port
        .optional()
        .describe(
          `Split-port option (${SPLIT_PORT_TOPOLOGIES}): a separate public port for Socket.IO; the page stays on the http port and the realtime endpoint answers only its origin (CORS).`,
        ),
    })
    .prefault({}),
  front: z
    .enum(FRONT_CHOICES)
    .default(FRONT_CHOICES[0])
    .describe(`${FRONT_CHOICE_TOPOLOGIES} only: what sits in front: the Socket.IO server itself, or HAProxy routing /socket.io/ to Node and the rest to the second stack.`),
  realtime: z
    .strictObject({
      nodes: nodeCount.optional().describe(`Realtime (Socket.IO) nodes. ${POOL_DEFAULTS}.`),
      image: z.string().regex(IMAGE_REF, "expected a Docker image reference").default("realtime-kit/realtime:latest").describe("Image of the realtime server."),
      healthPath: healthPath(HEALTH_PATHS.realtime, "Route the load balancer checks on each realtime node (given to it as HEALTH_PATH); it must answer 200 when ready and stop doing so once the node shuts down."),
      stickiness: z
        .enum(["session", "source", "cookie"])
        .default("session")
        .describe(
          `${POOLS}: how HAProxy keeps a Socket.IO session on the node that holds it. session: by the Engine.IO session id, which each node begins with its own name (no cookie, no client address, nothing lost when HAProxy restarts; the realtime server must prefix its ids, as the kit's does). source: by client address (the chapter's way; needs the real address, which stunnel passes with the PROXY protocol; clients behind one NAT share a node). cookie: by the Socket.IO \`io\` cookie (clients must keep cookies).`,
        ),
      cookieName: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "expected a cookie name of letters, digits, _ or -").default("io").describe("Cookie the realtime server sets for cookie stickiness."),
      pingInterval: duration().prefault("25s").describe("Socket.IO pingInterval."),
      pingTimeout: duration().prefault("20s").describe("Socket.IO pingTimeout. Every proxy idle timeout must exceed pingInterval + pingTimeout."),
      adapter: z
        .enum(["redis", "redis-streams"])
        .default("redis")
        .describe(`${POOLS}: Socket.IO adapter over Redis. redis-streams is needed for connection state recovery.`),
      connectionStateRecovery: z.boolean().default(false).describe(`Socket.IO connection state recovery (in ${POOLS} it needs adapter: redis-streams).`),
      hosts: poolHosts("realtime"),
    })
    .prefault({}),
  app: z
    .strictObject({
      nodes: nodeCount.optional().describe(`Second-stack (app) nodes. ${POOL_DEFAULTS}.`),
      image: z.string().regex(IMAGE_REF, "expected a Docker image reference").default("realtime-kit/app:latest").describe("Image of the second stack (the chapter's Ruby app)."),
      port: port.default(3000).describe("Port the second stack listens on inside its container. Never published."),
      healthPath: healthPath("/ping", "Route the load balancer checks on the second stack."),
      hosts: poolHosts("app"),
    })
    .prefault({}),
  tls: z
    .strictObject({
      terminator: z
        .enum(TLS_TERMINATORS)
        .default(TLS_TERMINATORS[0])
        .describe(`${TLS_TOPOLOGIES}: who terminates TLS. stunnel (the chapter) hands to HAProxy with the PROXY protocol; haproxy uses native \`bind ... ssl\`.`),
      certFile: z.string().min(1).optional().describe("PEM certificate chain for the https port. `up` makes a throwaway one when absent."),
      keyFile: z.string().min(1).optional().describe("PEM private key matching certFile."),
      minVersion: z.enum(["TLSv1.2", "TLSv1.3"]).default("TLSv1.2").describe("Lowest TLS version accepted."),
      hstsMaxAge: duration(1000, 3650 * 86_400_000).prefault("180d").describe("Strict-Transport-Security max-age sent on https responses (180 days)."),
    })
    .prefault({}),
  plainHttpRealtime: z
    .enum(["redirect", "refuse"])
    .default("redirect")
    .describe(`${TLS_TOPOLOGIES}: realtime requests on the plain http port are redirected to https (308) or refused (403).`),
  staticDir: z.string().min(1).optional().describe(`${STATIC_TOPOLOGIES}: folder of static assets nginx serves under /static/ (default: the kit's examples/static).`),
  timeouts: z
    .strictObject({
      connect: duration().prefault("5s").describe("Proxy -> backend connect timeout."),
      client: duration().prefault("60s").describe("Proxy idle timeout on the client side."),
      server: duration().prefault("60s").describe("Proxy idle timeout on the server side."),
      tunnel: duration().prefault("1h").describe("Idle timeout of an upgraded WebSocket through HAProxy."),
      proxyRead: duration().prefault("60s").describe("nginx proxy_read_timeout / proxy_send_timeout."),
      healthCheckInterval: duration().prefault("1s").describe("How often HAProxy checks each pool member; after a failure it checks 4x as often, and 2 failures take it out."),
    })
    .prefault({}),
  cors: z
    .strictObject({
      origins: z
        .array(z.string().regex(ORIGIN, 'expected an origin such as "https://chat.example.com" or "http://localhost:8080" (never *, no path)'))
        .optional()
        .describe("Origins allowed to talk to the realtime endpoint. Default: the deployment's own public page origin."),
    })
    .prefault({}),
  limits: z
    .strictObject({
      maxMessageBytes: wholeNumber(1024, 100 * 1024 * 1024, "bytes").default(1_000_000).describe("Largest Socket.IO message / HTTP body accepted (Socket.IO maxHttpBufferSize, proxies' body limit)."),
      maxConnections: wholeNumber(100, 1_000_000, "connections").default(9_000).describe("HAProxy maxconn: concurrent connections the front door accepts. HAProxy needs about 2 open files per connection: 9000 fits the 20000 open files some Docker engines allow a container; raise it with the engine's limit (dockerd LimitNOFILE)."),
      connectionRatePerClient: wholeNumber(1, 100_000, "connections per 10 s").default(500).describe("New connections one client address may open per 10 s at HAProxy before being refused."),
    })
    .prefault({}),
  clientAddress: z
    .strictObject({
      trustedProxies: z
        .array(z.string().regex(IPV4_RANGE, 'expected an IPv4 address or range in CIDR form, such as "173.245.48.0/20" or "10.0.0.7"'))
        .default([])
        .describe(
          "Behind a CDN or a cloud load balancer: the address ranges (IPv4, CIDR) of the proxies in front of the edge. A request from one of them is taken to come from the address it names in clientAddress.header, for source stickiness, the per-client rate limit and the logs; from any other address the header is never believed. Default none: every connection's own address is the client's.",
        ),
      header: z
        .string()
        .regex(/^[A-Za-z0-9-]{1,64}$/, "expected an HTTP header name such as X-Forwarded-For or CF-Connecting-IP")
        .default("X-Forwarded-For")
        .describe("With clientAddress.trustedProxies: the header they put the client's address in (its last address counts): X-Forwarded-For, or one such as CF-Connecting-IP or True-Client-IP."),
      proxyProtocol: z
        .boolean()
        .default(false)
        .describe(
          "With clientAddress.trustedProxies: they are TCP load balancers that announce the client in a PROXY protocol header (v1 or v2) instead, as AWS's NLB can. HAProxy reads it from their connections only; multi-node and node-proxy (front: haproxy), with tls.terminator: haproxy.",
        ),
    })
    .prefault({}),
  metrics: z
    .strictObject({
      prometheus: z
        .boolean()
        .default(false)
        .describe(
          "Run a Prometheus server in the deployment (`up --with-metrics` sets this) scraping every realtime node and HAProxy. Its query API and web UI are published on the loopback address of the (edge) host only: reach them there or through an SSH tunnel.",
        ),
      port: port.default(9090).describe("With metrics.prometheus: host port of Prometheus's query API and UI, on 127.0.0.1 only."),
      scrapeInterval: duration(1000, 300_000).prefault("15s").describe("With metrics.prometheus: how often every target is scraped."),
      retention: duration(3_600_000, 3650 * 86_400_000).prefault("15d").describe("With metrics.prometheus: how long series are kept (in a volume of the deployment, kept across updates, removed by `down` or `pulumi destroy`)."),
    })
    .prefault({}),
  adminUi: z
    .strictObject({
      enabled: z
        .boolean()
        .default(false)
        .describe(
          "Serve @socket.io/admin-ui (its pages and its /admin namespace) on an admin listener of every realtime node, behind a username and a password made per deployment. realtime-1's is published on the loopback address of its host only; the public ports refuse the /admin namespace.",
        ),
      port: port.default(9400).describe("With adminUi.enabled: host port of the admin UI, on 127.0.0.1 only (reach it there or through an SSH tunnel)."),
      username: z
        .string()
        .regex(/^[A-Za-z0-9_.-]{1,64}$/, "1-64 letters, digits, _ . or -")
        .default("admin")
        .describe("With adminUi.enabled: the admin UI's username (its password is made per deployment)."),
      readonly: z.boolean().default(true).describe("With adminUi.enabled: show only; false lets the UI disconnect sockets and move them between rooms."),
    })
    .prefault({}),
  hosts: z
    .array(host)
    .min(1, "list at least one host, or leave hosts out to deploy everything on one Docker engine")
    .optional()
    .describe(
      `${POOLS}: the machines to deploy on, each {name, docker, address}. The first runs the edge (HAProxy, stunnel) and Redis; realtime.hosts and app.hosts spread the pools. Default: one Docker engine.`,
    ),
});

/** What a config file or stack config holds before defaults are applied. */
export type ConfigInput = z.input<typeof configSchema>;
/** The parsed configuration with defaults applied (before topology rules resolve it to a Model). */
export type ParsedConfig = z.output<typeof configSchema>;
