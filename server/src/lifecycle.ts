import type * as http from "node:http";
import type { Server } from "socket.io";
import type { Logger } from "./log";

/** How long a stop may take before the process exits anyway: the kit's contract bound. */
export const STOP_BOUND_MS = 10_000;

/**
 * A node's life as the load balancer sees it: serving, then stopping from the first SIGTERM on.
 * The health route reads it (200, then 503), the request counters feed it, the stop waits on it.
 */
export class NodeLifecycle {
  /** Set once, when the stop begins. */
  stopping = false;
  /** HTTP requests whose response has not closed yet: the stop waits for them (bounded). */
  activeRequests = 0;
  readonly startedAt = Date.now();

  /** Counts the requests of `server`, so that the stop lets in-flight ones finish. */
  countRequests(server: http.Server): void {
    server.on("request", (_req: http.IncomingMessage, res: http.ServerResponse) => {
      this.activeRequests++;
      res.once("close", () => this.activeRequests--);
    });
  }
}

/**
 * Keep-alive timeouts longer than the idle timeouts of the proxies in front, so that they, not
 * the node, close idle keep-alive connections (otherwise a request can race the node's close and fail).
 */
export function keepAliveBehindProxies(server: http.Server): void {
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
}

/** Resolves once `server` listens on `port`; rejects with the listen error (a port in use, say). */
export function listenOn(server: http.Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

/** The health route's answer: 200 while serving, 503 from the moment the node stops. */
export function answerHealth(res: http.ServerResponse, lifecycle: NodeLifecycle, nodeId: string, head = false): void {
  const body = JSON.stringify({ status: lifecycle.stopping ? "shutting-down" : "ok", node: nodeId });
  res.writeHead(lifecycle.stopping ? 503 : 200, { "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(body), "Cache-Control": "no-store" });
  res.end(head ? undefined : body);
}

/**
 * A new Socket.IO request (a handshake, or a poll on a proxy's kept-alive connection after the
 * listener closed) while stopping: 503 and the connection closed, so the proxy retries it on
 * another node at once and no client gets a session here that would be cut a moment later.
 */
export function refuseWhileStopping(res: http.ServerResponse, headers: Record<string, string> = {}): void {
  const body = "503 Service Unavailable: this node is shutting down\n";
  res.writeHead(503, { "Content-Type": "text/plain; charset=utf-8", "Content-Length": Buffer.byteLength(body), Connection: "close", "Retry-After": "0", ...headers });
  res.end(body);
}

export interface StopParts {
  lifecycle: NodeLifecycle;
  io: Server;
  /** The node's listeners: closed first, their idle connections last. */
  servers: readonly http.Server[];
  log: Logger;
  /** Called right after the listeners close (other WebSocket servers, say). */
  closeNow?: () => void;
  /** Awaited after in-flight requests finished (an upstream proxy's agent, the adapter's Redis). */
  closeLast?: Array<() => unknown>;
  /** How long in-flight HTTP requests may take to finish (default 3 s). */
  drainMs?: number;
  exit?: (code: number) => void;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * The stop the kit's contract asks for: the health route turns 503, the listeners close, every
 * Socket.IO client is let go (it reconnects through the proxy to another node), in-flight
 * requests get `drainMs`, then exit 0; exit 1 if all that takes more than STOP_BOUND_MS.
 */
export async function stopNode(parts: StopParts, reason: string): Promise<void> {
  const { lifecycle, io, servers, log } = parts;
  const exit = parts.exit ?? ((code: number) => process.exit(code));
  if (lifecycle.stopping) return;
  lifecycle.stopping = true;
  log.info("shutting down", { signal: reason, sockets: io.of("/").sockets.size });
  const hard = setTimeout(() => {
    log.error(`shutdown took more than ${STOP_BOUND_MS / 1000} s; exiting hard`);
    exit(1);
  }, STOP_BOUND_MS);
  hard.unref();

  // Stop accepting; the health route on open keep-alive connections now answers 503.
  for (const s of servers) s.close();
  parts.closeNow?.();
  // io.close() disconnects every client (they see "transport close" and reconnect elsewhere), but
  // its promise also waits for every TCP connection to drain, which clients and port proxies can
  // drag out; we wait for in-flight HTTP requests instead (long-polls end at once).
  void io.close().catch(() => undefined);
  // io.close() detaches (and, with connection state recovery, persists) every socket at once but
  // closes their transports only after the adapter has closed, a Redis round trip or more on a
  // busy host: close them now, so clients reconnect elsewhere without waiting for it.
  io.engine.close();
  const deadline = Date.now() + (parts.drainMs ?? 3000);
  await sleep(100);
  while (lifecycle.activeRequests > 0 && Date.now() < deadline) await sleep(25);
  for (const close of parts.closeLast ?? []) await close();
  for (const s of servers) s.closeAllConnections();
  clearTimeout(hard);
  log.info("stopped", { signal: reason });
  exit(0);
}

/** Runs stopNode on SIGTERM (what `docker stop` and the kit send) and SIGINT. */
export function stopOnSignals(parts: StopParts): void {
  for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, () => void stopNode(parts, signal));
}
