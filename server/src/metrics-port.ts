import type * as http from "node:http";
import type { Server } from "socket.io";
import { requireOptionalPeer } from "./optional";
import type { RedisAdapterLink } from "./redis";

/**
 * Prometheus metrics of `io` (socketIoMetrics) served at GET /metrics on `port` (METRICS_PORT).
 * prom-client is loaded here, on first use: it is an optional peer dependency, and a node that
 * is given no METRICS_PORT carries none of it.
 */
export function startMetrics(io: Server, options: { port: number; nodeId: string; redis?: RedisAdapterLink | null }): Promise<http.Server> {
  const metrics = requireOptionalPeer(() => require("./metrics") as typeof import("./metrics"), "METRICS_PORT", "prom-client");
  return metrics.serveMetrics(metrics.socketIoMetrics(io, options), options.port);
}
