import assert from "node:assert/strict";
import crypto from "node:crypto";
import tls from "node:tls";
import type { Socket } from "socket.io-client";
import type { StartedTestContainer } from "testcontainers";
import { httpRequest, sendBody } from "../../driver/http";
import { CONTAINER_PATHS, INTERNAL_PORTS } from "../../model/layout";
import { docker } from "../../driver/engine";
import { deploymentContainers, readLogs } from "../../driver/logs";
import { canConnect } from "../../driver/ports";
import { queryByLabel } from "../../driver/prometheus";
import type { RunningTopology } from "../../driver/running";
import { planDeployment } from "../../render/deployment";
import { request, whoami } from "../../driver/socket-client";
import { sleep, waitFor } from "../../driver/wait";
import { runRoundtrips } from "../../harness/client/agent";
import { startClientContainer } from "../../harness/client-containers";
import { client, connectedClient, everyContainerHealthy, measure, publishedPorts, type TopologyHandle } from "./clients";
import { runCli, spawnCli } from "../cli-process";

/**
 * Assertions shared by the topology describes. Each one drives real traffic through the
 * published ports and checks values the servers report.
 */

const ECHO = { text: "hello", n: 42, nested: { ok: true } };

/** (1) A websocket-only client connects, reports websocket, and round-trips events. */
export async function websocketOnlyRoundTrip(t: RunningTopology, url = t.urls.realtime): Promise<void> {
  const socket = await connectedClient({ url, transports: ["websocket"], ca: t.ca ?? undefined });
  const me = await whoami(socket);
  assert.equal(me.transport, "websocket");
  assert.ok(t.realtimeNodes.includes(me.node), `answered by ${me.node}, not one of ${t.realtimeNodes.join(", ")}`);
  const echo = await request<{ payload: unknown; node: string }>(socket, "echo", ECHO);
  assert.deepEqual(echo.payload, ECHO);
  const chat = await request<{ ok: boolean; id: string; node: string }>(socket, "chat", "websocket-only says hi");
  assert.equal(chat.ok, true);
  assert.equal(chat.node, me.node);
}

/**
 * (2) Polling-only clients round-trip many events each, with no "Session ID unknown" or other
 * error. Under cookie stickiness they keep the cookie (withCredentials), as that mode requires.
 */
export async function pollingManyRoundTrips(t: RunningTopology, url = t.urls.realtime, clients = 3, rounds = 50): Promise<void> {
  const withCredentials = t.model.realtime.stickiness === "cookie";
  const report = await runRoundtrips({ mode: "roundtrips", url, clients, rounds, transports: ["polling"], ca: t.ca ?? undefined, withCredentials });
  for (const one of report.clients) {
    assert.deepEqual(one.errors, [], `client ${one.index}: ${one.errors.join("; ")}`);
    assert.equal(one.acks, rounds, `client ${one.index} got ${one.acks}/${rounds} echoes`);
    assert.equal(one.transport, "polling");
    assert.equal(one.nodes.length, 1, `client ${one.index} was answered by ${one.nodes.join(", ")}`);
  }
}

/** (3) A default client starts on polling and upgrades to websocket; the server sees the websocket. */
export async function upgradesToWebsocket(t: RunningTopology, url = t.urls.realtime, withCredentials = false): Promise<void> {
  const socket = client({ url, ca: t.ca ?? undefined, withCredentials });
  // The engine opens (handshake) on polling; the upgrade starts right after and may finish before
  // Socket.IO's own "connect", so the first transport is read at the engine's "open".
  const firstTransport = await new Promise<string>((resolve, reject) => {
    socket.io.once("open", () => resolve(socket.io.engine.transport.name));
    socket.once("connect_error", reject);
  });
  assert.equal(firstTransport, "polling", "Socket.IO's default client connects over polling first");
  let upgradedTo: string | null = null;
  if (socket.io.engine.transport.name === "polling") socket.io.engine.once("upgrade", (transport: { name: string }) => (upgradedTo = transport.name));
  else upgradedTo = socket.io.engine.transport.name;
  await waitFor(() => socket.connected && upgradedTo === "websocket", { timeoutMs: 10_000, what: "the connection and its upgrade to websocket" });
  const me = await whoami(socket);
  assert.equal(me.transport, "websocket", "the server reports the upgraded transport");
  const stats = await t.stats(me.node);
  assert.ok(stats.transports.websocket >= 1, `${me.node} counts ${stats.transports.websocket} websocket clients`);
}

/** (4) The second stack answers through the front door; only the public ports are published (on `hostIp`). */
export async function secondStackBehindFrontDoor(t: RunningTopology, hostIp = "127.0.0.1"): Promise<void> {
  const response = await httpRequest(`${t.urls.http}/ping`);
  assert.equal(response.status, 200);
  assert.equal(response.body, "PONG. EOM.");
  assert.match(String(response.headers["x-app-node"]), /^app-\d+$/);
  await onlyPublicPortsPublished(t, hostIp);
}

/**
 * Published ports from the engine equal the model's public ports, bound to `hostIp` (`up` binds
 * 127.0.0.1 unless told otherwise; the Pulumi program every interface), and the deployment's
 * Prometheus where it runs, on 127.0.0.1 whatever `hostIp` is; the private ports refuse connections.
 */
export async function onlyPublicPortsPublished(t: RunningTopology, hostIp = "127.0.0.1"): Promise<void> {
  const all = await publishedPorts(t.runId);
  const prometheus = all.filter((port) => port.service === "prometheus");
  assert.deepEqual(prometheus.map((port) => `${port.hostIp}:${port.hostPort}`), t.model.prometheus ? [`127.0.0.1:${t.model.prometheus.port}`] : [], "Prometheus: loopback only");
  const published = all.filter((port) => port.service !== "prometheus");
  const expected = [t.model.ports.http, t.model.tls?.httpsPort ?? null, t.model.ports.realtime].filter((port): port is number => port !== null).sort();
  assert.deepEqual([...new Set(published.map((port) => port.hostPort))].sort(), expected, `published: ${JSON.stringify(published)}`);
  for (const port of published) assert.equal(port.hostIp, hostIp, `${port.service} publishes on ${port.hostIp}`);
  const internal = t.deployment.services.filter((service) => service.role === "app" || service.role === "redis");
  for (const service of internal) {
    assert.ok(!published.some((port) => port.service === service.name), `${service.name} publishes a port`);
    assert.equal(await canConnect(service.port), false, `localhost:${service.port} (${service.name}'s port) accepts connections`);
  }
}

