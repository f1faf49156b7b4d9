import type { Server } from "socket.io";
import type { UpstreamProxy } from "./proxy";
import type { NodeLifecycle, RedisAdapterLink } from "@realtime-kit/server";

/** The bodies of /stats and /stats/sockets/:id. */
export class Stats {
  constructor(
    private readonly nodeId: string,
    private readonly io: Server,
    private readonly proxy: UpstreamProxy | null,
    private readonly redis: RedisAdapterLink | null,
    private readonly lifecycle: NodeLifecycle,
  ) {}

  /** /stats */
  snapshot(): Record<string, unknown> {
    const transports = { polling: 0, websocket: 0 };
    // engine.io keeps its client map protected in the typings; it is the only per-transport view.
    const clients = (this.io.engine as unknown as { clients: Record<string, { transport: { name: string } }> }).clients;
    for (const c of Object.values(clients)) {
      const name = c.transport.name;
      if (name === "polling" || name === "websocket") transports[name]++;
    }
    const mem = process.memoryUsage();
    return {
      node: this.nodeId,
      sockets: this.io.of("/").sockets.size,
      engineClients: this.io.engine.clientsCount,
      transports,
      backendConnections: this.proxy ? this.proxy.connections : 0,
      redis: this.redis ? this.redis.state : "off",
      uptimeS: Math.round((Date.now() - this.lifecycle.startedAt) / 1000),
      rssBytes: mem.rss,
      heapUsedBytes: mem.heapUsed,
    };
  }

  /** /stats/sockets/:id (`rawId` as it is in the path): 200 if that socket is connected to this node, else 404. */
  socket(rawId: string): { status: number; body: { node: string; id: string; connected: boolean } } {
    let id = rawId;
    try {
      id = decodeURIComponent(id);
    } catch {
      // leave undecoded
    }
    const connected = id !== "" && this.io.of("/").sockets.has(id);
    return { status: connected ? 200 : 404, body: { node: this.nodeId, id, connected } };
  }
}
