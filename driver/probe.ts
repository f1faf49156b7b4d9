import type { IncomingHttpHeaders } from "node:http";
import WebSocket from "ws";
import { REALTIME_ROUTES } from "../model/layout";
import { connect, connected, describeError, request, type Transport } from "./socket-client";
import { httpRequest, sendBody } from "./http";

/**
 * The chapter's probe of a deployment, from the outside, the way a user's browser sees it:
 * the second stack through the front door, a plain WebSocket that survives idling, and
 * Socket.IO over long-polling only and over WebSocket only.
 */

export interface ProbeOptions {
  /** Public origin of the deployment, e.g. https://chat.example.com or http://localhost:8080. */
  url: string;
  /** Origin of the realtime endpoint when it differs (split-port option). Default: url. */
  realtimeUrl?: string;
  /** PEM of a CA to trust besides the system's (e.g. the throwaway CA of `up`). */
  ca?: string;
  /** Path of the second stack's probe route; null to skip (no second stack). */
  appPath: string | null;
  /** Body the app route must answer with (substring); default PONG (the kit's app). */
  appExpect?: string;
  /** Idle time in the middle of the WebSocket step (ms). */
  idleMs?: number;
  /** Per-step limit (ms). */
  stepTimeoutMs?: number;
}

export interface ProbeStep {
  name: string;
  ok: boolean;
  skipped?: boolean;
  ms: number;
  detail: string;
}

