import type { IncomingMessage } from "node:http";
import type { Server, ServerOptions } from "socket.io";
import { arrivedOnAdminListener } from "./admin-listener";
import { normaliseOrigin, type KitEnv } from "./env";

/** Where the kit's proxies send Socket.IO traffic (HAProxy and nginx route on it). */
export const SOCKET_IO_PATH = "/socket.io/";

/**
 * The Origin policy for Socket.IO and any other WebSocket the server accepts:
 * - no Origin header (curl, server-side clients, load-balancer checks): allowed;
 * - CORS_ORIGINS set: the Origin must be one of them;
 * - CORS_ORIGINS empty: same-origin only, i.e. the Origin's host[:port] equals the Host header.
 * Socket.IO's `cors` option only writes CORS headers; a WebSocket from another site is refused here.
 */
export function originCheck(allowed: readonly string[]): (req: IncomingMessage) => boolean {
  const list = new Set(allowed);
  return (req) => {
    const origin = req.headers.origin;
    if (origin === undefined) return true;
    if (list.size > 0) return list.has(normaliseOrigin(origin));
    const host = req.headers.host;
    if (!host) return false;
    try {
      return new URL(origin).host.toLowerCase() === host.toLowerCase();
    } catch {
      return false; // "null" or garbage
    }
  };
}

/**
 * Socket.IO server options from the kit's environment: the path the proxies route, the heartbeat
 * (shorter than the proxies' idle timeouts), the message size limit the proxies also enforce, the
 * sticky cookie, CORS and the origin check, connection state recovery. Spread your own options
 * after these to add to them.
 */
export function socketIoOptions(kit: KitEnv): Partial<ServerOptions> {
  const originAllowed = originCheck(kit.corsOrigins);
  const options: Partial<ServerOptions> = {
    path: SOCKET_IO_PATH.replace(/\/$/, ""),
    pingInterval: kit.pingIntervalMs,
    pingTimeout: kit.pingTimeoutMs,
    maxHttpBufferSize: kit.maxHttpBufferSize,
    // Requests with an Origin header not on the list (or cross-origin when no list) get a 403.
    allowRequest: (req, callback) => {
      // The admin UI's pages are served by the admin listener itself (same origin there).
      if (arrivedOnAdminListener(req.headers) || originAllowed(req)) callback(null, true);
      else callback("origin not allowed", false);
    },
    // HAProxy's cookie stickiness routes on this cookie; Engine.IO sets it on the handshake.
    cookie: kit.stickyCookie ? { name: kit.stickyCookie, path: "/", httpOnly: true, sameSite: "lax" } : false,
  };
  if (kit.corsOrigins.length > 0) options.cors = { origin: kit.corsOrigins, credentials: true };
  if (kit.connectionStateRecovery) {
    options.connectionStateRecovery = { maxDisconnectionDuration: 2 * 60 * 1000, skipMiddlewares: true };
  }
  return options;
}

/**
 * Session stickiness without cookies or client addresses: every session id this node issues
 * starts with `<prefix>.`, so the load balancer can route the session's polls and its WebSocket
 * upgrade here without a table. A no-op when the kit gives no SESSION_ID_PREFIX.
 */
export function prefixSessionIds(io: Server, prefix: string | null): void {
  if (!prefix) return;
  const generateId = io.engine.generateId.bind(io.engine);
  io.engine.generateId = async (req) => `${prefix}.${await generateId(req)}`;
}
