import http from "node:http";
import https from "node:https";
import { io, type Socket } from "socket.io-client";

/**
 * Socket.IO test clients. The same code runs in the test process (host, through published
 * ports) and inside client containers on the deployment's network (distinct source addresses),
 * where it is bundled into one file by harness/client-bundle.ts and driven by agent-main.ts.
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
}

/** Socket.IO client's own reconnection defaults (reconnectionDelay, reconnectionDelayMax, randomizationFactor). */
export const SOCKET_IO_DEFAULT_BACKOFF = { delayMs: 1000, maxMs: 5000, jitter: 0.5 } as const;

export function connect(options: ClientOptions): Socket {
  const secure = options.url.startsWith("https:");
  const agent =
    options.keepAlive === false
      ? undefined
      : secure
        ? new https.Agent({ keepAlive: true, ...(options.ca ? { ca: options.ca } : {}) })
        : new http.Agent({ keepAlive: true });
  const socket = io(options.url, {
    transports: options.transports ?? ["polling", "websocket"],
    upgrade: options.upgrade ?? true,
    withCredentials: options.withCredentials ?? false,
    ca: options.ca,
    extraHeaders: options.extraHeaders,
    reconnection: options.reconnection ?? false,
    reconnectionDelay: options.backoff?.delayMs ?? 250,
    reconnectionDelayMax: options.backoff?.maxMs ?? 1000,
    randomizationFactor: options.backoff?.jitter ?? 0.2,
    timeout: options.timeoutMs ?? 10_000,
    forceNew: true,
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

export interface RoundtripSpec extends ClientOptions {
  mode: "roundtrips";
  clients: number;
  rounds: number;
}

export interface ClientReport {
  index: number;
  sid: string | null;
  /** Every node that answered this client (one entry when stickiness holds). */
  nodes: string[];
  /** Transport at the end (after any upgrade). */
  transport: string | null;
  /** Echo acks received with the right payload. */
  acks: number;
  /** connect_error / disconnect reasons / wrong payloads; empty when healthy. */
  errors: string[];
  ms: number;
}

export interface RoundtripReport {
  clients: ClientReport[];
  ms: number;
}

/** `clients` concurrent clients, each doing `rounds` echo round trips; reports per client. */
export async function runRoundtrips(spec: RoundtripSpec): Promise<RoundtripReport> {
  const started = Date.now();
  const clients = await Promise.all(Array.from({ length: spec.clients }, (_, index) => oneClient(spec, index)));
  return { clients, ms: Date.now() - started };
}

async function oneClient(spec: RoundtripSpec, index: number): Promise<ClientReport> {
  const started = Date.now();
  const report: ClientReport = { index, sid: null, nodes: [], transport: null, acks: 0, errors: [], ms: 0 };
  const socket = connect(spec);
  const nodes = new Set<string>();
  socket.on("disconnect", (reason) => report.errors.push(`disconnect: ${reason}`));
  socket.on("connect_error", (error) => report.errors.push(`connect_error: ${describeError(error)}`));
  try {
    await connected(socket, spec.timeoutMs ?? 15_000);
    const me = await whoami(socket);
    report.sid = me.sid;
    nodes.add(me.node);
    for (let round = 0; round < spec.rounds; round++) {
      const payload = { client: index, round, text: `hello ${index}/${round}` };
      const reply = await request<{ payload: unknown; node: string }>(socket, "echo", payload);
      nodes.add(reply.node);
      if (JSON.stringify(reply.payload) === JSON.stringify(payload)) report.acks++;
      else report.errors.push(`round ${round}: echoed ${JSON.stringify(reply.payload)}`);
    }
    const end = await whoami(socket);
    nodes.add(end.node);
    report.transport = end.transport;
    if (end.sid !== report.sid) report.errors.push(`sid changed from ${report.sid} to ${end.sid}`);
  } catch (error) {
    const message = describeError(error);
    // connected() rejects with the connect_error the listener above recorded already.
    if (!report.errors.includes(message)) report.errors.push(message);
  } finally {
    socket.off("disconnect");
    socket.disconnect();
  }
  report.nodes = [...nodes];
  report.ms = Date.now() - started;
  return report;
}

export interface HoldSpec extends ClientOptions {
  mode: "hold";
  /**
   * Before connecting, GET this path of `url` over a keep-alive connection that stays open (a
   * request the front proxies to the second stack), and print its status as a "backend" event.
   */
  backendPath?: string;
}

/**
 * One client that stays connected and prints one JSON line per event (connected, disconnect,
 * reconnected) until its process is killed. Used to kill or cut a client abruptly.
 */
export async function runHold(spec: HoldSpec, print: (line: object) => void): Promise<void> {
  if (spec.backendPath) {
    const target = new URL(spec.backendPath, spec.url);
    const client = target.protocol === "https:" ? await import("node:https") : await import("node:http");
    const agent = new client.Agent({ keepAlive: true, keepAliveMsecs: 1000, ...(spec.ca ? { ca: spec.ca } : {}) });
    await new Promise<void>((resolve) => {
      const request = client.request(target, { agent }, (response) => {
        response.resume();
        response.on("end", () => {
          print({ event: "backend", at: Date.now(), status: response.statusCode, node: response.headers["x-app-node"] });
          resolve();
        });
      });
      request.on("error", (error) => {
        print({ event: "error", at: Date.now(), error: describeError(error) });
        resolve();
      });
      request.end();
    });
    // The agent keeps the connection open (keep-alive) for as long as this process lives.
    (globalThis as { keptAgent?: unknown }).keptAgent = agent;
  }
  const socket = connect({ ...spec, reconnection: spec.reconnection ?? false });
  socket.on("connect", () => {
    whoami(socket).then(
      (me) => print({ event: "connected", at: Date.now(), ...me }),
      (error) => print({ event: "error", at: Date.now(), error: describeError(error) }),
    );
  });
  socket.on("disconnect", (reason) => print({ event: "disconnect", at: Date.now(), reason }));
  socket.on("connect_error", (error) => print({ event: "connect_error", at: Date.now(), error: describeError(error) }));
  socket.on("chat", (message: { id: string; text: string; node: string }) => print({ event: "chat", at: Date.now(), id: message.id, text: message.text, node: message.node }));
  socket.on("history", (messages: { id: string }[]) => print({ event: "history", at: Date.now(), ids: (messages ?? []).map((message) => message.id) }));
}

export type AgentSpec = RoundtripSpec | HoldSpec;