/** (5) `realtime-kit check` against the published URL passes. */
export async function checkCommandPasses(handle: TopologyHandle, extra: string[] = []): Promise<void> {
  const t = handle.t;
  const args = ["check", t.urls.https ?? t.urls.http, ...(handle.caFile ? ["--ca", handle.caFile] : []), ...(t.model.app ? [] : ["--no-app"]), ...extra];
  const result = await runCli(args);
  assert.equal(result.code, 0, `check exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
  assert.match(result.stdout, /all checks passed/);
  assert.match(result.stdout, /ok {3}Socket\.IO handshake on \/socket\.io\/ .*\(the kit's realtime server\)/);
  assert.match(result.stdout, /ok {3}\[kit server\] WebSocket \/echo/);
  assert.match(result.stdout, /ok {3}\[kit server\] Socket\.IO over polling only: echo with ack/);
  assert.match(result.stdout, /ok {3}\[kit server\] Socket\.IO over websocket only: echo with ack/);
  assert.match(result.stdout, /ok {3}Socket\.IO over polling only: 20 requests in one session/);
  assert.match(result.stdout, /ok {3}Socket\.IO upgrade to WebSocket/);
  assert.doesNotMatch(result.stdout, /^skip \[kit server\]/m);
  if (t.model.app) assert.match(result.stdout, /ok {3}second stack: GET \/ping .*PONG\. EOM\./);
  else assert.match(result.stdout, /skip second stack/);
}

/** Opens an Engine.IO polling session and connects the main namespace: its sid, and the headers (a sticky cookie) its later requests need, as a browser's would carry. */
export async function pollingSession(url: string, ca: string | undefined): Promise<{ sid: string; headers: Record<string, string> }> {
  const open = await httpRequest(`${url}/socket.io/?EIO=4&transport=polling`, { ca });
  assert.equal(open.status, 200, open.body);
  const sid = /"sid":"([^"]+)"/.exec(open.body)?.[1];
  assert.ok(sid, `no sid in ${open.body}`);
  const cookie = ([] as string[]).concat(open.headers["set-cookie"] ?? []).map((line) => line.split(";")[0]).join("; ");
  const headers: Record<string, string> = cookie ? { Cookie: cookie } : {};
  const connect = await sendBody(`${url}/socket.io/?EIO=4&transport=polling&sid=${sid}`, Buffer.from("40"), { ca, headers });
  assert.equal(connect.status, 200, `CONNECT packet: ${connect.status} ${connect.body}`);
  return { sid, headers };
}

/**
 * (9) Bodies sent chunked (legal HTTP/1.1, what streaming clients send) are held to
 * limits.maxMessageBytes by their real size where they are read: an Engine.IO POST under it gets
 * 200 and one over it 413; an upload to the second stack under it arrives byte for byte.
 */
export async function chunkedBodies(t: RunningTopology): Promise<{ under: number; over: number; upload: number | null }> {
  const limit = t.model.limits.maxMessageBytes;
  const ca = t.ca ?? undefined;
  const url = t.urls.realtime;
  const session = await pollingSession(url, ca);
  const post = (body: Buffer) => sendBody(`${url}/socket.io/?EIO=4&transport=polling&sid=${session.sid}`, body, { ca, chunked: true, headers: session.headers });
  const under = await post(Buffer.from(`42["echo",{"text":"${"c".repeat(Math.floor(limit / 2))}"}]`));
  assert.equal(under.status, 200, `a chunked Engine.IO POST under the limit: ${under.status} ${under.body.slice(0, 200)}`);
  assert.equal(under.body, "ok");
  const over = await post(Buffer.from(`42["echo",{"text":"${"C".repeat(limit + 1024)}"}]`));
  assert.equal(over.status, 413, `a chunked Engine.IO POST over the limit: ${over.status} ${over.body.slice(0, 200)}`);
  let upload: number | null = null;
  if (t.model.app) {
    const body = crypto.randomBytes(Math.floor(limit / 2));
    const answer = await sendBody(`${t.urls.http}/api/upload`, body, { chunked: true });
    assert.equal(answer.status, 200, `a chunked upload to the second stack: ${answer.status} ${answer.body.slice(0, 200)}`);
    const received = JSON.parse(answer.body) as { bytes: number; sha256: string };
    assert.deepEqual(received, { ...received, bytes: body.length, sha256: crypto.createHash("sha256").update(body).digest("hex") }, "the second stack received the body intact");
    upload = body.length;
  }
  return { under: under.status, over: over.status, upload };
}

/** (6) A broadcasts, B receives; a late joiner C gets the message in its history. */
export async function broadcastAndHistory(t: RunningTopology): Promise<void> {
  const ca = t.ca ?? undefined;
  const a = await connectedClient({ url: t.urls.realtime, ca });
  const b = await connectedClient({ url: t.urls.realtime, ca });
  const text = `broadcast ${Date.now()}`;
  const received = nextChat(b, text);
  const ack = await request<{ ok: boolean; id: string; node: string }>(a, "chat", text);
  assert.equal(ack.ok, true);
  const message = await received;
  assert.equal(message.id, ack.id);
  const c = client({ url: t.urls.realtime, ca });
  const history = await new Promise<{ id: string; text: string }[]>((resolve) => c.once("history", resolve));
  assert.ok(history.some((entry) => entry.id === ack.id && entry.text === text), "the late joiner's history holds the message");
}

export function nextChat(socket: Socket, text: string, timeoutMs = 10_000): Promise<{ id: string; text: string; node: string }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no chat "${text}" within ${timeoutMs} ms`)), timeoutMs);
    const onChat = (message: { id: string; text: string; node: string }) => {
      if (message.text !== text) return;
      clearTimeout(timer);
      socket.off("chat", onChat);
      resolve(message);
    };
    socket.on("chat", onChat);
  });
}

