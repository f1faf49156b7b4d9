import type * as http from "node:http";
import { refuseWhileStopping, stopOnSignals, type NodeLifecycle, type RedisAdapterLink } from "@realtime-kit/server";
import type { Server } from "socket.io";
import type { EchoServer } from "./echo";
import { errMessage, log } from "./log";
import { isEchoPath, isSocketIoPath } from "./paths";
import type { UpstreamProxy } from "./proxy";
import type { Servers } from "./servers";

/** While stopping, new realtime requests (Socket.IO and /echo) get 503 and are retried by the proxy on another node. */
export function refuseWhileShuttingDown(lifecycle: NodeLifecycle, nodeId: string, req: http.IncomingMessage, res: http.ServerResponse, p: string): boolean {
  if (!lifecycle.stopping || !(isSocketIoPath(req.url) || isEchoPath(p))) return false;
  refuseWhileStopping(res, { "X-Node-Id": nodeId });
  return true;
}

export interface ShutdownParts {
  lifecycle: NodeLifecycle;
  servers: Servers;
  io: Server;
  echo: EchoServer;
  proxy: UpstreamProxy | null;
  redis: RedisAdapterLink | null;
}

/**
 * SIGTERM/SIGINT: @realtime-kit/server's stop (health 503, listeners closed, every client let
 * go, in-flight requests up to 3 s, exit 0 within 10 s), plus the kit server's own parts: the
 * /echo WebSockets with the listeners, the upstream proxy after the wait (destroying its agent
 * earlier would cut proxied requests short), Redis last.
 */
export function handleShutdownSignals({ lifecycle, servers, io, echo, proxy, redis }: ShutdownParts): void {
  stopOnSignals({
    lifecycle,
    io,
    servers: servers.all,
    log,
    closeNow: () => echo.close(),
    closeLast: [() => proxy?.close(), () => redis?.close()],
  });
}

/**
 * Redis (and upstream) failures must never take the node down: node-redis rejects pending
 * commands when a connection drops, and the adapters do not always await them.
 */
export function ignoreUnhandledRejections(lifecycle: NodeLifecycle): void {
  let lastRejectionLog = 0;
  process.on("unhandledRejection", (reason: unknown) => {
    const now = Date.now();
    if (lifecycle.stopping || now - lastRejectionLog < 5000) return;
    lastRejectionLog = now;
    log.warn("unhandled rejection (ignored)", { error: errMessage(reason) });
  });
}
