import type * as http from "node:http";
import type { Server } from "socket.io";
import { KitEnvError } from "./env";
import type { RedisAdapterLink } from "./redis";

/**
 * Prometheus metrics of `io` (socketIoMetrics) served at GET /metrics on `port` (METRICS_PORT).
 * prom-client is loaded here, on first use: it is an optional peer dependency, and a node that
 * is given no METRICS_PORT carries none of it.
 */
export function startMetrics(io: Server, options: { port: number; nodeId: string; redis?: RedisAdapterLink | null }): Promise<http.Server> {
  let metrics: typeof import("./metrics");
  try {
    metrics = require("./metrics") as typeof import("./metrics");
  } catch (err) {
    if ((err as { code?: string }).code !== "MODULE_NOT_FOUND") throw err;
    throw new KitEnvError("METRICS_PORT needs the package prom-client: npm install prom-client");
  }
  return metrics.serveMetrics(metrics.socketIoMetrics(io, options), options.port);
}