/** (7) TLS: verified https with HSTS, wss, TLS 1.0/1.1 refused by the server, TLS 1.2 accepted, plain-http realtime redirected. */
export async function tlsChecks(t: RunningTopology): Promise<void> {
  const https = t.urls.https!;
  const ca = t.ca!;
  const page = await httpRequest(`${https}/chat/`, { ca });
  assert.equal(page.status, 200);
  assert.match(String(page.headers["strict-transport-security"]), new RegExp(`^max-age=${t.model.tls!.hstsMaxAgeSeconds}$`));
  const app = await httpRequest(`${https}/ping`, { ca });
  assert.equal(app.body, "PONG. EOM.");
  assert.ok(app.headers["strict-transport-security"], "HSTS on the second stack's https responses too");

  // Verification is real: without the CA the same request fails.
  await assert.rejects(httpRequest(`${https}/chat/`), /unable to (verify|get local issuer)|self.signed|UNABLE_TO/i);

  const port = t.model.tls!.httpsPort;
  for (const version of ["TLSv1", "TLSv1.1"] as const) {
    // SECLEVEL=0 lets our OpenSSL 3 offer the old protocol at all, so a failure is the server's.
    const old = await tlsHandshake(port, ca, { minVersion: version, maxVersion: version, ciphers: "DEFAULT:@SECLEVEL=0" });
    assert.equal(old.ok, false, `a ${version} handshake must fail`);
    // The server's refusal: a protocol_version alert (70), not our client declining to offer it.
    assert.match(old.error!, /ALERT_PROTOCOL_VERSION|alert protocol version/i, `${version} failed for another reason: ${old.error}`);
  }
  const modern = await tlsHandshake(port, ca, { minVersion: "TLSv1.2", maxVersion: "TLSv1.2" });
  assert.equal(modern.ok, true, `TLS 1.2 failed: ${modern.error}`);
  assert.equal(modern.protocol, "TLSv1.2");
  assert.equal(modern.authorized, true);

  // Realtime over plain http is redirected (or refused) per the model.
  const plain = await httpRequest(`${t.urls.http}/socket.io/?EIO=4&transport=polling`);
  if (t.model.tls?.plainHttpRealtime === "redirect") {
    assert.equal(plain.status, 308);
    assert.equal(plain.headers.location, `${https}/socket.io/?EIO=4&transport=polling`);
  } else {
    assert.equal(plain.status, 403);
  }
  await websocketOnlyRoundTrip(t, https);
}

interface HandshakeResult {
  ok: boolean;
  protocol?: string | null;
  authorized?: boolean;
  error?: string;
}

export function tlsHandshake(port: number, ca: string, options: tls.ConnectionOptions): Promise<HandshakeResult> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: "localhost", port, servername: "localhost", ca, ...options });
    socket.setTimeout(10_000, () => {
      socket.destroy();
      resolve({ ok: false, error: "timeout" });
    });
    socket.once("secureConnect", () => {
      const result = { ok: true, protocol: socket.getProtocol(), authorized: socket.authorized };
      socket.end();
      resolve(result);
    });
    socket.once("error", (error: NodeJS.ErrnoException) => resolve({ ok: false, error: `${error.code ?? ""} ${error.message}` }));
  });
}

/** (12) Split-port: the page's origin talks to the realtime port; another Origin gets 403. */
export async function splitPortOrigins(t: RunningTopology): Promise<void> {
  const pageOrigin = t.urls.http;
  const realtime = t.urls.realtimePort!;
  const page = await httpRequest(`${pageOrigin}/chat/`);
  assert.equal(page.status, 200);
  const config = await httpRequest(`${pageOrigin}/chat/config.json`);
  assert.equal(JSON.parse(config.body).realtimePort, t.model.ports.realtime);
  // The page port no longer serves Socket.IO.
  assert.equal((await httpRequest(`${pageOrigin}/socket.io/?EIO=4&transport=polling`)).status, 404);

  const handshake = `${realtime}/socket.io/?EIO=4&transport=polling`;
  const allowed = await httpRequest(handshake, { headers: { Origin: pageOrigin } });
  assert.equal(allowed.status, 200, allowed.body);
  assert.equal(allowed.headers["access-control-allow-origin"], pageOrigin);
  assert.equal(allowed.headers["access-control-allow-credentials"], "true");
  const refused = await httpRequest(handshake, { headers: { Origin: "http://evil.example:8080" } });
  assert.equal(refused.status, 403, `a foreign Origin got ${refused.status}`);
  assert.equal(refused.headers["access-control-allow-origin"], undefined);

  // Socket.IO clients sending the page's Origin work over both transports; a foreign one is refused.
  for (const transport of ["polling", "websocket"] as const) {
    const socket = await connectedClient({ url: realtime, transports: [transport], extraHeaders: { Origin: pageOrigin } });
    assert.equal((await whoami(socket)).transport, transport);
  }
  const foreign = client({ url: realtime, transports: ["websocket"], extraHeaders: { Origin: "http://evil.example:8080" } });
  const error = await new Promise<Error>((resolve) => foreign.once("connect_error", resolve));
  assert.match(String(error.message), /websocket error/);
}

/** Measures and returns how long until `condition` holds. */
export async function timeUntil(what: string, condition: () => Promise<boolean> | boolean, timeoutMs: number, intervalMs = 200): Promise<number> {
  const started = Date.now();
  await waitFor(async () => (await condition()) || undefined, { timeoutMs, intervalMs, what });
  return Date.now() - started;
}

export { measure };

