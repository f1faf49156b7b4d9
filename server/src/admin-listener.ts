import crypto from "node:crypto";
import type * as http from "node:http";

/**
 * Requests that arrive on the admin listener carry this header, set by the listener itself with a
 * value made per process: nothing outside can forge it, and Socket.IO keeps the handshake's headers
 * for the namespace's middleware to read (the kit's image releases the request itself).
 */
export const LISTENER_HEADER = "x-realtime-kit-admin-listener";
export const LISTENER_TOKEN = crypto.randomBytes(24).toString("base64url");

/** Whether a Socket.IO handshake came in through the admin listener (startAdminUi), not through a public port. */
export function arrivedOnAdminListener(headers: http.IncomingHttpHeaders): boolean {
  return headers[LISTENER_HEADER] === LISTENER_TOKEN;
}
