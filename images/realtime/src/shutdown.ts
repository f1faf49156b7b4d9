import type * as http from "node:http";
import type { Server } from "socket.io";
import type { EchoServer } from "./echo";
import { errMessage, log } from "./log";
import { isEchoPath, isSocketIoPath } from "./paths";
import type { UpstreamProxy } from "./proxy";
import type { RedisLink } from "./redis";
import { sendText } from "./respond";
import type { Servers } from "./servers";
import type { NodeState } from "./state";

/**
 * While shutting down, new realtime requests (handshakes and polls arriving on a proxy's
 * kept-alive connection after the listener closed) get 503 and the connection is closed: the
 * proxy retries them on another node at once, and no client gets a session here that would be
 * cut again a moment later.
 */
export function refuseWhileShuttingDown(state: NodeState, nodeId: string, req: http.IncomingMessage, res: http.ServerResponse, p: string): boolean {
  if (!state.shuttingDown || !(isSocketIoPath(req.url) || isEchoPath(p))) return false;
  sendText(res, 503, "503 Service Unavailable: this node is shutting down\n", { "X-Node-Id": nodeId, Connection: "close", "Retry-After": "0" });
  return true;
}

export interface ShutdownParts {
  state: NodeState;
  servers: Servers;
  io: Server;
  echo: EchoServer;
  proxy: UpstreamProxy | null;
  redis: RedisLink | null;
}

/**
 * SIGTERM/SIGINT: the health route (HEALTH_PATH) turns 503, the listeners close, every client is disconnected,
 * in-flight HTTP requests get up to 3 s, Redis is closed, exit 0 (forced exit 1 after 10 s).
 */
export function handleShutdownSignals({ state, servers, io, echo, proxy, redis }: ShutdownParts): void {
  const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
  async function shutdown(signal: string): Promise<void> {
    if (state.shuttingDown) return;
    state.shuttingDown = true;
    log.info("shutting down", { signal, sockets: io.of("/").sockets.size, echo: echo.size });
    setTimeout(() => {
      log.error("shutdown took more than 10 s; exiting hard");
      process.exit(1);
    }, 10_000).unref();

    // Stop accepting; the health route on open keep-alive connections now answers 503.
    for (const s of servers.all) s.close();
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
    while (state.activeRequests > 0 && Date.now() < deadline) await sleep(25);
    proxy?.close(); // after the wait: destroying its agent would cut proxied requests short
    await redis?.close();
    for (const s of servers.all) s.closeAllConnections();
    log.info("stopped", { signal });
    process.exit(0);
  }
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

/**
 * Redis (and upstream) failures must never take the node down: node-redis rejects pending
 * commands when a connection drops, and the adapters do not always await them.
 */
export function ignoreUnhandledRejections(state: NodeState): void {
  let lastRejectionLog = 0;
  process.on("unhandledRejection", (reason: unknown) => {
    const now = Date.now();
    if (state.shuttingDown || now - lastRejectionLog < 5000) return;
    lastRejectionLog = now;
    log.warn("unhandled rejection (ignored)", { error: errMessage(reason) });
  });
}
