import * as http from "node:http";
import { collectDefaultMetrics, Counter, Gauge, Registry } from "prom-client";
import type { Server, Socket } from "socket.io";
import { listenOn } from "./lifecycle";
import type { RedisAdapterLink } from "./redis";

/**
 * Prometheus metrics of a Socket.IO node: what people who run realtime apps watch. Sockets by
 * transport (the share stuck on long-polling), handshakes, upgrades, refused connections by
 * Engine.IO's code, disconnects by reason (a reconnect storm shows as "transport close" and
 * "ping timeout" climbing), events received, the adapter's Redis, and the process's memory and
 * event loop (prom-client's default metrics).
 */
export function socketIoMetrics(io: Server, options: { nodeId: string; redis?: RedisAdapterLink | null; registry?: Registry } = { nodeId: "" }): Registry {
  const registry = options.registry ?? new Registry();
  registry.setDefaultLabels({ node: options.nodeId });
  collectDefaultMetrics({ register: registry });

  new Gauge({
    name: "socketio_sockets",
    help: "Connected Engine.IO clients, by their current transport.",
    labelNames: ["transport"],
    registers: [registry],
    collect() {
      const counts: Record<string, number> = { polling: 0, websocket: 0 };
      // engine.io keeps its client map protected in the typings; it is the only per-transport view.
      const clients = (io.engine as unknown as { clients: Record<string, { transport: { name: string } }> }).clients;
      for (const client of Object.values(clients)) counts[client.transport.name] = (counts[client.transport.name] ?? 0) + 1;
      for (const [transport, count] of Object.entries(counts)) this.set({ transport }, count);
    },
  });
  const handshakes = new Counter({ name: "socketio_handshakes_total", help: "Engine.IO sessions opened.", registers: [registry] });
  const upgrades = new Counter({ name: "socketio_upgrades_total", help: "Sessions upgraded from long-polling to WebSocket.", registers: [registry] });
  const refused = new Counter({ name: "socketio_connection_errors_total", help: "Requests Engine.IO refused, by its error message (unknown session, bad request, forbidden...).", labelNames: ["reason"], registers: [registry] });
  const disconnects = new Counter({ name: "socketio_disconnects_total", help: "Sockets disconnected, by Socket.IO's reason.", labelNames: ["reason"], registers: [registry] });
  const events = new Counter({ name: "socketio_events_received_total", help: "Events received from clients.", registers: [registry] });
  if (options.redis) {
    const redis = options.redis;
    new Gauge({
      name: "socketio_adapter_redis_up",
      help: "1 while the adapter's Redis answers, 0 while the node serves its own clients only.",
      registers: [registry],
      collect() {
        this.set(redis.ready ? 1 : 0);
      },
    });
  }

  io.engine.on("connection", (socket: { once(event: "upgrade", listener: () => void): void }) => {
    handshakes.inc();
    socket.once("upgrade", () => upgrades.inc());
  });
  io.engine.on("connection_error", (error: { message?: string }) => refused.inc({ reason: error.message ?? "unknown" }));
  // Shared listeners (not one closure per socket): a node holds tens of thousands of sockets.
  const countEvent = () => events.inc();
  const countDisconnect = (reason: string) => disconnects.inc({ reason });
  io.on("connection", (socket: Socket) => {
    socket.onAny(countEvent);
    socket.once("disconnect", countDisconnect);
  });
  return registry;
}

/**
 * Serves `registry` at GET /metrics on its own port (METRICS_PORT): a port of the deployment's
 * network that nothing publishes, apart from the node's public one.
 */
export function serveMetrics(registry: Registry, port: number): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if ((req.url ?? "").split("?")[0] !== "/metrics" || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" }).end("404 Not Found: GET /metrics\n");
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { "Content-Type": registry.contentType }).end(req.method === "HEAD" ? undefined : text),
      (error: unknown) => res.writeHead(500, { "Content-Type": "text/plain; charset=utf-8" }).end(`${String(error)}\n`),
    );
  });
  return listenOn(server, port).then(() => server);
}
