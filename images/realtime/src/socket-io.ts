import type * as http from "node:http";
import type { Duplex } from "node:stream";
import { prefixSessionIds, socketIoOptions, type RedisAdapterLink } from "@realtime-kit/server";
import { Server } from "socket.io";
import type { Config } from "./config";
import { releaseHandshakeRequests } from "./idle-memory";

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
 * kit's options (@realtime-kit/server: heartbeat, buffer size, origin check, sticky cookie,
 * session id prefix, adapter, connection state recovery) and the per-connection memory savings.
 */
export function createSocketIo(config: Config, realtimeServer: http.Server, redis: RedisAdapterLink | null): SocketIo {
  const io = new Server({
    ...socketIoOptions(config),
    // The chat page loads the client from here.
    serveClient: true,
    // We route upgrades ourselves; engine.io must not end sockets it does not recognise.
    destroyUpgrade: false,
  });
  redis?.install(io);

  // Socket.IO attaches to the server that carries the realtime endpoints; we take its listeners
  // back and call them ourselves so that one router decides what each port answers.
  io.attach(realtimeServer);
  prefixSessionIds(io, config.sessionIdPrefix);
  const sioRequest = realtimeServer.listeners("request") as RequestListener[];
  const sioUpgrade = realtimeServer.listeners("upgrade") as UpgradeListener[];
  realtimeServer.removeAllListeners("request");
  realtimeServer.removeAllListeners("upgrade");
  io.engine.on("headers", (headers: Record<string, string>) => {
    headers["X-Node-Id"] = config.nodeId;
  });
  releaseHandshakeRequests(io);

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
