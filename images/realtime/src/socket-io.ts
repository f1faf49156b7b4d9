import type * as http from "node:http";
import type { Duplex } from "node:stream";
import { Server, type ServerOptions } from "socket.io";
import type { Config } from "./config";
import { releaseHandshakeRequests } from "./idle-memory";
import { SOCKET_IO_PATH } from "./paths";
import type { RedisLink } from "./redis";

type RequestListener = (req: http.IncomingMessage, res: http.ServerResponse) => void;
type UpgradeListener = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void;

/** The Socket.IO server and the HTTP entry points our routers hand its requests to. */
export interface SocketIo {
  readonly io: Server;
  handleRequest: RequestListener;
  handleUpgrade: UpgradeListener;
}

/**
 * Builds the Socket.IO server on `realtimeServer` (the split server, or the main one) with the
 * node's options: origin check, sticky cookie, session id prefix, adapter, connection state
 * recovery, and the per-connection memory savings.
 */
export function createSocketIo(config: Config, realtimeServer: http.Server, originAllowed: (req: http.IncomingMessage) => boolean, redis: RedisLink | null): SocketIo {
  const nodeId = config.nodeId;
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
  io.attach(realtimeServer);
  if (config.sessionIdPrefix) {
    // Session stickiness: the id names this node, so the load balancer can route the session's
    // polls and its WebSocket upgrade here without a cookie or a table (images/realtime/README.md).
    const prefix = `${config.sessionIdPrefix}.`;
    const generateId = io.engine.generateId.bind(io.engine);
    io.engine.generateId = async (req) => `${prefix}${await generateId(req)}`;
  }
  const sioRequest = realtimeServer.listeners("request") as RequestListener[];
  const sioUpgrade = realtimeServer.listeners("upgrade") as UpgradeListener[];
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

  return {
    io,
    handleRequest(req, res) {
      for (const l of sioRequest) l.call(realtimeServer, req, res);
    },
    handleUpgrade(req, socket, head) {
      for (const l of sioUpgrade) l.call(realtimeServer, req, socket, head);
    },
  };
}
