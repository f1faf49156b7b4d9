import type { FailoverReport, FailoverSpec } from "../agent/failover";
import type { CompareReport, CompareSpec } from "../agent/latency";
import type { BenchConfig } from "../config";
import { BenchClient, memoryOf, restartFresh, type Deployed } from "../lab";
import type { RunningPeer } from "../peers";
import { latencyOf, p99RatioInterval, ratio, type Latency } from "../stats";
import { sleep } from "../../driver/wait";
import { withCpuSamplers, type EdgeContainer, type EdgeCpu } from "./edge-cpu";
import { eventsPerSecond } from "./roundtrip";
import { handshakeRate, handshakeSlices } from "./tls";

/** One entry point in the peer comparison: the kit's, or a peer's in front of the same nodes. */
export interface PeerRow {
  key: string;
  title: string;
  /** The documentation a peer's configuration follows; null for the kit's own row. */
  follows: string | null;
  paced: Latency;
  /** p99 through this entry over p99 straight to realtime-1, with its 95% interval (paired bootstrap). */
  p99Ratio: number | null;
  p99RatioInterval: [number, number] | null;
  eps: number;
  /** The edge's CPU per event (HAProxy and stunnel for the kit; the peer's own container). */
  cpu: EdgeCpu | null;
  /** Full TLS handshakes/s (no resumption) and their latency, in slices interleaved with the other entries. */
  handshakesPerS: number | null;
  handshake: Latency | null;
  /**
   * Memory the edge containers gained per idle WebSocket held through them (bytes; docker stats'
   * figure, and the processes' own), over all of them; `range` is the lowest and highest of the
   * same figure over each step of the ramp (the connections added in that step), which shows how
   * far one reading can be off.
   */
  idle: { held: number; bytesPerConnection: number; processBytesPerConnection: number; range: [number, number] | null; steps: number } | null;
  /** A realtime node killed: how long until every client of this entry that was on it answered again from the other node. */
  failover: { clients: number; worstMs: number | null; medianMs: number | null; notBack: number } | null;
  nodes: string[];
  errors: string[];
}

export interface PeerComparison {
  /** The kit deployment whose nodes every entry point leads to. */
  kit: string;
  direct: Latency;
  rows: PeerRow[];
}

/**
 * The kit's entry point and the peers' in one interleaved run from one client container: every
 * slice measures realtime-1 straight, the kit's entry and each peer in turn (ABBA order), all in
 * front of the same two nodes; the CPU of each entry's edge containers is read over its own
 * windows only.
 */
export async function comparePeers(d: Deployed, peers: RunningPeer[], kitEdge: EdgeContainer[], benchConfig: BenchConfig, log: (line: string) => void): Promise<PeerComparison> {
  const config = benchConfig.roundtrip;
  const entries = [
    { key: d.variant.key, title: `the kit: ${d.variant.title}`, follows: null, url: d.entry, ca: d.t.ca ?? undefined, edge: kitEdge },
    ...peers.map((running) => ({ key: running.peer.key, title: running.peer.title, follows: running.peer.follows, url: running.url, ca: running.ca, edge: [running.edge] })),
  ];
  const spec: CompareSpec = {
    mode: "compare",
    targets: [{ name: "direct", url: d.direct }, ...entries.map((entry) => ({ name: entry.key, url: entry.url, ...(entry.ca ? { ca: entry.ca } : {}) }))],
    ...config,
  };
  const { result: report, samplers } = await withCpuSamplers(
    entries.map((entry) => entry.edge),
    () => d.probe.run<CompareReport>(spec, spec.targets.length * 2 * config.slices * config.sliceMs + 180_000),
  );
  log(`peers: ${entries.map((entry) => entry.key).join(", ")} measured beside ${d.variant.key} (${config.slices} interleaved slices)`);
  const handshakes = await handshakeSlices(
    entries.map((entry) => ({ key: entry.key, probe: d.probe, url: entry.url, ca: entry.ca! })),
    benchConfig.tls,
  );
  log(`peers: handshakes measured (${benchConfig.tls.slices} slices)`);
  const idle = new Map<string, PeerRow["idle"]>();
  for (const entry of entries) idle.set(entry.key, await measureIdle(d, entry, benchConfig.peers.idleConnections, benchConfig.peers.idleSteps, benchConfig.connections, log));
  const failover = await measureFailover(d, entries, benchConfig.peers.failoverClients, log);
  const direct = report.direct!;
  const directPaced = latencyOf(direct.paced.map((r) => r.histogram));
  return {
    kit: d.variant.key,
    direct: directPaced,
    rows: entries.map((entry, index) => {
      const windows = report[entry.key]!;
      const paced = latencyOf(windows.paced.map((r) => r.histogram));
      const all = [...windows.paced, ...windows.load];
      const rate = handshakeRate(handshakes.get(entry.key)!);
      return {
        key: entry.key,
        title: entry.title,
        follows: entry.follows,
        paced,
        p99Ratio: ratio(paced.p99, directPaced.p99),
        p99RatioInterval: p99RatioInterval(
          direct.paced.map((r) => r.histogram),
          windows.paced.map((r) => r.histogram),
        ),
        eps: eventsPerSecond(windows.load),
        cpu: samplers[index]!.perEvent(windows),
        handshakesPerS: rate.handshakesPerS,
        handshake: rate.handshake,
        idle: idle.get(entry.key) ?? null,
        failover: failover.get(entry.key) ?? null,
        nodes: [...new Set(all.flatMap((r) => r.nodes))].sort(),
        errors: [...new Set(all.flatMap((r) => r.errors))].slice(0, 10),
      };
    }),
  };
}

