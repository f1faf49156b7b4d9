import { hostname } from "node:os";
import * as http from "node:http";
import type { Duplex } from "node:stream";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { Server, type ServerOptions, type Socket } from "socket.io";
import { answerExpectContinue, refuseOversizedBody } from "./body-limit";
import { ConfigError, loadConfig, type Config } from "./config";
import { EchoServer } from "./echo";
import { errMessage, log, setLogNode } from "./log";
import { makeOriginCheck } from "./origin";
import { limitConnectionRate } from "./connection-rate";
import { releaseHandshakeRequests } from "./idle-memory";
import { UpstreamProxy, endRaw } from "./proxy";
import type { RedisLink } from "./redis";
import { loadPublic, type StaticFile } from "./static";

interface ChatMessage {
  id: string;
  text: string;
  node: string;
  /** Milliseconds since the epoch, set by the node that accepted the message. */
  at: number;
}

type Ack = (response: unknown) => void;

const MAX_CHAT_LENGTH = 2000;
const HISTORY_KEY = "realtime-kit:chat:history";
const SOCKET_IO_PATH = "/socket.io/";

function pathnameOf(url: string | undefined): string {
  const u = url ?? "/";
  const q = u.indexOf("?");
  return q === -1 ? u : u.slice(0, q);
}

/** Paths the node answers itself on its main port, whatever APP_UPSTREAM says. */
function isOwnPath(p: string): boolean {
  return p === "/chat" || p.startsWith("/chat/") || p === "/healthz" || p === "/stats" || p.startsWith("/stats/");
}

function isSocketIoPath(url: string | undefined): boolean {
  return (url ?? "").startsWith(SOCKET_IO_PATH);
}

function isEchoPath(p: string): boolean {
  return p === "/echo" || p === "/echo/";
}

/** Ends a raw (upgrade) socket with a small HTTP response. */
function rejectUpgrade(socket: Duplex, status: number, reason: string, nodeId: string): void {
  endRaw(socket, `HTTP/1.1 ${status} ${reason}\r\nX-Node-Id: ${nodeId}\r\n`, `${status} ${reason}\n`);
}

/** The "error" listener of every upgraded socket (one function, not one per socket): a failed socket is closed. */
function destroySocket(this: Duplex): void {
  this.destroy();
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(data),
    "Cache-Control": "no-store",
  });
  res.end(data);
}

function sendText(res: http.ServerResponse, status: number, text: string, extra: http.OutgoingHttpHeaders = {}): void {
  res.writeHead(status, {
    "Content-Type": "text/plain; charset=utf-8",
    "Content-Length": Buffer.byteLength(text),
    ...extra,
  });
  res.end(text);
}