/**
 * Sequential-ish burst of short requests (no keep-alive: one connection each) from inside a
 * client container; counts answers and refused connections.
 */
const BURST_SCRIPT = `
const [url, total, concurrency] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
const fs = require("fs");
const lib = url.startsWith("https") ? require("https") : require("http");
const ca = fs.existsSync("/kit/ca.pem") ? fs.readFileSync("/kit/ca.pem") : undefined;
let started = 0, ok = 0, refused = 0; const other = {};
const one = () => new Promise((resolve) => {
  const request = lib.get(url, { agent: false, ca, headers: { Connection: "close" } }, (response) => {
    response.resume();
    response.on("end", () => { if (response.statusCode === 200) ok++; else other[response.statusCode] = (other[response.statusCode] || 0) + 1; resolve(); });
  });
  request.setTimeout(5000, () => request.destroy(new Error("timeout")));
  request.on("error", () => { refused++; resolve(); });
});
const worker = async () => { while (started < total) { started++; await one(); } };
const t0 = Date.now();
Promise.all(Array.from({ length: concurrency }, worker)).then(() => console.log(JSON.stringify({ ok, refused, other, ms: Date.now() - t0 })));
`;

export interface BurstResult {
  ok: number;
  refused: number;
  other: Record<string, number>;
  ms: number;
}

export async function burst(container: import("../../harness/client-containers").ClientContainer, url: string, total: number, concurrency = 16): Promise<BurstResult> {
  return JSON.parse(await container.node(BURST_SCRIPT, [url, String(total), String(concurrency)])) as BurstResult;
}

/**
 * (8b) HAProxy's per-client connection-rate limit counts each client address: one address that
 * opens more than limits.connectionRatePerClient connections in 10 s is refused, while another
 * address is still served.
 */
export async function rateLimitPerClientAddress(t: RunningTopology): Promise<void> {
  const limit = t.model.limits.connectionRatePerClient;
  const url = `${t.internalUrls.realtime}/ping`;
  const [flooder, bystander] = await Promise.all([startClientContainer(t, { name: "flooder" }), startClientContainer(t, { name: "bystander" })]);
  const before = await burst(bystander, url, 1, 1);
  assert.equal(before.ok, 1, `the bystander is not served before the flood: ${JSON.stringify(before)}`);
  // Three times the limit, as fast as 32 parallel connections go: even on a loaded machine the
  // flood outruns limit/10 s, and every attempt over the limit counts, refused ones included.
  const total = limit * 3;
  const flood = await burst(flooder, url, total, 32);
  measure(`${t.model.topology}.${t.model.tls?.terminator ?? "plain"}.rate-limit.flood`, flood.ok, "answered", `${flood.refused} refused of ${total} in ${flood.ms} ms (limit ${limit}/10 s per address)`);
  assert.ok(flood.refused >= limit, `the flooding address was not limited (expected at least ${limit} of ${total} refused): ${JSON.stringify(flood)}`);
  const after = await burst(bystander, url, 5, 1);
  assert.equal(after.ok, 5, `another address (${bystander.address}) was refused right after ${flooder.address} flooded: the limit is not per client address (${JSON.stringify(after)})`);
}

/**
 * Smoke test of the images: every container of the deployment becomes healthy by its image's own
 * HEALTHCHECK (not only by the harness's probes). Returns the images, so each suite shows which
 * of images/ it covers.
 */
export async function everyImageHealthy(t: RunningTopology): Promise<string[]> {
  await everyContainerHealthy(t);
  return [...new Set(t.deployment.services.map((service) => service.image))].sort();
}

// ---------------------------------------------------------------- the checks as tests

/**
 * The checks above that topologies run as they are, each under its usual title. A describe lists
 * the ones it runs with `itChecks`, in its own order, and may give one a title of its own where
 * the topology changes what it proves (over wss, with the CA).
 */
const STANDARD_CHECKS = {
  websocketOnly: { title: "(1) a websocket-only client connects and round-trips events", run: (h: TopologyHandle) => websocketOnlyRoundTrip(h.t) },
  websocketOnlyOnRealtimePort: { title: "(1) a websocket-only client round-trips on the realtime port", run: (h: TopologyHandle) => websocketOnlyRoundTrip(h.t, h.t.urls.realtimePort!) },
  polling: { title: "(2) polling-only clients round-trip 50 events each, no Session ID unknown", run: (h: TopologyHandle) => pollingManyRoundTrips(h.t) },
  pollingOnRealtimePort: { title: "(2) polling-only clients round-trip 50 events each on the realtime port", run: (h: TopologyHandle) => pollingManyRoundTrips(h.t, h.t.urls.realtimePort!) },
  upgrade: { title: "(3) a default client starts on polling and upgrades to websocket", run: (h: TopologyHandle) => upgradesToWebsocket(h.t) },
  secondStack: { title: "(4) the second stack answers through the front door (PONG); its port and nothing else private is reachable from the host", run: (h: TopologyHandle) => secondStackBehindFrontDoor(h.t) },
  chunked: {
    title: "(9) chunked bodies: an Engine.IO POST under the limit gets 200, over it 413; a chunked upload reaches the second stack intact",
    run: async (h: TopologyHandle) => void (await chunkedBodies(h.t)),
  },
  checkCommand: { title: "(5) `realtime-kit check` passes against the published URL", run: (h: TopologyHandle) => checkCommandPasses(h) },
  checkCommandRealtimeUrl: { title: "(5) `realtime-kit check --realtime-url` passes", run: (h: TopologyHandle) => checkCommandPasses(h, ["--realtime-url", h.t.urls.realtimePort!]) },
  broadcast: { title: "(6) broadcast reaches the other client; a late joiner gets the history", run: (h: TopologyHandle) => broadcastAndHistory(h.t) },
  tls: {
    title: "(7) TLS: verified https + wss, HSTS, TLS 1.0/1.1 refused, TLS 1.2 accepted, plain-http realtime redirected (308)",
    run: (h: TopologyHandle) => tlsChecks(h.t),
  },
  splitPortOrigins: { title: "(12) the page's origin talks to the realtime port; a foreign Origin is refused (403)", run: (h: TopologyHandle) => splitPortOrigins(h.t) },
} satisfies Record<string, { title: string; run: (handle: TopologyHandle) => Promise<void> }>;

