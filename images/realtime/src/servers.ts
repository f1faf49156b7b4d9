import * as http from "node:http";
import { keepAliveBehindProxies, listenOn, type NodeLifecycle } from "@realtime-kit/server";
import { answerExpectContinue } from "./body-limit";
import type { Config } from "./config";
import { limitConnectionRate } from "./connection-rate";
import { log } from "./log";
import { isSocketIoPath } from "./paths";

/** The node's HTTP listeners: the main port and, with REALTIME_PORT, the split realtime port. */
export interface Servers {
  readonly main: http.Server;
  /** Serves only /socket.io/ and /echo; null when the main port carries them. */
  readonly split: http.Server | null;
  /** The server that carries the realtime endpoints (split if there is one, else main). */
  readonly realtime: http.Server;
  readonly all: readonly http.Server[];
}

export function createServers(config: Config): Servers {
  const main = http.createServer();
  const split = config.realtimePort !== null ? http.createServer() : null;
  return { main, split, realtime: split ?? main, all: split ? [main, split] : [main] };
}

/** CONNECTION_RATE_PER_CLIENT, on every listener. */
export function limitConnections(servers: Servers, config: Config): void {
  if (config.connectionRatePerClient === null) return;
  let lastRefusalLog = 0;
  limitConnectionRate([...servers.all], config.connectionRatePerClient, (address) => {
    if (Date.now() - lastRefusalLog < 5_000) return; // one line per 5 s during a flood
    lastRefusalLog = Date.now();
    log.warn("connection rate limit: refusing connections", { address, perTenSeconds: config.connectionRatePerClient });
  });
}

/**
 * Settings and listeners every listener gets, after the routers: the Expect: 100-continue
 * answer, keep-alive timeouts, the count of in-flight requests (shutdown waits for them) and
 * the answer to malformed requests.
 */
export function configureServers(servers: Servers, config: Config, lifecycle: NodeLifecycle): void {
  const nodeId = config.nodeId;
  for (const s of servers.all) {
    // An Engine.IO POST announced over the limit is refused before its body is sent; the upstream
    // proxy's bodies (node-proxy) keep Node's default: 100 Continue, then its own limit.
    answerExpectContinue(s, config.maxHttpBufferSize, (req) => isSocketIoPath(req.url), { "X-Node-Id": nodeId });
    keepAliveBehindProxies(s);
    lifecycle.countRequests(s);
    s.on("clientError", (_err, socket) => {
      if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
      socket.destroy();
    });
  }
}

/** Resolves once every listener listens on its port (PORT, and REALTIME_PORT if set). */
export function listen(servers: Servers, config: Config): Promise<unknown> {
  return Promise.all([
    listenOn(servers.main, config.port),
    ...(servers.split && config.realtimePort ? [listenOn(servers.split, config.realtimePort)] : []),
  ]);
}