export async function probeDeployment(options: ProbeOptions, onStep: (step: ProbeStep) => void = () => undefined): Promise<ProbeStep[]> {
  const base = trimSlash(options.url);
  const realtime = trimSlash(options.realtimeUrl ?? options.url);
  const timeout = options.stepTimeoutMs ?? 20_000;
  const steps: ProbeStep[] = [];
  const record = (step: ProbeStep): void => {
    steps.push(step);
    onStep(step);
  };
  const skip = (name: string, detail: string): void => record({ name, ok: true, skipped: true, ms: 0, detail });
  const run = async (name: string, body: () => Promise<string>): Promise<void> => {
    const started = performance.now();
    let step: ProbeStep;
    try {
      const detail = await withTimeout(body(), timeout + (options.idleMs ?? 5_000), name);
      step = { name, ok: true, ms: Math.round(performance.now() - started), detail };
    } catch (error) {
      step = { name, ok: false, ms: Math.round(performance.now() - started), detail: describeError(error) };
    }
    record(step);
  };

  if (options.appPath === null) {
    skip("second stack", "skipped: no second stack (--no-app)");
  } else {
    const appPath = options.appPath;
    await run(`second stack: GET ${appPath}`, async () => {
      const response = await httpRequest(`${base}${appPath}`, { ca: options.ca, timeoutMs: timeout });
      const expect = options.appExpect ?? "PONG";
      if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${response.body.slice(0, 200)}`);
      if (!response.body.includes(expect)) throw new Error(`body ${JSON.stringify(response.body.slice(0, 200))} does not contain ${JSON.stringify(expect)}`);
      const node = response.headers["x-app-node"];
      return `HTTP 200 ${JSON.stringify(response.body.trim())}${node ? ` from ${String(node)}` : ""}`;
    });
  }

  const idleMs = options.idleMs ?? 5_000;
  /** Whether the handshake named a node (the kit's server); null while unknown (no handshake). */
  let kitServer: boolean | null = null;
  await run(`Socket.IO handshake on ${REALTIME_ROUTES.socketIo}`, async () => {
    const { sid, headers } = await engineIoHandshake(realtime, { ca: options.ca, timeoutMs: timeout });
    // The kit's own server names its node on every response; a server of one's own does not have to.
    const node = headers["x-node-id"];
    kitServer = node !== undefined;
    return `sid ${sid}${kitServer ? ` from ${String(node)} (the kit's realtime server)` : " (a realtime server of your own: the kit-server probes are skipped)"}`;
  });
  const kitOnly = async (name: string, body: () => Promise<string>): Promise<void> => {
    if (kitServer) return run(name, body);
    skip(name, kitServer === null ? "skipped: no handshake, so whether the server is the kit's is unknown" : "skipped: needs the kit's own realtime server (its /echo route and echo event)");
  };
  await kitOnly(`[kit server] WebSocket ${REALTIME_ROUTES.echo}: 5 echoes, ${idleMs / 1000} s idle, 1 echo`, () => echoProbe(`${wsOrigin(realtime)}${REALTIME_ROUTES.echo}`, options.ca, idleMs, timeout));
  for (const transport of ["polling", "websocket"] as Transport[]) {
    await kitOnly(`[kit server] Socket.IO over ${transport} only: echo with ack`, () => socketIoProbe(realtime, transport, options.ca, timeout));
  }
  await run(`Socket.IO over polling only: ${POLLING_EMITS} requests in one session`, () => pollingSessionProbe(realtime, options.ca, timeout));
  // The kit server's /echo step already held a connection idle through the proxies.
  const idle = kitServer ? 0 : idleMs;
  await run(`Socket.IO upgrade to WebSocket${idle > 0 ? `, ${idle / 1000} s idle` : ""}`, () => upgradeProbe(realtime, options.ca, timeout, idle));
  return steps;
}

/** What an Engine.IO v4 server's open packet says. */
export interface EngineIoOpen {
  sid: string;
  pingInterval: number;
  pingTimeout: number;
  maxPayload: number;
}

/**
 * Opens an Engine.IO long-polling session on `origin` and closes it at once (a close packet, not the
 * server's ping timeout): the open packet, the response's headers and the cookies it set.
 */
export async function engineIoHandshake(origin: string, options: { ca?: string; timeoutMs: number }): Promise<EngineIoOpen & { headers: IncomingHttpHeaders; setCookie: string[] }> {
  const url = `${origin}${REALTIME_ROUTES.socketIo}?EIO=4&transport=polling`;
  const response = await httpRequest(url, options);
  const open = /^0(\{.*\})/.exec(response.body);
  if (response.status !== 200 || !open) {
    throw new Error(`GET ${REALTIME_ROUTES.socketIo}?EIO=4&transport=polling answered ${response.status} ${JSON.stringify(response.body.slice(0, 120))}: no Socket.IO v4 open packet (a Socket.IO v4 server on its default path /socket.io answers one)`);
  }
  const packet = JSON.parse(open[1]!) as EngineIoOpen;
  const setCookie = ([] as string[]).concat(response.headers["set-cookie"] ?? []);
  const cookie = setCookie.map((line) => line.split(";")[0]).join("; ");
  await sendBody(`${url}&sid=${encodeURIComponent(packet.sid)}`, Buffer.from("1"), { ...options, headers: cookie ? { Cookie: cookie } : {} });
  return { ...packet, headers: response.headers, setCookie };
}

/** Polling requests the polling step makes in one session: enough to cross every node of a pool many times. */
const POLLING_EMITS = 20;

/**
 * Any Socket.IO server: one long-polling session carrying many requests (each emit a POST, the
 * long-polls GETs). Without stickiness they reach other nodes, which answer "Session ID unknown".
 */
async function pollingSessionProbe(url: string, ca: string | undefined, timeoutMs: number): Promise<string> {
  const socket = connect({ url, transports: ["polling"], ca, timeoutMs, withCredentials: true });
  try {
    await connected(socket, timeoutMs);
    const sid = socket.io.engine.id;
    for (let index = 0; index < POLLING_EMITS; index++) {
      socket.emit("realtime-kit:check", index);
      await new Promise((resolve) => setTimeout(resolve, 50));
      if (!socket.connected) throw new Error(`disconnected after ${index + 1} requests`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    if (!socket.connected || socket.io.engine.id !== sid) throw new Error("the session did not survive its requests");
    return `session ${sid} carried ${POLLING_EMITS} emits`;
  } finally {
    socket.disconnect();
  }
}

/** Any Socket.IO server: a client that starts on polling upgrades to WebSocket and, optionally, stays connected through an idle period. */
async function upgradeProbe(url: string, ca: string | undefined, timeoutMs: number, idleMs: number): Promise<string> {
  const socket = connect({ url, ca, timeoutMs, withCredentials: true });
  try {
    await connected(socket, timeoutMs);
    const started = performance.now();
    while (socket.io.engine.transport.name !== "websocket") {
      if (!socket.connected) throw new Error("disconnected before the upgrade");
      if (performance.now() - started > timeoutMs) throw new Error(`still on ${socket.io.engine.transport.name} after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const upgradedMs = performance.now() - started;
    if (idleMs > 0) {
      await new Promise((resolve) => setTimeout(resolve, idleMs));
      if (!socket.connected) throw new Error(`disconnected during ${idleMs / 1000} s idle`);
      socket.emit("realtime-kit:check", "after idle");
    }
    return `upgraded ${upgradedMs.toFixed(0)} ms after connect${idleMs > 0 ? `, still connected after ${idleMs / 1000} s idle` : ""}`;
  } finally {
    socket.disconnect();
  }
}

async function echoProbe(url: string, ca: string | undefined, idleMs: number, timeoutMs: number): Promise<string> {
  const socket = new WebSocket(url, { ca, handshakeTimeout: timeoutMs });
  let node = "";
  socket.on("upgrade", (response) => (node = String(response.headers["x-node-id"] ?? "")));
  const closed = new Promise<never>((_, reject) => {
    socket.once("close", (code, reason) => reject(new Error(`connection closed (code ${code}${reason.length ? ` ${reason.toString()}` : ""})`)));
    socket.once("error", (error) => reject(error));
  });
  closed.catch(() => undefined);
  try {
    await Promise.race([new Promise<void>((resolve) => socket.once("open", () => resolve())), closed]);
    const roundtrip = async (text: string): Promise<number> => {
      const started = performance.now();
      const echoed = new Promise<string>((resolve) => socket.once("message", (data) => resolve(data.toString())));
      socket.send(text);
      const reply = await Promise.race([echoed, closed]);
      if (reply !== text) throw new Error(`sent ${JSON.stringify(text)}, got ${JSON.stringify(reply)}`);
      return performance.now() - started;
    };
    const times: number[] = [];
    for (let index = 1; index <= 5; index++) times.push(await roundtrip(`echo ${index} ${Date.now()}`));
    // The idle period is the point of the step: a proxy with a short idle timeout cuts here.
    await Promise.race([new Promise((resolve) => setTimeout(resolve, idleMs)), closed]);
    times.push(await roundtrip(`echo after ${idleMs / 1000} s idle`));
    return `6/6 echoed${node ? ` by ${node}` : ""}, round trips ${times.map((ms) => ms.toFixed(0)).join("/")} ms`;
  } finally {
    socket.removeAllListeners("close");
    socket.on("error", () => undefined);
    socket.terminate();
  }
}

async function socketIoProbe(url: string, transport: Transport, ca: string | undefined, timeoutMs: number): Promise<string> {
  // Keeps cookies like a browser: deployments with cookie stickiness need them for polling.
  const socket = connect({ url, transports: [transport], ca, timeoutMs, withCredentials: true });
  try {
    await connected(socket, timeoutMs);
    const started = performance.now();
    const payload = { probe: transport, at: Date.now() };
    const reply = await request<{ payload: unknown; node: string }>(socket, "echo", payload);
    if (JSON.stringify(reply.payload) !== JSON.stringify(payload)) throw new Error(`echo answered ${JSON.stringify(reply.payload)}`);
    const used = socket.io.engine.transport.name;
    if (used !== transport) throw new Error(`ended up on ${used}`);
    return `connected as ${socket.id} on ${reply.node}, echo ack in ${(performance.now() - started).toFixed(0)} ms`;
  } finally {
    socket.disconnect();
  }
}

function wsOrigin(origin: string): string {
  return origin.replace(/^http/, "ws");
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, "");
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
