import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { io as connect, type Socket } from "socket.io-client";
import { createKitServer, KitEnvError, originCheck, readKitEnv, socketIoOptions, type KitServer, type Logger } from "../../server/src/index";
import { STOP_BOUND_MS } from "../../server/src/lifecycle";

/**
 * @realtime-kit/server (server/), in process: what it reads from the kit's environment and what a
 * server made with createKitServer answers. The kit's realtime image is built on the same pieces,
 * so every integration, hardening and fault suite runs them too; examples/live-poll is built with
 * createKitServer and deployed by the own-images suites.
 */
const quiet: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

async function freePort(): Promise<number> {
  const probe = http.createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

function get(port: number, path: string, agent?: http.Agent): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port, path, agent }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      })
      .on("error", reject);
  });
}

async function waitUntil(condition: () => Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("condition not met within the time allowed");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("@realtime-kit/server", () => {
  describe("readKitEnv", () => {
    it("has the kit's defaults when a variable is unset", () => {
      const env = readKitEnv({ NODE_ID: "n1" });
      assert.deepEqual(env, {
        port: 8080,
        healthPath: "/healthz",
        nodeId: "n1",
        corsOrigins: [],
        pingIntervalMs: 25000,
        pingTimeoutMs: 20000,
        maxHttpBufferSize: 1e6,
        stickyCookie: null,
        sessionIdPrefix: null,
        redisUrl: null,
        redisPassword: null,
        redisTlsCa: null,
        adapter: "redis",
        connectionStateRecovery: false,
        metricsPort: null,
        adminUi: null,
      });
    });

    it("reads the admin UI's settings: read-only and user admin unless told otherwise", () => {
      const hash = "$2b$10$" + "a".repeat(53);
      assert.deepEqual(readKitEnv({ ADMIN_UI_PORT: "9400", ADMIN_UI_PASSWORD_HASH: hash }).adminUi, { port: 9400, username: "admin", passwordHash: hash, readonly: true });
      assert.deepEqual(readKitEnv({ ADMIN_UI_PORT: "9401", ADMIN_UI_PASSWORD_HASH: hash, ADMIN_UI_USERNAME: "ops", ADMIN_UI_READONLY: "0" }).adminUi, { port: 9401, username: "ops", passwordHash: hash, readonly: false });
    });

    it("reads every variable the kit passes", () => {
      const env = readKitEnv({
        PORT: "3000",
        HEALTH_PATH: "/up?full=1",
        NODE_ID: "realtime-2",
        CORS_ORIGINS: "https://Example.com/, http://localhost:8080",
        PING_INTERVAL_MS: "10000",
        PING_TIMEOUT_MS: "5000",
        MAX_HTTP_BUFFER_SIZE: "65536",
        STICKY_COOKIE: "rk_node",
        SESSION_ID_PREFIX: "r2",
        REDIS_URL: "redis://redis:6379/0",
        REDIS_PASSWORD: "s3cret",
        ADAPTER: "redis-streams",
        CONNECTION_STATE_RECOVERY: "1",
        METRICS_PORT: "9464",
      });
      assert.equal(env.metricsPort, 9464);
      assert.equal(env.port, 3000);
      assert.equal(env.healthPath, "/up", "the load balancer's query is not part of the route");
      assert.deepEqual(env.corsOrigins, ["https://example.com", "http://localhost:8080"]);
      assert.deepEqual([env.pingIntervalMs, env.pingTimeoutMs, env.maxHttpBufferSize], [10000, 5000, 65536]);
      assert.deepEqual([env.stickyCookie, env.sessionIdPrefix, env.redisUrl, env.redisPassword, env.adapter, env.connectionStateRecovery], ["rk_node", "r2", "redis://redis:6379/0", "s3cret", "redis-streams", true]);
    });

    const refused: Array<[Record<string, string>, RegExp]> = [
      [{ PORT: "http" }, /^PORT must be a number/],
      [{ PORT: "70000" }, /^PORT must be <= 65535/],
      [{ HEALTH_PATH: "healthz" }, /^HEALTH_PATH must be a path starting with \//],
      [{ CORS_ORIGINS: "*" }, /^CORS_ORIGINS must list origins/],
      [{ CORS_ORIGINS: "https://example.com/app" }, /^CORS_ORIGINS entry must be a bare origin/],
      [{ PING_INTERVAL_MS: "0" }, /^PING_INTERVAL_MS must be >= 1/],
      [{ MAX_HTTP_BUFFER_SIZE: "1.5" }, /^MAX_HTTP_BUFFER_SIZE must be an integer/],
      [{ STICKY_COOKIE: "a b" }, /^STICKY_COOKIE must be a cookie name token/],
      [{ SESSION_ID_PREFIX: "r/1" }, /^SESSION_ID_PREFIX must be 1-64 letters/],
      [{ REDIS_URL: "http://redis:6379" }, /^REDIS_URL must be redis:\/\/host:port/],
      [{ ADAPTER: "postgres" }, /^ADAPTER must be "redis" or "redis-streams"/],
      [{ CONNECTION_STATE_RECOVERY: "maybe" }, /^CONNECTION_STATE_RECOVERY must be 1\/0/],
      [{ METRICS_PORT: "0" }, /^METRICS_PORT must be >= 1/],
      [{ REDIS_URL: "rediss://10.0.0.11:6379", REDIS_TLS_CA: "not a pem" }, /^REDIS_TLS_CA must be a PEM certificate/],
      [{ ADMIN_UI_PORT: "9400" }, /^ADMIN_UI_PASSWORD_HASH must be a bcrypt hash/],
      [{ ADMIN_UI_PORT: "9400", ADMIN_UI_PASSWORD_HASH: "hunter2" }, /^ADMIN_UI_PASSWORD_HASH must be a bcrypt hash/],
      [{ ADMIN_UI_PASSWORD_HASH: "$2b$10$" + "a".repeat(53) }, /^ADMIN_UI_PASSWORD_HASH is given without ADMIN_UI_PORT/],
      [{ ADMIN_UI_PORT: "9400", ADMIN_UI_PASSWORD_HASH: "$2b$10$" + "a".repeat(53), ADMIN_UI_READONLY: "perhaps" }, /^ADMIN_UI_READONLY must be 1\/0/],
      [{ REDIS_URL: "redis://redis:6379", REDIS_TLS_CA: "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----" }, /^REDIS_TLS_CA is given but REDIS_URL is not rediss:/],
    ];
    for (const [env, message] of refused) {
      it(`refuses ${JSON.stringify(env)} with one error naming the variable`, () => {
        assert.throws(() => readKitEnv(env), (error: unknown) => error instanceof KitEnvError && message.test(error.message));
      });
    }
  });

  describe("socketIoOptions and originCheck", () => {
    it("turns the environment into Socket.IO's options", () => {
      const options = socketIoOptions(readKitEnv({ PING_INTERVAL_MS: "10000", PING_TIMEOUT_MS: "5000", MAX_HTTP_BUFFER_SIZE: "4096", STICKY_COOKIE: "rk", CORS_ORIGINS: "https://a.example", CONNECTION_STATE_RECOVERY: "1" }));
      assert.equal(options.path, "/socket.io");
      assert.deepEqual([options.pingInterval, options.pingTimeout, options.maxHttpBufferSize], [10000, 5000, 4096]);
      assert.deepEqual(options.cookie, { name: "rk", path: "/", httpOnly: true, sameSite: "lax" });
      assert.deepEqual(options.cors, { origin: ["https://a.example"], credentials: true });
      assert.ok(options.connectionStateRecovery);
      const plain = socketIoOptions(readKitEnv({}));
      assert.equal(plain.cookie, false, "no sticky cookie unless the kit asks for one");
      assert.equal(plain.cors, undefined);
      assert.equal(plain.connectionStateRecovery, undefined);
    });

    it("allows requests without an Origin, the listed origins, and same-origin only when none are listed", () => {
      const request = (headers: http.IncomingHttpHeaders) => ({ headers }) as http.IncomingMessage;
      const listed = originCheck(["https://a.example"]);
      assert.equal(listed(request({})), true);
      assert.equal(listed(request({ origin: "https://A.example/" })), true);
      assert.equal(listed(request({ origin: "https://b.example" })), false);
      const sameOrigin = originCheck([]);
      assert.equal(sameOrigin(request({ origin: "http://shop.example:8080", host: "shop.example:8080" })), true);
      assert.equal(sameOrigin(request({ origin: "http://evil.example", host: "shop.example:8080" })), false);
      assert.equal(sameOrigin(request({ origin: "null", host: "shop.example" })), false);
    });
  });

  describe("createKitServer", () => {
    let kit: KitServer;
    let port: number;
    let exits: number[];
    const clients: Socket[] = [];

    beforeEach(async () => {
      port = await freePort();
      exits = [];
      kit = createKitServer({
        env: { PORT: String(port), NODE_ID: "unit-1", HEALTH_PATH: "/up", SESSION_ID_PREFIX: "u1", STICKY_COOKIE: "rk", PING_INTERVAL_MS: "4000", PING_TIMEOUT_MS: "3000", MAX_HTTP_BUFFER_SIZE: "2048" },
        onRequest: (_req, res) => res.end("the application's own route\n"),
        log: quiet,
        exit: (code) => exits.push(code),
      });
      kit.io.on("connection", (socket) => socket.on("hello", (ack: (answer: string) => void) => ack(`hello from ${kit.env.nodeId}`)));
      await kit.listen();
    });

    afterEach(async () => {
      for (const client of clients.splice(0)) client.close();
      if (!kit.lifecycle.stopping) await kit.stop("test over");
      process.removeAllListeners("SIGTERM");
      process.removeAllListeners("SIGINT");
    });

    it("answers the health route, the application's routes and a handshake with the kit's values", async () => {
      const health = await get(port, "/up");
      assert.equal(health.status, 200);
      assert.deepEqual(JSON.parse(health.body), { status: "ok", node: "unit-1" });
      assert.equal((await get(port, "/anything")).body, "the application's own route\n");
      const handshake = await get(port, "/socket.io/?EIO=4&transport=polling");
      assert.equal(handshake.status, 200);
      const open = JSON.parse(handshake.body.slice(1)) as { sid: string; pingInterval: number; pingTimeout: number; maxPayload: number };
      assert.match(open.sid, /^u1\./, "session ids carry SESSION_ID_PREFIX");
      assert.deepEqual([open.pingInterval, open.pingTimeout, open.maxPayload], [4000, 3000, 2048]);
      assert.match(String(handshake.headers["set-cookie"]), /^rk=/, "the sticky cookie is set on the handshake");
    });

    it("serves a real client over WebSocket", async () => {
      const client = connect(`http://127.0.0.1:${port}`, { transports: ["websocket"], reconnection: false });
      clients.push(client);
      const answer = await client.timeout(3000).emitWithAck("hello");
      assert.equal(answer, "hello from unit-1");
    });

    it("logs each connect, disconnect (with its reason) and refused request as a JSON line carrying the Engine.IO session id", async () => {
      const lines: { level: string; msg: string; fields: Record<string, unknown> }[] = [];
      const record = (level: string) => (msg: string, fields: Record<string, unknown> = {}) => lines.push({ level, msg, fields });
      const logged = createKitServer({ env: { PORT: String(await freePort()), NODE_ID: "unit-l", SESSION_ID_PREFIX: "ul" }, log: { info: record("info"), warn: record("warn"), error: record("error") }, exit: () => undefined });
      await logged.listen();
      try {
        const client = connect(`http://127.0.0.1:${logged.env.port}`, { transports: ["websocket"], reconnection: false, extraHeaders: { "X-Forwarded-For": "203.0.113.9" } });
        clients.push(client);
        await new Promise<void>((resolve) => client.on("connect", () => resolve()));
        const sid = client.io.engine.id;
        client.disconnect();
        await waitUntil(async () => lines.some((line) => line.msg === "disconnected"));
        const unknown = await get(logged.env.port, "/socket.io/?EIO=4&transport=polling&sid=ul.nobody");
        assert.equal(unknown.status, 400);
        const connected = lines.find((line) => line.msg === "connected")!;
        assert.deepEqual([connected.level, connected.fields.sid, connected.fields.transport, connected.fields.forwardedFor, connected.fields.recovered], ["info", sid, "websocket", "203.0.113.9", false]);
        assert.match(String(connected.fields.sid), /^ul\./);
        const disconnected = lines.find((line) => line.msg === "disconnected")!;
        assert.deepEqual([disconnected.fields.sid, disconnected.fields.reason], [sid, "client namespace disconnect"]);
        assert.equal(typeof disconnected.fields.seconds, "number");
        const refused = lines.find((line) => line.msg === "refused")!;
        assert.deepEqual([refused.level, refused.fields.reason], ["warn", "Session ID unknown"]);
      } finally {
        await logged.stop("test over");
      }
    });

    it("serves Prometheus metrics on METRICS_PORT only: sockets by transport, handshakes, upgrades, events, disconnects by reason", async () => {
      const metricsPort = await freePort();
      const withMetrics = createKitServer({ env: { PORT: String(await freePort()), NODE_ID: "unit-m", METRICS_PORT: String(metricsPort) }, log: quiet, exit: () => undefined });
      withMetrics.io.on("connection", (socket) => socket.on("ping-me", (ack: () => void) => ack()));
      await withMetrics.listen();
      const appPort = withMetrics.env.port;
      const scrape = async () => {
        const response = await get(metricsPort, "/metrics");
        assert.equal(response.status, 200);
        return response.body;
      };
      const value = (text: string, series: string) => Number(new RegExp(`^${series.replace(/[{}"]/g, (c) => `\\${c}`)} (\\d+)$`, "m").exec(text)?.[1] ?? NaN);
      try {
        assert.equal((await get(appPort, "/metrics")).status, 404, "not on the public port");
        const client = connect(`http://127.0.0.1:${appPort}`, { reconnection: false });
        clients.push(client);
        await client.timeout(3000).emitWithAck("ping-me");
        await waitUntil(async () => value(await scrape(), 'socketio_sockets{transport="websocket",node="unit-m"}') === 1);
        const during = await scrape();
        assert.equal(value(during, 'socketio_handshakes_total{node="unit-m"}'), 1);
        assert.equal(value(during, 'socketio_upgrades_total{node="unit-m"}'), 1);
        assert.equal(value(during, 'socketio_events_received_total{node="unit-m"}'), 1);
        assert.match(during, /^process_resident_memory_bytes\{node="unit-m"\} \d+/m);
        client.close();
        await waitUntil(async () => value(await scrape(), 'socketio_disconnects_total{reason="client namespace disconnect",node="unit-m"}') === 1);
        await waitUntil(async () => value(await scrape(), 'socketio_sockets{transport="websocket",node="unit-m"}') === 0);
      } finally {
        await withMetrics.stop("test over");
      }
    });

    it("on stop: health checks and new sessions turned away at once, every client let go, exit 0 well within the bound", async () => {
      const client = connect(`http://127.0.0.1:${port}`, { transports: ["websocket"], reconnection: false });
      clients.push(client);
      await new Promise<void>((resolve) => client.once("connect", () => resolve()));
      const disconnected = new Promise<string>((resolve) => client.once("disconnect", (reason) => resolve(reason)));
      const answerOrRefusal = (path: string) => get(port, path).then((r) => String(r.status), (error: NodeJS.ErrnoException) => error.code ?? "error");

      const started = Date.now();
      const stopping = kit.stop("SIGTERM");
      // The listener closes at once (and Node closes idle kept-alive connections with it): the load
      // balancer's next check and a new session find the door shut, or a 503 on a busy connection.
      const health = await answerOrRefusal("/up");
      const handshake = await answerOrRefusal("/socket.io/?EIO=4&transport=polling");
      assert.equal(kit.lifecycle.stopping, true);
      await stopping;
      assert.ok(["503", "ECONNREFUSED"].includes(health), `health during the stop: ${health}`);
      assert.ok(["503", "ECONNREFUSED"].includes(handshake), `a new session during the stop: ${handshake}`);
      assert.equal(await disconnected, "transport close");
      assert.deepEqual(exits, [0]);
      assert.ok(Date.now() - started < STOP_BOUND_MS / 2, `stopped in ${Date.now() - started} ms`);
    });
  });
});
