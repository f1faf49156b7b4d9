import http from "node:http";
import https from "node:https";
import { io, type Socket } from "socket.io-client";

/**
 * Socket.IO clients as the kit uses them: `realtime-kit check` probes a deployment with them,
 * and the test agents (harness/client/agent.ts) run them in the test process and in client
 * containers, where this file is bundled with the agent.
 */

export type Transport = "polling" | "websocket";

export interface ClientOptions {
  /** Origin of the realtime endpoint, e.g. https://stunnel:8443. */
  url: string;
  /** Allowed transports; default Socket.IO's ["polling", "websocket"]. */
  transports?: Transport[];
  /** Whether a polling session may upgrade to WebSocket (default true). */
  upgrade?: boolean;
  /** Keep cookies (engine.io-client >= 6.5 has a cookie jar in Node): needed for cookie stickiness. */
  withCredentials?: boolean;
  /** PEM of the CA to trust for https/wss (real verification; never rejectUnauthorized: false). */
  ca?: string;
  /** Extra request headers (e.g. Origin), polling and the WebSocket handshake alike. */
  extraHeaders?: Record<string, string>;
  /** Reconnect after a lost connection (default false). */
  reconnection?: boolean;
  /**
   * Reconnection backoff: first delay, cap and jitter. Default 250 ms / 1 s / 0.2 (quick tests);
   * `SOCKET_IO_DEFAULT_BACKOFF` is what a browser with Socket.IO's defaults does.
   */
  backoff?: { delayMs: number; maxMs: number; jitter: number };
  /** Connect timeout (ms). */
  timeoutMs?: number;
  /**
   * Long-polling over keep-alive connections, as browsers do (default true). Without it every
   * poll is a new TCP (and TLS) connection, which no browser does and which per-address
   * connection-rate limits rightly count.
   */
  keepAlive?: boolean;
  /** Local address to connect from (one of this machine's), for clients that must come from distinct sources. */
  localAddress?: string;
  /** The handshake's auth payload (Socket.IO's `auth`), e.g. the admin UI's username and password. */
  auth?: Record<string, unknown>;
}

/** Socket.IO client's own reconnection defaults (reconnectionDelay, reconnectionDelayMax, randomizationFactor). */
export const SOCKET_IO_DEFAULT_BACKOFF = { delayMs: 1000, maxMs: 5000, jitter: 0.5 } as const;

export function connect(options: ClientOptions): Socket {
  const secure = options.url.startsWith("https:");
  const agent =
    options.keepAlive === false
      ? undefined
      : secure
        ? new https.Agent({ keepAlive: true, localAddress: options.localAddress, ...(options.ca ? { ca: options.ca } : {}) })
        : new http.Agent({ keepAlive: true, localAddress: options.localAddress });
  const socket = io(options.url, {
    transports: options.transports ?? ["polling", "websocket"],
    upgrade: options.upgrade ?? true,
    withCredentials: options.withCredentials ?? false,
    ca: options.ca,
    extraHeaders: options.extraHeaders,
    ...(options.auth ? { auth: options.auth } : {}),
    reconnection: options.reconnection ?? false,
    reconnectionDelay: options.backoff?.delayMs ?? 250,
    reconnectionDelayMax: options.backoff?.maxMs ?? 1000,
    randomizationFactor: options.backoff?.jitter ?? 0.2,
    timeout: options.timeoutMs ?? 10_000,
    forceNew: true,
    // The WebSocket transport's own connection (polling's go through the agent).
    ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    ...(agent ? { transportOptions: { polling: { agent } } } : {}),
  });
  if (agent) {
    // The socket's own disconnect() ends its kept-alive connections too. The engine still sends
    // its "close" packet after that: connections opened from then on never keep the process alive
    // and are closed as soon as they are free.
    let closing = false;
    const createConnection = (agent as unknown as { createConnection: (...args: unknown[]) => import("node:net").Socket }).createConnection.bind(agent);
    (agent as unknown as { createConnection: (...args: unknown[]) => import("node:net").Socket }).createConnection = (...args: unknown[]) => {
      const connection = createConnection(...args);
      if (closing) connection.unref();
      return connection;
    };
    agent.on("free", (connection: import("node:net").Socket) => {
      if (closing) connection.destroy();
    });
    const disconnect = socket.disconnect.bind(socket);
    socket.disconnect = () => {
      closing = true;
      const engine = socket.io.engine;
      const result = disconnect();
      // The engine flushes its last packets (the disconnect) before it closes: end the
      // connections once it has.
      if (!engine || engine.readyState === "closed") agent.destroy();
      else engine.once("close", () => agent.destroy());
      return result;
    };
    socket.close = socket.disconnect;
  }
  return socket;
}

/** Resolves on `connect`, rejects with the connect_error message (e.g. "xhr poll error") otherwise. */
export function connected(socket: Socket, timeoutMs = 15_000): Promise<void> {
  if (socket.connected) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`no connection after ${timeoutMs} ms`)), timeoutMs);
    const onConnect = () => done();
    const onError = (error: Error & { description?: unknown; context?: unknown }) => {
      // Without reconnection a connect_error is final.
      if (!socket.io.opts.reconnection) done(new Error(`connect_error: ${describeError(error)}`));
    };
    function done(error?: Error) {
      clearTimeout(timer);
      socket.off("connect", onConnect);
      socket.off("connect_error", onError);
      if (error) reject(error);
      else resolve();
    }
    socket.on("connect", onConnect);
    socket.on("connect_error", onError);
  });
}

/** Emits and waits for the ack, with a timeout. */
export function request<T>(socket: Socket, event: string, ...args: unknown[]): Promise<T> {
  return socket.timeout(10_000).emitWithAck(event, ...args) as Promise<T>;
}

export interface WhoAmI {
  node: string;
  /** The serving process's container (hostname): tells a node's new instance from its old one. */
  instance: string;
  sid: string;
  transport: Transport;
}

export function whoami(socket: Socket): Promise<WhoAmI> {
  return request<WhoAmI>(socket, "whoami");
}

export function describeError(error: unknown): string {
  const e = error as Error & { description?: unknown; context?: unknown; type?: unknown };
  const parts = [e?.message ?? String(error)];
  const description = e?.description as { message?: string; code?: string } | string | undefined;
  if (typeof description === "string") parts.push(description);
  else if (description && typeof description === "object") parts.push(description.message ?? description.code ?? JSON.stringify(description));
  const context = e?.context as { responseText?: string; status?: number } | undefined;
  if (context && typeof context === "object" && ("status" in context || "responseText" in context)) {
    const text = String(context.responseText ?? "").split("\n")[0]!.slice(0, 200);
    parts.push(`HTTP ${String(context.status)}${text ? ` ${text}` : ""}`);
  }
  return parts.filter(Boolean).join(": ");
}
