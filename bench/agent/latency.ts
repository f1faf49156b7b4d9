import * as hdr from "hdr-histogram-js";
import type { Socket } from "socket.io-client";
import { connect, connected, describeError, type ClientOptions } from "../../driver/socket-client";

/**
 * Socket.IO event round trips measured with the real client library: `clients` websocket
 * clients each emit `echo` and wait for its ack, either as fast as acks come back (closed loop,
 * ratePerClient 0) or paced at ratePerClient events/s. Latencies go into an HDR histogram
 * (microseconds), sent back compressed so the host merges several agents exactly.
 */
export interface LatencySpec extends ClientOptions {
  mode: "latency";
  clients: number;
  durationMs: number;
  /** Events per second per client; 0 = closed loop (next event as soon as the ack is back). */
  ratePerClient: number;
}

export interface LatencyReport {
  histogram: string;
  events: number;
  errors: string[];
  /** When the measured window began (epoch ms, this machine's clock): the edge's CPU is read over the window. */
  startedAt: number;
  /** Time the measured window lasted (ms), connect time excluded. */
  elapsedMs: number;
  nodes: string[];
}

export function newHistogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
}

export async function openSockets(options: ClientOptions, count: number, concurrency: number): Promise<{ sockets: Socket[]; errors: string[] }> {
  const sockets: Socket[] = [];
  const errors: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      const socket = connect({ ...options, transports: options.transports ?? ["websocket"] });
      try {
        await connected(socket, options.timeoutMs ?? 15_000);
        sockets.push(socket);
      } catch (error) {
        errors.push(describeError(error));
        socket.disconnect();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return { sockets, errors };
}

export async function runLatency(spec: LatencySpec): Promise<LatencyReport> {
  const { sockets, errors } = await openSockets(spec, spec.clients, 50);
  const report = await measureWindow(sockets, spec.durationMs, spec.ratePerClient);
  for (const socket of sockets) socket.disconnect();
  return { ...report, errors: [...errors, ...report.errors].slice(0, 20) };
}

/**
 * Interleaved comparison in one process: every target's paced and closed-loop clients connect
 * once, then each slice measures every target in turn (ABBA order, so a drift in the machine's
 * load favours no target): a paced window, then a closed-loop window.
 */
export interface CompareSpec {
  mode: "compare";
  targets: { name: string; url: string; ca?: string }[];
  slices: number;
  sliceMs: number;
  pacedClients: number;
  ratePerClient: number;
  loadClients: number;
}

export type CompareReport = Record<string, { paced: LatencyReport[]; load: LatencyReport[] }>;

export async function runCompare(spec: CompareSpec): Promise<CompareReport> {
  const opened = [];
  for (const target of spec.targets) {
    const options: ClientOptions = { url: target.url, transports: ["websocket"], ...(target.ca ? { ca: target.ca } : {}) };
    opened.push({ target, paced: await openSockets(options, spec.pacedClients, 50), load: await openSockets(options, spec.loadClients, 50) });
  }
  const report: CompareReport = Object.fromEntries(spec.targets.map((t) => [t.name, { paced: [], load: [] }]));
  for (let slice = 0; slice < spec.slices; slice++) {
    const order = slice % 2 === 0 ? opened : [...opened].reverse();
    for (const one of order) {
      const paced = await measureWindow(one.paced.sockets, spec.sliceMs, spec.ratePerClient);
      const load = await measureWindow(one.load.sockets, spec.sliceMs, 0);
      if (slice === 0) {
        paced.errors.unshift(...one.paced.errors.slice(0, 5));
        load.errors.unshift(...one.load.errors.slice(0, 5));
      }
      report[one.target.name]!.paced.push(paced);
      report[one.target.name]!.load.push(load);
    }
  }
  for (const one of opened) for (const socket of [...one.paced.sockets, ...one.load.sockets]) socket.disconnect();
  return report;
}

/** Echo round trips on open sockets for `durationMs`, paced (events/s per socket) or closed loop (0). */
async function measureWindow(sockets: Socket[], durationMs: number, ratePerClient: number): Promise<LatencyReport> {
  const histogram = newHistogram();
  const errors: string[] = [];
  const nodes = new Set<string>();
  let events = 0;
  const spec = { durationMs, ratePerClient };
  const started = Date.now();
  const deadline = started + spec.durationMs;
  const interval = spec.ratePerClient > 0 ? 1000 / spec.ratePerClient : 0;
  const loop = async (socket: Socket, index: number) => {
    // Paced clients start spread over one interval so their events do not arrive in bursts.
    let due = Date.now() + (interval * index) / Math.max(1, sockets.length);
    let round = 0;
    while (Date.now() < deadline) {
      if (interval > 0) {
        const wait = due - Date.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        due += interval;
        if (Date.now() >= deadline) break;
      }
      const payload = { i: index, r: round++ };
      const t0 = process.hrtime.bigint();
      try {
        const reply = (await socket.timeout(10_000).emitWithAck("echo", payload)) as { payload: { r: number }; node: string };
        const us = Number((process.hrtime.bigint() - t0) / 1000n);
        if (reply.payload?.r !== payload.r && errors.length < 20) errors.push(`wrong echo ${JSON.stringify(reply.payload)}`);
        histogram.recordValue(Math.max(1, us));
        nodes.add(reply.node);
        events++;
      } catch (error) {
        if (errors.length < 20) errors.push(describeError(error));
        if (!socket.connected) return;
      }
    }
  };
  await Promise.all(sockets.map(loop));
  const elapsedMs = Date.now() - started;
  return { histogram: hdr.encodeIntoCompressedBase64(histogram), events, errors, startedAt: started, elapsedMs, nodes: [...nodes] };
}