export type StandardCheck = keyof typeof STANDARD_CHECKS;

/** Registers one `it` per check, in the order given: a name, or [name, the title this topology gives it]. */
export function itChecks(topology: TopologyHandle, checks: (StandardCheck | [StandardCheck, string])[]): void {
  for (const entry of checks) {
    const [name, title] = typeof entry === "string" ? [entry, STANDARD_CHECKS[entry].title] : entry;
    it(title, async function () {
      await STANDARD_CHECKS[name].run(topology);
    });
  }
}

/**
 * Redis requires the deployment's password (issue: anyone on the network could PUBLISH into the
 * adapter's channels): a client without it is refused, one with it is served, and no container's
 * log and nothing in the deployment's plan shows it.
 */
export async function redisRequiresPassword(t: RunningTopology): Promise<void> {
  const redis = await t.engineContainer("redis");
  const password = ((await redis.inspect()).Config.Env ?? []).find((entry) => entry.startsWith("REDIS_PASSWORD="))?.slice("REDIS_PASSWORD=".length);
  assert.ok(password && password.length >= 24, "Redis runs with a password of its own");
  const stranger = await t.exec("redis", ["redis-cli", "-h", "redis", "-p", "6379", "PUBLISH", "socket.io#/#", "from a stranger"]);
  assert.match(stranger.output, /NOAUTH/, `an unauthenticated PUBLISH is refused, got: ${stranger.output.trim()}`);
  const member = await t.exec("redis", ["bash", "-c", 'REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli -h redis -p 6379 PUBLISH realtime-kit:probe ok']);
  assert.match(member.output.trim(), /^\d+$/, `with the password Redis answers, got: ${member.output.trim()}`);
  for (const service of t.deployment.services) {
    assert.ok(!(await t.logs(service.name)).includes(password), `${service.name}'s log shows the Redis password`);
  }
  assert.ok(!JSON.stringify(t.deployment).includes(password), "the plan holds no password");
}