function run(config: Config): void {
  const nodeId = config.nodeId;
  const originAllowed = makeOriginCheck(config.corsOrigins);
  const publicFiles = loadPublic(join(__dirname, "..", "public"));
  // The Redis client and adapters are loaded only when a Redis URL is set: a node without Redis
  // would carry several MB of their code and state for nothing.
  const redis: RedisLink | null = config.redisUrl
    ? new (require("./redis") as typeof import("./redis")).RedisLink(config.redisUrl, config.adapter, HISTORY_KEY, config.historySize)
    : null;
  const proxy = config.appUpstream ? new UpstreamProxy(config.appUpstream, config.nodeId, config.maxHttpBufferSize) : null;
  const echo = new EchoServer(nodeId, config.maxHttpBufferSize);
  const startedAt = Date.now();
  let shuttingDown = false;

  // ---------------------------------------------------------------- Socket.IO
  const options: Partial<ServerOptions> = {
    path: SOCKET_IO_PATH.replace(/\/$/, ""),
    serveClient: true,
    pingInterval: config.pingIntervalMs,
    pingTimeout: config.pingTimeoutMs,
    maxHttpBufferSize: config.maxHttpBufferSize,
    // Requests with an Origin header not on the list (or cross-origin when no list) get a 403.
    allowRequest: (req, callback) => {
      if (originAllowed(req)) callback(null, true);
      else callback("origin not allowed", false);
    },
    // We route upgrades ourselves; engine.io must not end sockets it does not recognise.
    destroyUpgrade: false,
    cookie: config.stickyCookie ? { name: config.stickyCookie, path: "/", httpOnly: true, sameSite: "lax" } : false,
  };
  if (config.corsOrigins.length > 0) options.cors = { origin: config.corsOrigins, credentials: true };
  if (redis) options.adapter = redis.adapter;
  if (config.connectionStateRecovery) {
    options.connectionStateRecovery = { maxDisconnectionDuration: 2 * 60 * 1000, skipMiddlewares: true };
  }
  const io = new Server(options);

  // Socket.IO attaches to the server that carries the realtime endpoints; we take its listeners
  // back and call them ourselves so that one router decides what each port answers.
  const mainServer = http.createServer();
  const splitServer = config.realtimePort !== null ? http.createServer() : null;
  const realtimeServer = splitServer ?? mainServer;
  io.attach(realtimeServer);
  if (config.sessionIdPrefix) {
    // Session stickiness: the id names this node, so the load balancer can route the session's
    // polls and its WebSocket upgrade here without a cookie or a table (images/realtime/README.md).
    const prefix = `${config.sessionIdPrefix}.`;
    const generateId = io.engine.generateId.bind(io.engine);
    io.engine.generateId = async (req) => `${prefix}${await generateId(req)}`;
  }
  if (config.connectionRatePerClient !== null) {
    let lastRefusalLog = 0;
    limitConnectionRate([mainServer, ...(splitServer ? [splitServer] : [])], config.connectionRatePerClient, (address) => {
      if (Date.now() - lastRefusalLog < 5_000) return; // one line per 5 s during a flood
      lastRefusalLog = Date.now();
      log.warn("connection rate limit: refusing connections", { address, perTenSeconds: config.connectionRatePerClient });
    });
  }
  const sioRequest = realtimeServer.listeners("request") as Array<(req: http.IncomingMessage, res: http.ServerResponse) => void>;
  const sioUpgrade = realtimeServer.listeners("upgrade") as Array<(req: http.IncomingMessage, socket: Duplex, head: Buffer) => void>;
  realtimeServer.removeAllListeners("request");
  realtimeServer.removeAllListeners("upgrade");
  io.engine.on("headers", (headers: Record<string, string>) => {
    headers["X-Node-Id"] = nodeId;
  });
  releaseHandshakeRequests(io);

  // Redis state matters for the streams adapter: it awaits its XADD before the local broadcast,
  // so while Redis is down we broadcast (and restore sessions) locally only.
  if (redis && config.connectionStateRecovery) {
    const adapter = io.of("/").adapter;
    const restore = adapter.restoreSession.bind(adapter);
    // The base adapter resolves null for "no session" too; the typing just does not say so.
    adapter.restoreSession = (pid, offset) =>
      redis.ready ? restore(pid, offset) : (Promise.resolve(null) as unknown as ReturnType<typeof restore>);
  }

  let localHistory: ChatMessage[] = [];
  const remember = (m: ChatMessage) => {
    localHistory.push(m);
    if (localHistory.length > config.historySize) localHistory = localHistory.slice(-config.historySize);
  };
  async function currentHistory(): Promise<unknown[]> {
    if (redis) {
      const shared = await redis.history();
      if (shared) {
        localHistory = shared.slice(-config.historySize) as ChatMessage[];
        return shared;
      }
    }
    return [...localHistory];
  }

  // Event handlers are created once and shared by every socket (Socket.IO calls them with `this`
  // set to the socket), not created per connection: a node holds tens of thousands of sockets.
  function onChat(this: Socket, text: unknown, ack?: unknown): void {
    if (typeof text === "function" && ack === undefined) [text, ack] = [undefined, text];
    const reply: Ack = typeof ack === "function" ? (ack as Ack) : () => undefined;
    if (typeof text !== "string" || text.length < 1 || text.length > MAX_CHAT_LENGTH) {
      reply({ ok: false, error: `text must be a string of 1..${MAX_CHAT_LENGTH} characters` });
      return;
    }
    const msg: ChatMessage = { id: randomUUID(), text, node: nodeId, at: Date.now() };
    remember(msg);
    void redis?.push(msg);
    if (redis && !redis.ready) this.broadcast.local.emit("chat", msg);
    else this.broadcast.emit("chat", msg);
    reply({ ok: true, id: msg.id, node: nodeId });
  }

  function onEcho(payload: unknown, ack?: unknown): void {
    if (typeof payload === "function" && ack === undefined) [payload, ack] = [undefined, payload];
    if (typeof ack === "function") (ack as Ack)({ payload, node: nodeId });
  }

  function onWhoami(this: Socket, ack?: unknown): void {
    // instance: this process's container (its hostname), which changes when a rolling restart replaces the node.
    if (typeof ack === "function") (ack as Ack)({ node: nodeId, instance: hostname(), sid: this.id, transport: this.conn.transport.name });
  }

  io.on("connection", (socket: Socket) => {
    socket.on("chat", onChat);
    socket.on("echo", onEcho);
    socket.on("whoami", onWhoami);

    // A node-local emit to the socket's own room: with connection state recovery, socket.emit()
    // goes through the adapter, and the streams adapter would hold it until Redis answers.
    // The history is a per-connection snapshot and needs no recovery offset.
    currentHistory().then(
      (h) => io.local.to(socket.id).emit("history", h),
      (err: unknown) => log.error("history failed", { error: errMessage(err) }),
    );
  });

  // ---------------------------------------------------------------- HTTP routes
  function stats(): Record<string, unknown> {
    const transports = { polling: 0, websocket: 0 };
    // engine.io keeps its client map protected in the typings; it is the only per-transport view.
    const clients = (io.engine as unknown as { clients: Record<string, { transport: { name: string } }> }).clients;
    for (const c of Object.values(clients)) {
      const name = c.transport.name;
      if (name === "polling" || name === "websocket") transports[name]++;
    }
    const mem = process.memoryUsage();
    return {
      node: nodeId,
      sockets: io.of("/").sockets.size,
      engineClients: io.engine.clientsCount,
      transports,
      backendConnections: proxy ? proxy.connections : 0,
      redis: redis ? redis.state : "off",
      uptimeS: Math.round((Date.now() - startedAt) / 1000),
      rssBytes: mem.rss,
      heapUsedBytes: mem.heapUsed,
    };
  }

  function serveStatic(res: http.ServerResponse, file: StaticFile, head: boolean): void {
    res.writeHead(200, { "Content-Type": file.type, "Content-Length": file.body.length, "Cache-Control": "no-cache" });
    res.end(head ? undefined : file.body);
  }

  function ownRoute(req: http.IncomingMessage, res: http.ServerResponse, p: string): void {
    if (req.method !== "GET" && req.method !== "HEAD") {
      sendText(res, 405, "405 Method Not Allowed\n", { Allow: "GET, HEAD" });
      return;
    }
    const head = req.method === "HEAD";
    if (p === "/healthz") {
      sendJson(res, shuttingDown ? 503 : 200, { status: shuttingDown ? "shutting-down" : "ok", node: nodeId });
    } else if (p === "/stats") {
      sendJson(res, 200, stats());
    } else if (p.startsWith("/stats/sockets/")) {
      let id = p.slice("/stats/sockets/".length);
      try {
        id = decodeURIComponent(id);
      } catch {
        // leave undecoded
      }
      const connected = id !== "" && io.of("/").sockets.has(id);
      sendJson(res, connected ? 200 : 404, { node: nodeId, id, connected });
    } else if (p === "/chat") {
      res.writeHead(301, { Location: "/chat/", "Content-Length": 0 });
      res.end();
    } else if (p === "/chat/config.json") {
      sendJson(res, 200, { realtimePort: config.publicRealtimePort });
    } else if (p.startsWith("/chat/")) {
      const name = p === "/chat/" ? "index.html" : p.slice("/chat/".length);
      const file = publicFiles.get(name);
      if (file) serveStatic(res, file, head);
      else sendText(res, 404, "404 Not Found\n");
    } else {
      sendText(res, 404, "404 Not Found\n");
    }
  }

  /**
   * While shutting down, new realtime requests (handshakes and polls arriving on a proxy's
   * kept-alive connection after the listener closed) get 503 and the connection is closed: the
   * proxy retries them on another node at once, and no client gets a session here that would be
   * cut again a moment later.
   */
  function refuseWhileShuttingDown(req: http.IncomingMessage, res: http.ServerResponse, p: string): boolean {
    if (!shuttingDown || !(isSocketIoPath(req.url) || isEchoPath(p))) return false;
    sendText(res, 503, "503 Service Unavailable: this node is shutting down\n", { "X-Node-Id": nodeId, Connection: "close", "Retry-After": "0" });
    return true;
  }

  function onMainRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const p = pathnameOf(req.url);
    if (refuseWhileShuttingDown(req, res, p)) return;
    if (isSocketIoPath(req.url) || isEchoPath(p)) {
      res.setHeader("X-Node-Id", nodeId);
      if (splitServer) sendText(res, 404, "404 Not Found (realtime endpoints are on the realtime port)\n");
      else if (isEchoPath(p)) sendText(res, 426, "426 Upgrade Required: /echo is a WebSocket\n", { Upgrade: "websocket" });
      else if (!refuseOversizedBody(req, res, config.maxHttpBufferSize, { "X-Node-Id": nodeId })) for (const l of sioRequest) l.call(realtimeServer, req, res);
    } else if (isOwnPath(p)) {
      res.setHeader("X-Node-Id", nodeId);
      ownRoute(req, res, p);
    } else if (proxy) {
      proxy.web(req, res);
    } else {
      res.setHeader("X-Node-Id", nodeId);
      if (p === "/" && (req.method === "GET" || req.method === "HEAD")) {
        res.writeHead(302, { Location: "/chat/", "Content-Length": 0 });
        res.end();
      } else {
        sendText(res, 404, "404 Not Found\n");
      }
    }
  }

  function onSplitRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const p = pathnameOf(req.url);
    if (refuseWhileShuttingDown(req, res, p)) return;
    res.setHeader("X-Node-Id", nodeId);
    if (isSocketIoPath(req.url)) {
      if (!refuseOversizedBody(req, res, config.maxHttpBufferSize, { "X-Node-Id": nodeId })) for (const l of sioRequest) l.call(realtimeServer, req, res);
    } else if (isEchoPath(p)) sendText(res, 426, "426 Upgrade Required: /echo is a WebSocket\n", { Upgrade: "websocket" });
    else sendText(res, 404, "404 Not Found (this port serves only /socket.io/ and /echo)\n");
  }

  /** Upgrades for the realtime endpoints, on whichever server carries them. */
  function realtimeUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const p = pathnameOf(req.url);
    const sio = isSocketIoPath(req.url);
    if (!sio && !isEchoPath(p)) return false;
    // Checked here too so that a refused WebSocket gets 403 (engine.io would answer 400).
    if (!originAllowed(req)) rejectUpgrade(socket, 403, "Forbidden", nodeId);
    else if (sio) for (const l of sioUpgrade) l.call(realtimeServer, req, socket, head);
    else echo.handleUpgrade(req, socket, head);
    return true;
  }

  function onMainUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on("error", destroySocket);
    if (shuttingDown) return rejectUpgrade(socket, 503, "Service Unavailable", nodeId);
    const p = pathnameOf(req.url);
    if (isSocketIoPath(req.url) || isEchoPath(p)) {
      if (splitServer || !realtimeUpgrade(req, socket, head)) rejectUpgrade(socket, 404, "Not Found", nodeId);
    } else if (isOwnPath(p) || !proxy) {
      rejectUpgrade(socket, 404, "Not Found", nodeId);
    } else {
      proxy.ws(req, socket, head);
    }
  }

  function onSplitUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on("error", destroySocket);
    if (shuttingDown) return rejectUpgrade(socket, 503, "Service Unavailable", nodeId);
    if (!realtimeUpgrade(req, socket, head)) rejectUpgrade(socket, 404, "Not Found", nodeId);
  }

  mainServer.on("request", onMainRequest);
  mainServer.on("upgrade", onMainUpgrade);
  if (splitServer) {
    splitServer.on("request", onSplitRequest);
    splitServer.on("upgrade", onSplitUpgrade);
  }
  const servers = splitServer ? [mainServer, splitServer] : [mainServer];
  let activeRequests = 0;
  for (const s of servers) {
    // An Engine.IO POST announced over the limit is refused before its body is sent; the upstream
    // proxy's bodies (node-proxy) keep Node's default: 100 Continue, then its own limit.
    answerExpectContinue(s, config.maxHttpBufferSize, (req) => isSocketIoPath(req.url), { "X-Node-Id": nodeId });
    // Longer than the idle timeouts of the proxies in front, so that they, not we, close idle
    // keep-alive connections (otherwise a request can race our close and fail).
    s.keepAliveTimeout = 65_000;
    s.headersTimeout = 66_000;
    s.on("request", (_req: http.IncomingMessage, res: http.ServerResponse) => {
      activeRequests++;
      res.once("close", () => activeRequests--);
    });
    s.on("clientError", (_err, socket) => {
      if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
      socket.destroy();
    });
  }

  // ---------------------------------------------------------------- start
  const listening = (s: http.Server, port: number) =>
    new Promise<void>((resolve, reject) => {
      s.once("error", reject);
      s.listen(port, () => {
        s.off("error", reject);
        resolve();
      });
    });
  Promise.all([listening(mainServer, config.port), ...(splitServer && config.realtimePort ? [listening(splitServer, config.realtimePort)] : [])]).then(
    () =>
      log.info("realtime server started", {
        node: nodeId,
        port: config.port,
        realtimePort: config.realtimePort,
        publicRealtimePort: config.publicRealtimePort,
        redis: redis ? config.adapter : "off",
        connectionStateRecovery: config.connectionStateRecovery,
        corsOrigins: config.corsOrigins.length > 0 ? config.corsOrigins : "same-origin",
        stickyCookie: config.stickyCookie,
        appUpstream: config.appUpstream ? config.appUpstream.origin : null,
        node_version: process.version,
      }),
    (err: unknown) => {
      log.error("cannot listen", { error: errMessage(err) });
      process.exit(1);
    },
  );

  // ---------------------------------------------------------------- shutdown
  const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
  async function shutdown(signal: string): Promise<void> {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info("shutting down", { signal, sockets: io.of("/").sockets.size, echo: echo.size });
    setTimeout(() => {
      log.error("shutdown took more than 10 s; exiting hard");
      process.exit(1);
    }, 10_000).unref();

    // Stop accepting; /healthz on open keep-alive connections now answers 503.
    for (const s of servers) s.close();
    echo.close();
    // Disconnects every Socket.IO client (they see "transport close" and reconnect elsewhere).
    // Its promise also waits for every TCP connection to drain, which clients and userland
    // port proxies can drag out; we wait for in-flight HTTP requests instead (long-polls end
    // at once, proxied requests get up to 3 s).
    void io.close().catch(() => undefined);
    // io.close() detaches (and, with connection state recovery, persists) every socket at once but
    // closes their transports only after the adapter has closed, a Redis round trip or more on a
    // busy host: close them now, so clients reconnect elsewhere without waiting for it.
    io.engine.close();
    const deadline = Date.now() + 3000;
    await sleep(100);
    while (activeRequests > 0 && Date.now() < deadline) await sleep(25);
    proxy?.close(); // after the wait: destroying its agent would cut proxied requests short
    await redis?.close();
    for (const s of servers) s.closeAllConnections();
    log.info("stopped", { signal });
    process.exit(0);
  }
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));

  // Redis (and upstream) failures must never take the node down: node-redis rejects pending
  // commands when a connection drops, and the adapters do not always await them.
  let lastRejectionLog = 0;
  process.on("unhandledRejection", (reason: unknown) => {
    const now = Date.now();
    if (shuttingDown || now - lastRejectionLog < 5000) return;
    lastRejectionLog = now;
    log.warn("unhandled rejection (ignored)", { error: errMessage(reason) });
  });
}

function main(): void {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      log.error("invalid configuration", { error: err.message });
      process.exit(2);
    }
    throw err;
  }
  setLogNode(config.nodeId);
  run(config);
}

main();
