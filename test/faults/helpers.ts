import fs from "node:fs";
import path from "node:path";
import type { Socket } from "socket.io-client";
import { HaproxyRuntime } from "../../driver/haproxy-runtime";
import { readLogs } from "../../driver/logs";
import { DeploymentEngines } from "../../driver/hosts";
import { leftovers } from "../multi-host/hosts";
import { freePorts } from "../../driver/ports";
import type { RunningTopology } from "../../driver/running";
import { connect, describeError, request, SOCKET_IO_DEFAULT_BACKOFF, whoami, type Transport } from "../../driver/socket-client";
import { newRunId, startTopology } from "../../driver/start";
import type { NodeRestart } from "../../driver/rolling-restart";
import { sleep, waitFor } from "../../driver/wait";
import { loadModel } from "../../model/load";
import type { Model } from "../../model/model";

export const ARTIFACTS = path.resolve(__dirname, "..", "artifacts");
const FIGURES = path.join(ARTIFACTS, "faults.json");

// ---------------------------------------------------------------- figures

/** Records a measured figure in test/artifacts/faults.json (this run's figures only) and prints it. */
export function record(name: string, figure: Record<string, unknown>): void {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  let all: Record<string, unknown> = {};
  try {
    all = JSON.parse(fs.readFileSync(FIGURES, "utf8")) as Record<string, unknown>;
  } catch {
    /* first figure of the run */
  }
  all[name] = { ...figure, at: new Date().toISOString() };
  fs.writeFileSync(FIGURES, `${JSON.stringify(all, null, 2)}\n`);
  process.stdout.write(`      measured: ${name} ${JSON.stringify(figure)}\n`);
}

before(function () {
  fs.rmSync(FIGURES, { force: true });
});

// ---------------------------------------------------------------- topology per describe

export interface FaultTopology {
  readonly t: RunningTopology;
  readonly haproxy: HaproxyRuntime;
  /** The model with extra `key=value` sets on top of the running one (e.g. for a reload with a new config). */
  modelWith(sets: string[]): Model;
}

const live = new Map<string, DeploymentEngines>();
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void Promise.all([...live].map(([runId, engines]) => engines.removeByLabel(runId))).finally(() => process.exit(130));
  });
}

/**
 * Brings a multi-node deployment up for the enclosing describe and removes it (by label, from
 * every engine it runs on) after, whatever happened. `options.configFile` places it over the
 * machines of its `hosts` (the test hosts), published on `options.publishAddress`.
 */
