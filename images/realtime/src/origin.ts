import type { IncomingMessage } from "node:http";
import { normaliseOrigin } from "./config";

/**
 * The Origin policy shared by Socket.IO (`allowRequest`) and the /echo WebSocket.
 *
 * - no Origin header (curl, node clients, load-balancer checks): allowed;
 * - CORS_ORIGINS set: the Origin must be one of them;
 * - CORS_ORIGINS empty: same-origin only, i.e. the Origin's host[:port] equals the Host header.
 */
export function makeOriginCheck(allowed: readonly string[]): (req: IncomingMessage) => boolean {
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