interface Entry {
  key: string;
  url: string;
  ca: string | undefined;
  edge: EdgeContainer[];
}

/**
 * Idle WebSockets held through one entry from a client container of their own, added in equal steps:
 * what the edge's memory grew by per connection over all of them, and over each step on its own.
 */
async function measureIdle(d: Deployed, entry: Entry, total: number, steps: number, connections: BenchConfig["connections"], log: (line: string) => void): Promise<PeerRow["idle"]> {
  const memory = async () => (await Promise.all(entry.edge.map((edge) => memoryOf(edge.container)))).reduce((sum, m) => ({ accounted: sum.accounted + m.accounted, process: sum.process + m.process }), { accounted: 0, process: 0 });
  const holder = await BenchClient.start(d.t, `idle-${entry.key}`);
  try {
    const readings = [{ held: 0, ...(await memory()) }];
    await holder.startHolding(entry.url, entry.ca ?? null, connections.concurrency);
    for (let step = 1; step <= steps; step++) {
      const status = await holder.holdTotal(Math.round((total * step) / steps), connections.growBudgetMs);
      // Let the edge settle (buffers of the handshakes freed) before reading it.
      await sleep(2000);
      readings.push({ held: status.held, ...(await memory()) });
    }
    const [first, last] = [readings[0]!, readings[readings.length - 1]!];
    log(`peers: ${last.held} idle connections through ${entry.key}`);
    if (last.held === 0) return null;
    const stepFigures = readings.slice(1).flatMap((reading, i) => {
      const added = reading.held - readings[i]!.held;
      return added > 0 ? [Math.round((reading.accounted - readings[i]!.accounted) / added)] : [];
    });
    return {
      held: last.held,
      bytesPerConnection: Math.round((last.accounted - first.accounted) / last.held),
      processBytesPerConnection: Math.round((last.process - first.process) / last.held),
      range: stepFigures.length > 1 ? [Math.min(...stepFigures), Math.max(...stepFigures)] : null,
      steps: stepFigures.length,
    };
  } finally {
    await holder.remove();
  }
}

/**
 * Each realtime node in turn killed (SIGKILL) behind every entry at once, with clients connected
 * through each; the node is started again (and given time for the balancers' checks) before the next.
 * An entry's figure is its worst client over the rounds in which it had clients on the killed node.
 */
async function measureFailover(d: Deployed, entries: Entry[], clientsPerTarget: number, log: (line: string) => void): Promise<Map<string, PeerRow["failover"]>> {
  const times = new Map<string, { ms: number[]; notBack: number }>(entries.map((entry) => [entry.key, { ms: [], notBack: 0 }]));
  for (const node of d.t.realtimeNodes) {
    const readyFile = `/tmp/failover-ready-${node}`;
    const spec: FailoverSpec = { mode: "failover", targets: entries.map((entry) => ({ name: entry.key, url: entry.url, ...(entry.ca ? { ca: entry.ca } : {}) })), clientsPerTarget, readyFile, settleMs: 1000, timeoutMs: 90_000 };
    const running = d.probe.run<FailoverReport>(spec, 180_000);
    const deadline = Date.now() + 60_000;
    while (!(await d.probe.hasFile(readyFile))) {
      if (Date.now() > deadline) throw new Error("the failover clients did not connect within 60 s");
      await sleep(200);
    }
    const killedAt = Date.now();
    await (await d.t.engineContainer(node)).kill();
    const report = await running;
    for (const client of report.clients.filter((one) => one.nodeBefore === node)) {
      const entry = times.get(client.target)!;
      if (client.backAt === null) entry.notBack++;
      else entry.ms.push(client.backAt - killedAt);
    }
    log(`peers: ${node} killed; ${report.clients.filter((one) => one.nodeBefore === node).length} clients were on it${report.errors.length ? ` (errors: ${report.errors.slice(0, 3).join("; ")})` : ""}`);
    await restartFresh(d.t, node);
    // The balancers see it again (HAProxy: rise 2 checks; the kit's own interval) before the next round.
    await sleep(5000);
  }
  return new Map(
    [...times].map(([key, { ms, notBack }]) => {
      const sorted = [...ms].sort((a, b) => a - b);
      return [key, sorted.length + notBack === 0 ? null : { clients: sorted.length + notBack, worstMs: notBack > 0 ? null : (sorted[sorted.length - 1] ?? null), medianMs: sorted[Math.floor(sorted.length / 2)] ?? null, notBack }];
    }),
  );
}
