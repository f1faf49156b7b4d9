import fc from "fast-check";
import { HTTP_PATH } from "../../model/schema";
import { TOPOLOGY_NAMES, type Topology } from "../../model/topologies";

/**
 * fast-check arbitraries over the user-facing configuration (model/schema.ts), drawn from the
 * schema's own ranges: valid configs for every topology, and invalid ones made by breaking a
 * valid config in exactly one place, each with the field the error must name.
 */

export type Config = Record<string, any>;

const TLS: readonly Topology[] = ["ssl-split", "multi-node"];
const SPLIT: readonly Topology[] = ["single", "node-proxy"];

const port = fc.integer({ min: 1, max: 65535 });
const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
const hostname = fc.oneof(fc.constant("localhost"), fc.array(label, { minLength: 1, maxLength: 3 }).map((labels) => labels.join(".")));
/** A duration as the schema takes it: a number of ms or a string with a unit; `ms` its value. */
function duration(minMs: number, maxMs: number): fc.Arbitrary<{ value: number | string; ms: number }> {
  return fc.integer({ min: minMs, max: maxMs }).chain((ms) => {
    const forms: fc.Arbitrary<number | string>[] = [fc.constant(ms), fc.constant(`${ms}ms`)];
    if (ms % 1000 === 0) forms.push(fc.constant(`${ms / 1000}s`));
    if (ms % 60_000 === 0) forms.push(fc.constant(`${ms / 60_000}m`));
    return fc.oneof(...forms).map((value) => ({ value, ms }));
  });
}
const origin = fc.tuple(fc.constantFrom("http", "https"), hostname, fc.option(port, { nil: undefined })).map(([scheme, host, p]) => `${scheme}://${host}${p ? `:${p}` : ""}`);

/** Distinct public ports for the topology (http, https where it has TLS, maybe the split realtime port). */
function portsFor(topology: Topology): fc.Arbitrary<Config> {
  return fc.uniqueArray(port, { minLength: 3, maxLength: 3 }).chain(([http, https, realtime]) =>
    fc.boolean().map((split) => {
      const ports: Config = { http };
      if (TLS.includes(topology)) ports.https = https;
      if (SPLIT.includes(topology) && split) ports.realtime = realtime;
      return ports;
    }),
  );
}

/** Any configuration the schema and the topology rules accept. */
export function validConfig(topologies: readonly Topology[] = TOPOLOGY_NAMES): fc.Arbitrary<Config> {
  return fc.constantFrom(...topologies).chain((topology) => {
    const multi = topology === "multi-node";
    const tls = TLS.includes(topology);
    return fc
      .record({
        hostname,
        ports: portsFor(topology),
        front: fc.constantFrom("node", "haproxy"),
        realtimeNodes: fc.integer({ min: 1, max: 8 }),
        appNodes: fc.integer({ min: 1, max: 8 }),
        stickiness: fc.constantFrom("source", "cookie"),
        cookieName: fc.stringMatching(/^[A-Za-z0-9_-]{1,16}$/),
        adapter: fc.constantFrom("redis", "redis-streams"),
        recovery: fc.boolean(),
        pingInterval: duration(1000, 60_000),
        pingTimeout: duration(1000, 60_000),
        appPort: port,
        healthPath: fc.oneof(fc.constantFrom("/ping", "/healthz", "/up", "/status/ok"), fc.stringMatching(HTTP_PATH, { size: "small" })),
        terminator: fc.constantFrom("stunnel", "haproxy"),
        minVersion: fc.constantFrom("TLSv1.2", "TLSv1.3"),
        hsts: duration(1000, 400 * 86_400_000),
        plainHttpRealtime: fc.constantFrom("redirect", "refuse"),
        connect: duration(100, 30_000),
        // Idle limits above the heartbeat, by a margin drawn here.
        margins: fc.array(fc.integer({ min: 1, max: 3_600_000 }), { minLength: 4, maxLength: 4 }),
        healthCheckInterval: duration(100, 60_000),
        origins: fc.option(fc.array(origin, { minLength: 1, maxLength: 3 }), { nil: undefined }),
        maxMessageBytes: fc.integer({ min: 1024, max: 100 * 1024 * 1024 }),
        maxConnections: fc.integer({ min: 100, max: 1_000_000 }),
        rate: fc.integer({ min: 1, max: 100_000 }),
        setDefaults: fc.boolean(),
      })
      .map((d) => {
        const heartbeat = d.pingInterval.ms + d.pingTimeout.ms;
        const config: Config = { topology, hostname: d.hostname, ports: d.ports };
        if (topology === "node-proxy") config.front = d.front;
        config.realtime = { pingInterval: d.pingInterval.value, pingTimeout: d.pingTimeout.value };
        if (multi) {
          Object.assign(config.realtime, { nodes: d.realtimeNodes, stickiness: d.stickiness, cookieName: d.cookieName, adapter: d.adapter });
          config.realtime.connectionStateRecovery = d.adapter === "redis-streams" && d.recovery;
        } else if (d.setDefaults) {
          config.realtime.nodes = 1;
          config.realtime.connectionStateRecovery = d.recovery;
        }
        if (topology !== "single") config.app = { port: d.appPort, healthPath: d.healthPath, ...(multi ? { nodes: d.appNodes } : {}) };
        if (tls) {
          config.tls = { terminator: d.terminator, minVersion: d.minVersion, hstsMaxAge: d.hsts.value };
          config.plainHttpRealtime = d.plainHttpRealtime;
        }
        const [client, server, tunnel, proxyRead] = d.margins.map((margin) => heartbeat + margin);
        config.timeouts = { connect: d.connect.value, client, server, tunnel, proxyRead, healthCheckInterval: d.healthCheckInterval.value };
        if (d.origins) config.cors = { origins: d.origins };
        config.limits = { maxMessageBytes: d.maxMessageBytes, maxConnections: d.maxConnections, connectionRatePerClient: d.rate };
        return config;
      });
  });
}