/** The value of one Prometheus series in a scrape (NaN when absent). */
export function seriesValue(scrape: string, series: string): number {
  const line = scrape.split("\n").find((candidate) => candidate.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : NaN;
}

/**
 * Prometheus metrics inside the deployment's network only: each realtime node's /metrics counts a
 * websocket client while it is connected (and on the node it is connected to), HAProxy's exporter
 * shows every realtime server UP; neither port is published.
 */
export async function metricsInsideOnly(t: RunningTopology): Promise<void> {
  const scrape = async (url: string) => {
    const response = await t.fetchInside(url);
    assert.equal(response.status, 200, `GET ${url}`);
    return response.body;
  };
  const sockets = async (node: string) => seriesValue(await scrape(`http://${node}:${INTERNAL_PORTS.realtimeMetrics}/metrics`), `socketio_sockets{transport="websocket",node="${node}"}`);
  const before = Object.fromEntries(await Promise.all(t.realtimeNodes.map(async (node) => [node, await sockets(node)] as const)));
  const socket = await connectedClient({ url: t.urls.realtime, ca: t.ca ?? undefined, transports: ["websocket"] });
  const { node } = await whoami(socket);
  await waitFor(async () => (await sockets(node)) === before[node]! + 1, { timeoutMs: 5_000, what: `${node}'s socketio_sockets to count the new client` });
  socket.disconnect();
  await waitFor(async () => (await sockets(node)) === before[node], { timeoutMs: 5_000, what: `${node}'s socketio_sockets to let the client go` });
  const haproxy = await scrape(`http://haproxy:${INTERNAL_PORTS.haproxyMonitor}/metrics`);
  for (const member of t.realtimeNodes) assert.match(haproxy, new RegExp(`^haproxy_server_status\\{proxy="[^"]+",server="${member}",state="UP"\\} 1$`, "m"), `HAProxy's exporter shows ${member} UP`);
  const published = (await Promise.all(t.deployment.services.map((service) => t.engineContainer(service.name).then((c) => c.inspect())))).flatMap((info) => Object.keys(info.NetworkSettings.Ports ?? {}).filter((port) => (info.NetworkSettings.Ports[port] ?? []).length > 0));
  assert.ok(!published.includes(`${INTERNAL_PORTS.realtimeMetrics}/tcp`) && !published.includes(`${INTERNAL_PORTS.haproxyMonitor}/tcp`), `metrics ports published: ${published.join(", ")}`);
}

/**
 * The deployment's Prometheus (metrics.prometheus) scrapes every realtime node and HAProxy, and a
 * new client shows in its node's series; its series live in the deployment's data volume.
 */
export async function prometheusScrapesEveryNode(t: RunningTopology): Promise<void> {
  const prometheus = t.urls.prometheus;
  assert.ok(prometheus, "the model runs no Prometheus");
  const targets = [...t.realtimeNodes, ...(t.deployment.services.some((service) => service.role === "haproxy") ? ["haproxy"] : [])];
  await waitFor(async () => {
    const up = await queryByLabel(prometheus, "up", "service");
    return targets.every((service) => up[service] === 1);
  }, { timeoutMs: 30_000, what: `Prometheus to scrape ${targets.join(", ")}` });
  // Prometheus against the node's own count, read from inside the network: clients of earlier
  // checks may still be leaving, so a count taken from Prometheus before connecting can be stale.
  const inPrometheus = async (node: string) => (await queryByLabel(prometheus, "sum by (service) (socketio_sockets)", "service"))[node];
  const onNode = async (node: string) => {
    const scrape = (await t.fetchInside(`http://${node}:${INTERNAL_PORTS.realtimeMetrics}/metrics`)).body;
    return seriesValue(scrape, `socketio_sockets{transport="websocket",node="${node}"}`) + seriesValue(scrape, `socketio_sockets{transport="polling",node="${node}"}`);
  };
  const socket = await connectedClient({ url: t.urls.realtime, ca: t.ca ?? undefined, transports: ["websocket"] });
  const { node } = await whoami(socket);
  const withClient = await waitFor(async () => {
    const [seen, actual] = [await inPrometheus(node), await onNode(node)];
    return actual >= 1 && seen === actual ? actual : false;
  }, { timeoutMs: 15_000, what: `Prometheus to count the new client on ${node} as the node does` });
  socket.disconnect();
  await waitFor(async () => (await onNode(node)) === withClient - 1 && (await inPrometheus(node)) === withClient - 1, { timeoutMs: 15_000, what: `Prometheus to see the client leave ${node}` });
  const info = await (await t.engineContainer("prometheus")).inspect();
  const data = info.Mounts.find((mount) => mount.Destination === CONTAINER_PATHS.prometheusData);
  assert.ok(data && data.Type === "volume" && data.RW, `Prometheus's data is not in a writable volume: ${JSON.stringify(info.Mounts)}`);
}

/**
 * `realtime-kit logs`: HAProxy's access log is JSON naming the node that served each request, with
 * its timers and termination state; each realtime node logs the client's connect and disconnect
 * (with its reason) under the Engine.IO session id HAProxy saw; a pool name selects its nodes; an
 * unknown service is bad input; `--follow` prints a new request as it happens.
 */
export async function logsCommand(t: RunningTopology): Promise<void> {
  const socket = await connectedClient({ url: t.urls.realtime, ca: t.ca ?? undefined, transports: ["polling", "websocket"], withCredentials: true });
  const sid = socket.io.engine.id;
  const { node } = await whoami(socket);
  socket.disconnect();
  type Line = { service: string; at: string; msg?: string; [field: string]: unknown };
  const read = async (...args: string[]): Promise<Line[]> => {
    const result = await runCli(["logs", "--deployment", t.runId, "--json", ...args]);
    assert.equal(result.code, 0, result.stderr);
    return result.stdout.trim().split("\n").map((line) => JSON.parse(line) as Line);
  };
  let lines: Line[] = [];
  await waitFor(async () => {
    lines = await read();
    return lines.some((line) => line.service === node && line.msg === "disconnected" && line.sid === sid);
  }, { timeoutMs: 10_000, intervalMs: 500, what: `${node}'s "disconnected" line for ${sid}` });
  const sorted = [...lines].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  assert.deepEqual(lines.map((line) => line.at), sorted.map((line) => line.at), "merged in time order");

  const connected = lines.find((line) => line.service === node && line.msg === "connected" && line.sid === sid);
  assert.ok(connected, `${node} logged no "connected" for ${sid}`);
  assert.equal(connected.transport, "polling");
  assert.match(String(connected.forwardedFor), /^\d+\.\d+\.\d+\.\d+$/, `HAProxy's X-Forwarded-For: ${JSON.stringify(connected)}`);
  const disconnected = lines.find((line) => line.service === node && line.msg === "disconnected" && line.sid === sid)!;
  assert.equal(disconnected.reason, "client namespace disconnect");

  const access = lines.filter((line) => line.service === "haproxy" && typeof line.status === "number");
  const ofSession = access.filter((line) => String(line.request).includes(`sid=${sid}`));
  assert.ok(ofSession.length > 0, `no HAProxy access line for ${sid} among ${access.length}`);
  for (const line of ofSession) {
    assert.equal(line.server, node, "the access log names the node that served the session");
    assert.match(String(line.request), /^(GET|POST) \/socket\.io\/\?/);
    assert.match(String(line.termination), /^[-A-Za-z]{4}$/);
    for (const timer of ["Tw", "Tc", "Tr", "Ta", "Tt"]) assert.equal(typeof line[timer], "number", `${timer} is a number`);
  }
  assert.ok(!access.some((line) => String(line.request).includes("/metrics")), "scrapes are kept out of the access log");

  const realtimeOnly = await read("realtime", "--since", "600");
  assert.deepEqual([...new Set(realtimeOnly.map((line) => line.service))].sort(), [...t.realtimeNodes].sort());
  const unknown = await runCli(["logs", "nosuch", "--deployment", t.runId]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /service: .* has no service "nosuch"; its services are /);

  const follow = spawnCli(["logs", "haproxy", "--deployment", t.runId, "--follow", "--json"]);
  try {
    const marker = `/ping?follow=${crypto.randomBytes(4).toString("hex")}`;
    await sleep(1000);
    await waitFor(async () => {
      await httpRequest(`${t.urls.http}${marker}`).catch(() => undefined);
      return follow.output().includes(marker);
    }, { timeoutMs: 15_000, intervalMs: 1000, what: `--follow to print the request to ${marker}` });
  } finally {
    assert.equal(await follow.stop(), 0, "logs --follow exits 0 on SIGINT");
  }
}

/**
 * A stand-in for a CDN in front of the edge: passes each request on to the deployment's https
 * entry (`target`, inside the network), naming the client given in its `client` query parameter
 * in CF-Connecting-IP. It skips verifying the throwaway certificate; a real CDN would not.
 */
const fakeCdn = (target: string) => `
const https = require("https");
const target = new URL(${JSON.stringify(target)});
require("http").createServer((req, res) => {
  const client = new URL(req.url, "http://cdn").searchParams.get("client");
  const headers = { ...req.headers, host: "localhost", ...(client ? { "cf-connecting-ip": client } : {}) };
  const upstream = https.request({ host: target.hostname, port: target.port, servername: "localhost", rejectUnauthorized: false, method: req.method, path: req.url, headers }, (answer) => {
    res.writeHead(answer.statusCode, answer.headers);
    answer.pipe(res);
  });
  upstream.on("error", (error) => { res.writeHead(502); res.end(String(error)); });
  req.pipe(upstream);
}).listen(8080);`;

/**
 * clientAddress behind a proxy in front of the edge: with the proxy's address trusted (delivered
 * as a new haproxy.cfg, which HAProxy reloads), HAProxy takes each client's address from
 * CF-Connecting-IP on requests that reach it over https through the proxy (behind stunnel, the
 * proxy's address comes with the PROXY header): its access log shows it, source stickiness keeps each client on one node and
 * spreads them, and the per-client limit refuses a flooding client (429) while serving another.
 * The same header sent by anyone else is not believed. Leaves the deployment with the new config.
 */
export async function trustedProxyInFront(t: RunningTopology): Promise<void> {
  assert.ok(t.internalUrls.https, "a topology with an https entry");
  const { standIn: cdn, delivered } = await trustStandIn(t, "cdn", fakeCdn(t.internalUrls.https), { header: "CF-Connecting-IP", proxyProtocol: false });

  const run = crypto.randomBytes(3).toString("hex");
  const clients = Array.from({ length: 8 }, (_, index) => `203.0.113.${index + 1}`);
  for (const client of clients) {
    for (let attempt = 0; attempt < 3; attempt++) {
      const answer = await t.fetchInside(`http://cdn:8080/socket.io/?EIO=4&transport=polling&client=${client}&run=${run}`);
      assert.equal(answer.status, 200, `handshake for ${client} through the CDN`);
    }
  }
  // The same header from an address that is not trusted (the toolbox, on plain http, to the second stack).
  const forged = await t.fetchInside(`http://haproxy:${INTERNAL_PORTS.haproxyHttp}/ping?forged=${run}`, { "CF-Connecting-IP": "198.51.100.9" });
  assert.equal(forged.status, 200);

  type Access = { client: string; server: string; request: string; status: number };
  let access: Access[] = [];
  await waitFor(async () => {
    access = await accessLines<Access>(t, delivered, run);
    return access.length === clients.length * 3 + 1;
  }, { timeoutMs: 10_000, what: `HAProxy's access lines of the ${clients.length * 3 + 1} requests` });
  const nodeOf = new Map<string, Set<string>>();
  for (const client of clients) {
    const lines = access.filter((line) => line.request.includes(`client=${client}&`));
    assert.ok(lines.every((line) => line.client.startsWith(`${client}:`)), `HAProxy logged ${client}'s requests as from ${lines.map((line) => line.client).join(", ")}`);
    nodeOf.set(client, new Set(lines.map((line) => line.server)));
    assert.equal(nodeOf.get(client)!.size, 1, `${client}'s requests went to ${[...nodeOf.get(client)!].join(" and ")}: source stickiness must keep one node`);
  }
  const nodes = new Set([...nodeOf.values()].flatMap((set) => [...set]));
  assert.equal(nodes.size, t.realtimeNodes.length, `${clients.length} clients all on ${[...nodes].join(", ")}: source stickiness should spread them`);
  const forgedLine = access.find((line) => line.request.includes(`forged=${run}`))!;
  assert.ok(forgedLine.client.startsWith(`${await t.toolboxAddress()}:`), `a header from an untrusted address was believed: ${forgedLine.client}`);

  // A burst from one client through the CDN: refused past the per-client limit; another client is still served.
  const limit = t.model.limits.connectionRatePerClient;
  const burst = `Promise.all(Array.from({ length: ${limit + 50} }, () => fetch("http://127.0.0.1:8080/socket.io/?EIO=4&transport=polling&client=203.0.113.200").then((r) => r.status, () => 0))).then((s) => process.stdout.write(JSON.stringify(s)))`;
  const statuses = JSON.parse((await cdn.exec(["node", "-e", burst])).stdout) as number[];
  const refused = statuses.filter((status) => status === 429).length;
  assert.ok(refused >= 1 && statuses.filter((status) => status === 200).length >= limit - 10, `burst of ${statuses.length}: ${refused} refused, statuses ${[...new Set(statuses)].join(",")}`);
  assert.equal((await t.fetchInside("http://cdn:8080/socket.io/?EIO=4&transport=polling&client=203.0.113.201")).status, 200, "another client behind the same CDN is still served");
}

/**
 * A stand-in for a TCP load balancer that speaks the PROXY protocol (v1): each connection is
 * passed on to HAProxy's http port prefixed with a PROXY header naming the client given in the
 * request's `client` query parameter (read from the first bytes; a real one names the peer).
 */
const FAKE_PROXY_PROTOCOL_BALANCER = `
const net = require("net");
net.createServer((downstream) => {
  downstream.once("data", (first) => {
    const client = (/[?&]client=([0-9.]+)/.exec(first.toString("latin1")) || [])[1] || "192.0.2.1";
    const upstream = net.connect(${INTERNAL_PORTS.haproxyHttp}, "haproxy", () => {
      upstream.write("PROXY TCP4 " + client + " 10.0.0.1 40000 ${INTERNAL_PORTS.haproxyHttp}\\r\\n");
      upstream.write(first);
      downstream.pipe(upstream);
      upstream.pipe(downstream);
    });
    upstream.on("error", () => downstream.destroy());
    downstream.on("error", () => upstream.destroy());
  });
}).listen(8080);`;

/**
 * clientAddress.proxyProtocol behind a TCP load balancer: with its address trusted (a new
 * haproxy.cfg, reloaded), HAProxy reads the client from each of its connections' PROXY header:
 * the access log shows it and the per-client connection limit counts it; a PROXY header from any
 * other address is not read (the request is refused as malformed), and that address's plain
 * requests are served under its own address. Leaves the deployment with the new config.
 */
export async function proxyProtocolBalancerInFront(t: RunningTopology): Promise<void> {
  const { standIn: balancer, delivered } = await trustStandIn(t, "balancer", FAKE_PROXY_PROTOCOL_BALANCER, { header: "X-Forwarded-For", proxyProtocol: true });

  const run = crypto.randomBytes(3).toString("hex");
  const clients = ["203.0.113.1", "203.0.113.2", "203.0.113.3"];
  for (const client of clients) assert.equal((await t.fetchInside(`http://balancer:8080/ping?client=${client}&run=${run}`)).status, 200, `${client} through the balancer`);

  // A stranger (a container of its own on the deployment's network: not trusted) sends a PROXY header, then a plain request.
  const stranger = await t.startPeerContainer("stranger", ["sleep", "infinity"]);
  const rawProxy = `const s = require("net").connect(${INTERNAL_PORTS.haproxyHttp}, "haproxy", () => s.write("PROXY TCP4 198.51.100.9 10.0.0.1 1 ${INTERNAL_PORTS.haproxyHttp}\\r\\nGET /ping?stranger=${run} HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n")); let out = ""; s.on("data", (d) => (out += d)); s.on("close", () => process.stdout.write(out.split("\\r\\n")[0] || "closed"));`;
  const refused = await stranger.exec(["node", "-e", rawProxy]);
  assert.match(refused.stdout, /^HTTP\/1\.[01] 400|^closed$/, `a PROXY header from an untrusted container was read: ${refused.stdout}`);
  const plain = await stranger.exec(["node", "-e", `fetch("http://haproxy:${INTERNAL_PORTS.haproxyHttp}/ping?plain=${run}").then((r) => process.stdout.write(String(r.status)))`]);
  assert.equal(plain.stdout, "200", "the untrusted container's plain request");

  type Access = { client: string; request: string };
  let access: Access[] = [];
  await waitFor(async () => {
    access = await accessLines<Access>(t, delivered, run);
    return access.filter((line) => /client=|plain=/.test(line.request)).length === clients.length + 1;
  }, { timeoutMs: 10_000, what: "HAProxy's access lines of the balanced and the plain requests" });
  for (const client of clients) {
    const line = access.find((candidate) => candidate.request.includes(`client=${client}&`));
    assert.ok(line?.client.startsWith(`${client}:`), `HAProxy logged ${client}'s request as from ${line?.client}`);
  }
  const strangerAddress = await t.addressOf(stranger);
  assert.ok(access.find((line) => line.request.includes(`plain=${run}`))!.client.startsWith(`${strangerAddress}:`), "the stranger is logged by its own address");

  // A burst of connections from one client through the balancer: refused past the per-client limit; another client is still served.
  const limit = t.model.limits.connectionRatePerClient;
  const burst = `Promise.all(Array.from({ length: ${limit + 50} }, () => fetch("http://127.0.0.1:8080/ping?client=203.0.113.200").then((r) => r.status, () => 0))).then((s) => process.stdout.write(JSON.stringify(s)))`;
  const statuses = JSON.parse((await balancer.exec(["node", "-e", burst])).stdout) as number[];
  const cut = statuses.filter((status) => status !== 200).length;
  assert.ok(cut >= 1 && statuses.filter((status) => status === 200).length >= limit - 10, `burst of ${statuses.length}: ${cut} refused, statuses ${[...new Set(statuses)].join(",")}`);
  assert.equal((await t.fetchInside("http://balancer:8080/ping?client=203.0.113.201")).status, 200, "another client behind the same balancer is still served");
}

/**
 * Starts a stand-in proxy (`script`, run by Node) on the deployment's network and delivers a
 * haproxy.cfg that trusts its address with `settings`, as a second `pulumi up` would; resolves
 * once HAProxy has reloaded it. Returns the stand-in and the time the config was delivered.
 */
async function trustStandIn(t: RunningTopology, name: string, script: string, settings: { header: string; proxyProtocol: boolean }): Promise<{ standIn: StartedTestContainer; delivered: number }> {
  const standIn = await t.startPeerContainer(name, ["node", "-e", script]);
  const address = await t.addressOf(standIn);
  const delivered = Date.now();
  await t.applyFiles(planDeployment({ ...t.model, clientAddress: { trustedProxies: [`${address}/32`], ...settings } }));
  await waitFor(async () => (await linesSince(t, "haproxy", delivered)).some((line) => /reload-on-change: .* passed; sending SIGUSR2 to haproxy/.test(line)), {
    timeoutMs: 30_000,
    what: `HAProxy to reload the config that trusts the stand-in ${name}`,
  });
  await sleep(500); // the new worker takes over the listeners
  return { standIn, delivered };
}

/** HAProxy's JSON access lines since `since` whose request carries `marker` (its config watcher's JSON lines have no request). */
async function accessLines<T extends { request: string }>(t: RunningTopology, since: number, marker: string): Promise<T[]> {
  return (await linesSince(t, "haproxy", since))
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as T)
    .filter((line) => typeof line.request === "string" && line.request.includes(marker));
}

