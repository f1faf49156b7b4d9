import type { Server } from "node:http";
import type { Socket } from "node:net";

const WINDOW_MS = 10_000;

/**
 * Per-address connection-rate limit for deployments where this server is the front door (no
 * HAProxy in front to do it): an address that opened `perWindow` connections in the last 10 s
 * has its next ones closed at once, before any HTTP parsing. The same rule as HAProxy's
 * `sc0_conn_rate` in the kit's haproxy.cfg, so a handshake flood from one address is bounded
 * whichever topology runs.
 */
export function limitConnectionRate(servers: Server[], perWindow: number, onRefused: (address: string) => void): () => void {
  const recent = new Map<string, number[]>();
  const admit = (socket: Socket) => {
    const address = socket.remoteAddress ?? "";
    const now = Date.now();
    const times = (recent.get(address) ?? []).filter((at) => now - at < WINDOW_MS);
    times.push(now); // refused attempts count too, as in HAProxy: a flood stays refused while it lasts
    recent.set(address, times.length > perWindow + 1 ? times.slice(-(perWindow + 1)) : times);
    if (times.length > perWindow) {
      onRefused(address);
      socket.destroy();
    }
  };
  for (const server of servers) server.on("connection", admit);
  // Addresses that went quiet are forgotten, so the table stays as small as the active clients.
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const [address, times] of recent) if (now - times[times.length - 1]! >= WINDOW_MS) recent.delete(address);
  }, WINDOW_MS);
  sweep.unref();
  return () => {
    clearInterval(sweep);
    for (const server of servers) server.off("connection", admit);
  };
}