/** A valid config broken in one place, and the field the one error must name. */
export interface Breakage {
  config: Config;
  field: string;
  how: string;
}

type Breaker = (config: Config) => fc.Arbitrary<Breakage> | null;

const clone = (config: Config): Config => JSON.parse(JSON.stringify(config)) as Config;
function set(config: Config, dotted: string, value: unknown): Config {
  const copy = clone(config);
  const keys = dotted.split(".");
  let target = copy;
  for (const key of keys.slice(0, -1)) target = target[key] ??= {};
  target[keys[keys.length - 1]!] = value;
  return copy;
}

/** Values of the wrong type for a number, a string, a boolean or a group. */
const wrongType = fc.oneof(fc.constant(null), fc.boolean(), fc.constant([]), fc.constant({}), fc.string({ maxLength: 6 }).filter((s) => !/^\d/.test(s)));

const BREAKERS: Breaker[] = [
  // Wrong types.
  (c) => wrongType.chain((v) => fc.constantFrom("ports.http", "realtime.pingInterval", "timeouts.connect", "limits.maxMessageBytes", "limits.connectionRatePerClient").map((f) => ({ config: set(c, f, v), field: f, how: `${f}=${JSON.stringify(v)}` }))),
  (c) => fc.oneof(fc.integer(), fc.constant(null), fc.constant(["a"])).map((v) => ({ config: set(c, "hostname", v), field: "hostname", how: `hostname=${JSON.stringify(v)}` })),
  (c) => fc.constantFrom("yes", 1, null).map((v) => ({ config: set(c, "realtime.connectionStateRecovery", v), field: "realtime.connectionStateRecovery", how: `recovery=${JSON.stringify(v)}` })),
  // Out of range.
  (c) => fc.oneof(fc.integer({ max: 0 }), fc.integer({ min: 65536 }), fc.double({ min: 1.1, max: 65534.9, noInteger: true })).map((v) => ({ config: set(c, "ports.http", v), field: "ports.http", how: `ports.http=${v}` })),
  (c) => (c.topology === "multi-node" ? fc.oneof(fc.integer({ max: 0 }), fc.integer({ min: 33, max: 10_000 })).map((v) => ({ config: set(c, "realtime.nodes", v), field: "realtime.nodes", how: `realtime.nodes=${v}` })) : null),
  (c) => (c.topology !== "multi-node" ? fc.integer({ min: 2, max: 32 }).map((v) => ({ config: set(c, "realtime.nodes", v), field: "realtime.nodes", how: `realtime.nodes=${v} outside multi-node` })) : null),
  (c) => fc.oneof(fc.integer({ min: -5, max: 1023 }), fc.integer({ min: 100 * 1024 * 1024 + 1 })).map((v) => ({ config: set(c, "limits.maxMessageBytes", v), field: "limits.maxMessageBytes", how: `maxMessageBytes=${v}` })),
  (c) => fc.oneof(fc.integer({ min: -5, max: 99 }), fc.integer({ min: 1_000_001 })).map((v) => ({ config: set(c, "limits.maxConnections", v), field: "limits.maxConnections", how: `maxConnections=${v}` })),
  (c) => fc.constantFrom(0, "0s", "-5s", "5 seconds", "1.5s", "5sec", "").map((v) => ({ config: set(c, "timeouts.connect", v), field: "timeouts.connect", how: `connect=${JSON.stringify(v)}` })),
  // Unknown keys, at the top and inside a group.
  (c) => fc.constantFrom("topolgy", "port", "Hostname", "extra", "__proto_x").map((k) => ({ config: { ...clone(c), [k]: 1 }, field: k, how: `unknown ${k}` })),
  (c) => fc.tuple(fc.constantFrom("ports", "realtime", "timeouts", "limits"), fc.constantFrom("nodez", "maxconn", "https2", "x")).map(([g, k]) => ({ config: set(c, `${g}.${k}`, 1), field: `${g}.${k}`, how: `unknown ${g}.${k}` })),
  // Bad choices.
  (c) => fc.constantFrom("dual", "Single", "", "multi_node").map((v) => ({ config: { ...clone(c), topology: v }, field: "topology", how: `topology=${v}` })),
  (c) => (c.tls ? fc.constantFrom("TLSv1", "TLSv1.1", "tls1.2").map((v) => ({ config: set(c, "tls.minVersion", v), field: "tls.minVersion", how: `minVersion=${v}` })) : null),
  (c) => fc.constantFrom("*", "https://a.example/path", "ftp://a.example", "null").map((v) => ({ config: set(c, "cors.origins", [v]), field: "cors.origins.0", how: `origin ${v}` })),
  // Clashing ports.
  (c) => (c.ports.https !== undefined ? fc.constant({ config: set(c, "ports.https", c.ports.http), field: "ports.https", how: "https = http" }) : null),
  (c) => (SPLIT.includes(c.topology) ? fc.constant({ config: set(c, "ports.realtime", c.ports.http), field: "ports.realtime", how: "realtime = http" }) : null),
  // Options that do not fit the topology.
  (c) => (c.topology !== "node-proxy" ? fc.constant({ config: { ...clone(c), front: "haproxy" }, field: "front", how: "front outside node-proxy" }) : null),
  (c) => (!TLS.includes(c.topology) ? fc.constant({ config: { ...clone(c), tls: { terminator: "stunnel" } }, field: "tls", how: "tls without TLS" }) : null),
  (c) => (c.topology !== "multi-node" ? fc.constantFrom("source", "cookie").map((v) => ({ config: set(c, "realtime.stickiness", v), field: "realtime.stickiness", how: "stickiness outside multi-node" })) : null),
  (c) => (c.topology === "single" ? fc.constant({ config: { ...clone(c), app: { port: 3000 } }, field: "app", how: "app in single" }) : null),
  (c) => (TLS.includes(c.topology) ? fc.constant({ config: set(c, "ports.realtime", 9999), field: "ports.realtime", how: "split port with TLS" }) : null),
  // Rules across fields.
  (c) => {
    const heartbeat = 120_001; // above any drawn timeout margin's floor: the idle limit falls below it
    return fc.constantFrom("client", "server", "tunnel", "proxyRead").map((name) => {
      const broken = set(c, "realtime.pingInterval", 60_000);
      broken.realtime.pingTimeout = 60_001;
      for (const other of ["client", "server", "tunnel", "proxyRead"]) broken.timeouts[other] = heartbeat + 1000;
      broken.timeouts[name] = heartbeat - 1;
      return { config: broken, field: `timeouts.${name}`, how: `timeouts.${name} below the heartbeat` };
    });
  },
  (c) => (c.topology === "multi-node" ? fc.constant({ config: set(set(c, "realtime.adapter", "redis"), "realtime.connectionStateRecovery", true), field: "realtime.connectionStateRecovery", how: "recovery with the plain Redis adapter" }) : null),
  (c) => (c.tls ? fc.constant({ config: set(c, "tls.certFile", "cert.pem"), field: "tls.keyFile", how: "certFile without keyFile" }) : null),
];

/** A valid config broken in exactly one way. */
export function brokenConfig(): fc.Arbitrary<Breakage> {
  return validConfig().chain((config) => {
    const applicable = BREAKERS.map((breaker) => breaker(config)).filter((arbitrary): arbitrary is fc.Arbitrary<Breakage> => arbitrary !== null);
    return fc.oneof(...applicable);
  });
}
