import { connect, connected, describeError, request, whoami, type ClientOptions } from "../../driver/socket-client";

/**
 * Socket.IO test clients. The same code runs in the test process (host, through published
 * ports) and inside client containers on the deployment's network (distinct source addresses),
 * where it is bundled into one file by harness/client-bundle.ts and driven by agent-main.ts.
 */

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