/**
 * Every line every service of the deployment wrote so far, as `docker logs` gives it, is a JSON
 * object: also those of the programs that cannot write JSON (Redis, stunnel, nginx's error log,
 * HAProxy's notices), which the images' run-with-json-logs converts.
 */
export async function everyLineStructured(t: RunningTopology): Promise<void> {
  const services = new Set(planDeployment(t.model).services.map((service) => service.name));
  const containers = (await deploymentContainers(docker, t.runId)).filter((entry) => services.has(entry.service));
  assert.deepEqual(new Set(containers.map((entry) => entry.service)), services, "every service's container");
  const lines = await readLogs(containers);
  const unstructured = lines.filter((line) => line.fields === null).map((line) => `${line.service}: ${line.text}`);
  assert.deepEqual(unstructured, [], `${unstructured.length} of ${lines.length} lines are not JSON objects`);
  for (const service of services) assert.ok(lines.some((line) => line.service === service), `${service} wrote nothing to check`);
}

/** The lines a service wrote since `since` (ms epoch), read as `realtime-kit logs` reads them. */
async function linesSince(t: RunningTopology, service: string, since: number): Promise<string[]> {
  const sinceSeconds = Math.ceil((Date.now() - since) / 1000) + 1;
  return (await readLogs([{ service, container: await t.engineContainer(service) }], { sinceSeconds })).map((line) => line.text);
}
