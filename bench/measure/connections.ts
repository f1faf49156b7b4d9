import type { LatencyReport } from "../agent/latency";
import type { BenchConfig } from "../config";
import { BenchClient, containerMemory, type Deployed, type HoldStatus, type MemoryDetail } from "../lab";
import { latencyOf, type Latency } from "../stats";

export interface ConnectionPoint {
  /** Connections asked for. */
  target: number;
  /** Connections the holders had open at the measurement. */
  held: number;
  /** Socket.IO sockets the realtime nodes reported (/stats), summed; null when a node did not answer. */
  sockets: number | null;
  /** Memory per service (bytes), as the engine accounts it (`docker stats`). */
  memory: Record<string, number>;
  /** The same, split: the processes' own memory, page cache, kernel objects. */
  memoryDetail: Record<string, MemoryDetail>;
  /** Paced echo round trips through the same URL while the connections are held. */
  latency: Latency;
  growMs: number;
}

export interface ConnectionRamp {
  key: string;
  title: string;
  url: string;
  points: ConnectionPoint[];
  /** Why the ramp stopped before its last step, if it did. */
  stoppedBecause: string | null;
  /** First step whose p99 is more than twice the p99 with no idle connections held; null if none. */
  degradesAt: number | null;
  errors: string[];
}

/**
 * Idle Socket.IO connections held by several client containers (each its own source address,
 * each far below the container open-file limit) through `url`, raised step by step; at each
 * step the realtime nodes' socket count, the containers' memory and a paced latency probe.
 */
export async function rampConnections(d: Deployed, url: string, steps: number[], holderCount: number, config: BenchConfig["connections"], log: (line: string) => void): Promise<ConnectionRamp> {
  const ca = d.t.ca ?? undefined;
  const holders: BenchClient[] = [];
  const points: ConnectionPoint[] = [];
  const errors: string[] = [];
  let stoppedBecause: string | null = null;
  try {
    for (let i = 0; i < holderCount; i++) {
      const holder = await BenchClient.start(d.t, `hold-${Date.now().toString(36)}-${i + 1}`);
      await holder.startHolding(url, ca ?? null, config.concurrency);
      holders.push(holder);
    }
    for (const target of steps) {
      const started = Date.now();
      const shares = holders.map((_, i) => Math.floor(target / holders.length) + (i < target % holders.length ? 1 : 0));
      const statuses: HoldStatus[] = await Promise.all(holders.map((holder, i) => holder.holdTotal(shares[i]!, config.growBudgetMs)));
      const growMs = Date.now() - started;
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const held = statuses.reduce((sum, s) => sum + s.held, 0);
      for (const status of statuses) errors.push(...status.errors);
      const sockets = await socketsOnNodes(d);
      const memory: Record<string, number> = {};
      const memoryDetail: Record<string, MemoryDetail> = {};
      for (const service of d.t.deployment.services) {
        if (service.role === "app") continue;
        memoryDetail[service.name] = await containerMemory(d.t, service.name);
        memory[service.name] = memoryDetail[service.name]!.accounted;
      }
      const probe = await d.probe.run<LatencyReport>(
        { mode: "latency", url, transports: ["websocket"], ...(ca ? { ca } : {}), clients: config.probeClients, ratePerClient: config.probeRate, durationMs: config.probeMs },
        config.probeMs + 60_000,
      );
      errors.push(...probe.errors);
      const point: ConnectionPoint = { target, held, sockets, memory, memoryDetail, latency: latencyOf([probe.histogram]), growMs };
      points.push(point);
      log(`${d.variant.key}: ${held}/${target} connections held (${sockets} sockets on the nodes), p99 ${point.latency.p99} ms`);
      if (held < target * 0.98) {
        stoppedBecause = `only ${held} of ${target} connections could be held (${[...new Set(errors)].slice(0, 3).join("; ") || "no error reported"})`;
        break;
      }
    }
  } finally {
    await Promise.all(holders.map((holder) => holder.remove().catch(() => undefined)));
  }
  const base = points[0]?.latency.p99 ?? 0;
  const degraded = points.find((point) => point.target > 0 && base > 0 && point.latency.p99 > 2 * base);
  return { key: d.variant.key, title: d.variant.title, url, points, stoppedBecause, degradesAt: degraded?.target ?? null, errors: [...new Set(errors)].slice(0, 10) };
}

/** Sockets the realtime nodes report, summed; null when one does not answer (a busy node's /stats may time out). */
async function socketsOnNodes(d: Deployed): Promise<number | null> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return (await Promise.all(d.t.realtimeNodes.map((node) => d.t.stats(node)))).reduce((sum, s) => sum + s.sockets, 0);
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
  return null;
}
