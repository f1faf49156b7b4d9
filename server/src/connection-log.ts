import type { Server, Socket } from "socket.io";
import type { Logger } from "./log";

/**
 * One JSON line per connection event, for operators reading `docker logs` or `realtime-kit logs`:
 * a socket connected (its Engine.IO session id, transport, peer and the X-Forwarded-For the proxy
 * added, whether connection state recovery restored it), disconnected (Socket.IO's reason and how
 * long it lasted), and every request Engine.IO refused (its reason: unknown session, bad request,
 * forbidden origin...). The peer is the proxy in front; X-Forwarded-For is as the proxy set it.
 */
export function logConnections(io: Server, log: Logger): void {
  io.engine.on("connection_error", (error: { code?: number; message?: string; req?: { headers: Record<string, string | string[] | undefined>; url?: string; socket?: { remoteAddress?: string } } }) => {
    log.warn("refused", {
      reason: error.message ?? "unknown",
      code: error.code,
      url: error.req?.url,
      peer: error.req?.socket?.remoteAddress,
      forwardedFor: forwardedFor(error.req?.headers["x-forwarded-for"]),
    });
  });
  // Read from the session's first request as Engine.IO opens it, ahead of every other listener: a
  // server may let go of that request right after (the kit's image does, to save memory), and
  // Socket.IO's handshake headers would then be empty.
  const forwarded = new WeakMap<object, string | undefined>();
  io.engine.prependListener("connection", (raw: { request?: { headers: Record<string, string | string[] | undefined> } | null }) => {
    forwarded.set(raw, forwardedFor(raw.request?.headers["x-forwarded-for"]));
  });
  // Shared listeners, not one closure per socket: a node holds tens of thousands of sockets.
  io.on("connection", (socket: Socket) => {
    log.info("connected", {
      sid: sessionId(socket),
      transport: socket.conn.transport.name,
      peer: socket.handshake.address,
      forwardedFor: forwarded.get(socket.conn),
      recovered: socket.recovered,
    });
    socket.once("disconnect", onDisconnect);
  });
  function onDisconnect(this: Socket, reason: string): void {
    log.info("disconnected", { sid: sessionId(this), reason, transport: this.conn.transport.name, seconds: Math.round((Date.now() - this.handshake.issued) / 100) / 10 });
  }
}

/** The Engine.IO session id: what HAProxy's log shows in `sid=` and session stickiness routes on (private in engine.io's typings). */
function sessionId(socket: Socket): string {
  return (socket.conn as unknown as { id: string }).id;
}

function forwardedFor(header: string | string[] | undefined): string | undefined {
  return Array.isArray(header) ? header.join(", ") : header;
}