export function useFaultTopology(sets: string[], options: { configFile?: string; publishAddress?: string } = {}): FaultTopology {
  let running: RunningTopology | null = null;
  let runtime: HaproxyRuntime | null = null;
  let allSets: string[] = [];
  let engines = new DeploymentEngines(null);
  const runId = newRunId("ft");
  const model = (extra: string[] = []) => loadModel({ topology: "multi-node", configFile: options.configFile, sets: [...allSets, ...extra] });
  before(async function () {
    this.timeout(300_000);
    const [http, https, metrics] = await freePorts(3);
    // With the deployment's Prometheus, its port too (published on 127.0.0.1).
    const metricsPort = sets.includes("metrics.prometheus=true") ? [`metrics.port=${metrics}`] : [];
    allSets = [`ports.http=${http}`, `ports.https=${https}`, ...metricsPort, ...sets];
    engines = new DeploymentEngines(model().placement?.hosts ?? null);
    live.set(runId, engines);
    const started = Date.now();
    // Health checks every 2 s: Docker sees an injected fault in seconds.
    running = await startTopology(model(), { runId, healthIntervalMs: 2_000, publishAddress: options.publishAddress });
    runtime = new HaproxyRuntime(running.engineOf("haproxy").getContainer(running.container("haproxy").getId()));
    process.stdout.write(`      (${runId} up in ${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
  });
  after(async function () {
    this.timeout(120_000);
    await closeFleets();
    await engines.removeByLabel(runId);
    live.delete(runId);
    for (const [name, left] of Object.entries(await leftovers(engines, runId))) {
      if (left > 0) throw new Error(`${left} container(s)/network(s)/volume(s) of ${runId} survived teardown on ${name}`);
    }
  });
  afterEach(closeFleets);
  return {
    get t() {
      if (!running) throw new Error("topology is not running (its before hook failed)");
      return running;
    },
    get haproxy() {
      if (!runtime) throw new Error("topology is not running (its before hook failed)");
      return runtime;
    },
    modelWith: (extra) => model(extra),
  };
}

// ---------------------------------------------------------------- clients that record what they see

export interface Connection {
  at: number;
  /** Filled in by whoami right after the connect. */
  node: string | null;
  /** The node's instance (container) that served it, also filled in by whoami. */
  instance: string | null;
  /** Socket.IO connection state recovery restored the session (missed events replayed). */
  recovered: boolean;
}

/** A host-side Socket.IO client with the reconnection a browser has by default, recording every event. */
export class Tracked {
  readonly connections: Connection[] = [];
  readonly disconnects: { at: number; reason: string }[] = [];
  readonly errors: { at: number; error: string }[] = [];
  /** Chat message ids seen live, and through the history a (re)connect delivers. */
  readonly live = new Set<string>();
  readonly history = new Set<string>();

  constructor(
    readonly index: number,
    readonly socket: Socket,
  ) {
    socket.on("connect", () => {
      const connection: Connection = { at: Date.now(), node: null, instance: null, recovered: socket.recovered };
      this.connections.push(connection);
      whoami(socket).then(
        (me) => Object.assign(connection, { node: me.node, instance: me.instance }),
        () => undefined,
      );
    });
    socket.on("disconnect", (reason) => this.disconnects.push({ at: Date.now(), reason }));
    socket.on("connect_error", (error) => this.errors.push({ at: Date.now(), error: describeError(error) }));
    socket.on("chat", (message: { id: string }) => this.live.add(message.id));
    socket.on("history", (messages: { id: string }[]) => {
      for (const message of messages ?? []) this.history.add(message.id);
    });
  }

  get node(): string | null {
    return this.connections[this.connections.length - 1]?.node ?? null;
  }

  /** Connections made after `since` (reconnects). */
  reconnectsAfter(since: number): Connection[] {
    return this.connections.filter((connection) => connection.at > since);
  }

  has(id: string): boolean {
    return this.live.has(id) || this.history.has(id);
  }
}

const openFleets: Tracked[][] = [];

/**
 * `count` clients from this machine through the https entry: default transports (polling, then
 * the upgrade to WebSocket), cookies kept (cookie stickiness), and Socket.IO's own reconnection
 * backoff (1 s doubling to 5 s, +-50 %): what a browser on the chat page does. `pollingOnly`
 * clients never upgrade, as behind a proxy that blocks WebSocket.
 */
export async function fleet(t: RunningTopology, count: number, options: { pollingOnly?: boolean } = {}): Promise<Tracked[]> {
  const clients: Tracked[] = [];
  openFleets.push(clients);
  // One at a time, each on its WebSocket before the next: HAProxy balances new sessions by
  // least connections, and only established ones count.
  for (let index = 0; index < count; index++) {
    const transports: Transport[] | undefined = options.pollingOnly ? ["polling"] : undefined;
    const socket = connect({ url: t.urls.realtime, ca: t.ca ?? undefined, withCredentials: true, reconnection: true, backoff: SOCKET_IO_DEFAULT_BACKOFF, transports });
    const client = new Tracked(index, socket);
    clients.push(client);
    const transport = options.pollingOnly ? "polling" : "websocket";
    await waitFor(() => client.socket.connected && client.node !== null && client.socket.io.engine?.transport.name === transport, {
      timeoutMs: 30_000,
      intervalMs: 50,
      what: `client ${index} to connect${options.pollingOnly ? " (long-polling only)" : " and upgrade to websocket"}`,
    });
  }
  return clients;
}

async function closeFleets(): Promise<void> {
  for (const clients of openFleets.splice(0)) for (const client of clients) client.socket.disconnect();
}

/**
 * What a rolling restart that began at `started` did to `clients`, whose first one kept chatting
 * through `sender`: each client's reconnects since, those onto an instance the restart did not
 * start, each client's time from cut to back, and the acknowledged messages some other client
 * never received.
 */
export async function restartEffects(
  clients: Tracked[],
  sender: ReturnType<typeof chatter>,
  started: number,
  report: NodeRestart[],
): Promise<{ acked: { id: string; at: number }[]; failed: string[]; missing: string[]; moves: Connection[][]; ontoOld: Connection[]; reconnectMs: number[] }> {
  await sleep(1_000);
  const { acked, failed } = await sender.stop();
  const receivers = clients.slice(1);
  await waitFor(() => receivers.every((client) => acked.every((message) => client.has(message.id))), { timeoutMs: 10_000, intervalMs: 100, what: "" }).catch(() => undefined);
  const missing = receivers.flatMap((client) => acked.filter((message) => !client.has(message.id)).map((message) => `${client.index}:${message.id}`));
  const moves = clients.map((client) => client.reconnectsAfter(started));
  await waitFor(() => moves.flat().every((connection) => connection.instance !== null), { timeoutMs: 10_000, intervalMs: 100, what: "every reconnected client to learn its instance (whoami)" });
  const newInstances = new Set(report.map((step) => step.newId.slice(0, 12)));
  const ontoOld = moves.flat().filter((connection) => !newInstances.has(connection.instance!));
  const reconnectMs = clients.flatMap((client) => {
    const cut = client.disconnects.find((d) => d.at > started);
    const back = client.reconnectsAfter(started)[0];
    return cut && back ? [back.at - cut.at] : [];
  });
  return { acked, failed, missing, moves, ontoOld, reconnectMs };
}

/** Sends a chat message every `everyMs` from `client`; stop() returns the ids the server acknowledged. */
export function chatter(client: Tracked, everyMs = 200): { stop: () => Promise<{ acked: { id: string; at: number }[]; failed: string[] }> } {
  const acked: { id: string; at: number }[] = [];
  const failed: string[] = [];
  let running = true;
  let sent = 0;
  const loop = (async () => {
    while (running) {
      const text = `chatter ${client.index} #${++sent}`;
      try {
        const ack = await request<{ ok: boolean; id: string }>(client.socket, "chat", text);
        if (ack.ok) acked.push({ id: ack.id, at: Date.now() });
        else failed.push(`${text}: not ok`);
      } catch (error) {
        failed.push(`${text}: ${describeError(error)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { acked, failed };
    },
  };
}

/** Per-client and worst-case figures of a list of durations. */
export function spread(values: number[]): { worst: number; best: number; median: number; all: number[] } {
  const sorted = [...values].sort((a, b) => a - b);
  return { worst: sorted[sorted.length - 1] ?? NaN, best: sorted[0] ?? NaN, median: sorted[Math.floor(sorted.length / 2)] ?? NaN, all: values };
}

/** Waits until HAProxy reports `server` of `backend` in a status starting with `status` (UP, DOWN, ...). */
export async function waitServerStatus(haproxy: HaproxyRuntime, backend: string, server: string, status: string, timeoutMs = 60_000): Promise<number> {
  const started = Date.now();
  const matches = (current: string) => (status === "UP" ? current === "UP" : current.startsWith(status));
  await waitFor(async () => matches((await haproxy.server(backend, server)).status), { timeoutMs, intervalMs: 100, what: `HAProxy to report ${backend}/${server} ${status}` });
  return Date.now() - started;
}

/**
 * When HAProxy logged a line matching `pattern` after `since` (epoch ms), from the engine's
 * timestamps of its log: precise, unlike polling the runtime API on a loaded machine.
 */
export async function haproxyLogged(t: RunningTopology, pattern: RegExp, since: number, timeoutMs = 30_000): Promise<number> {
  const haproxy = [{ service: "haproxy", container: await t.engineContainer("haproxy") }];
  return waitFor(
    async () => {
      const lines = await readLogs(haproxy, { sinceSeconds: Math.ceil((Date.now() - since) / 1000) + 1 });
      const found = lines.find((line) => pattern.test(line.text) && Date.parse(line.at) >= since);
      return found ? Date.parse(found.at) : undefined;
    },
    { timeoutMs, intervalMs: 250, what: `HAProxy to log ${pattern}` },
  );
}
