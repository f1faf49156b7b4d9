import * as http from "node:http";
import type { Server } from "socket.io";

/** Engine.IO's stand-in for the HTTP response of a WebSocket upgrade (not exported by engine.io). */
interface UpgradeResponse {
  req: http.IncomingMessage | null;
}

/**
 * Lets go of the HTTP requests that opened each connection, which Engine.IO would otherwise keep
 * for the connection's whole life although nothing reads them after the handshake. On a node
 * holding many idle connections this is a large share of its memory.
 */
export function releaseHandshakeRequests(io: Server): void {
  // The session's first request (headers, socket, parser state): kept as socket.conn.request
  // (Socket.IO's memory-usage guide). Socket.IO has already copied what it keeps (socket.handshake).
  io.engine.on("connection", (rawSocket: { request: http.IncomingMessage | null }) => {
    rawSocket.request = null;
  });

  // Each WebSocket upgrade's request: Engine.IO answers upgrades through a stand-in response that
  // holds the request and stays reachable from the socket's "close" listener, about 3 KB per
  // WebSocket. Once ws writes the 101 response (the engine's "headers" event) neither is read
  // again. Upgrades of polling sessions to WebSocket pass here too, not through "connection".
  const upgradeResponses = new WeakMap<http.IncomingMessage, UpgradeResponse>();
  io.engine.use((req: http.IncomingMessage, res: http.ServerResponse | UpgradeResponse, next: () => void) => {
    if (!(res instanceof http.ServerResponse)) upgradeResponses.set(req, res);
    next();
  });
  io.engine.on("headers", (_headers: Record<string, string>, req: http.IncomingMessage) => {
    const res = upgradeResponses.get(req);
    if (!res) return;
    upgradeResponses.delete(req);
    res.req = null;
  });
}
