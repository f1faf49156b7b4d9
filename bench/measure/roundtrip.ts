import type { CompareReport, CompareSpec, LatencyReport } from "../agent/latency";
import type { BenchConfig } from "../config";
import { entryEdge, type Deployed } from "../lab";
import { withCpuSamplers, type EdgeCpu } from "./edge-cpu";
import { latencyOf, p99RatioInterval, ratio, type Latency } from "../stats";

export interface RoundtripResult {
  key: string;
  title: string;
  /** Paced load (well below saturation): the latency a user feels. */
  paced: {
    direct: Latency;
    entry: Latency;
    p50Ratio: number | null;
    p99Ratio: number | null;
    /** 95% interval of p99Ratio over the slices (paired bootstrap): how far this run's noise moves it. */
    p99RatioInterval: [number, number] | null;
  };
  /** Closed loop: how many events/s the path carries, and the latency at that load. */
  load: { directEps: number; entryEps: number; epsRatio: number | null; direct: Latency; entry: Latency };
  /** CPU the kit's edge (stunnel, HAProxy) spent per event through the entry; null where the entry is a node. */
  edgeCpu: EdgeCpu | null;
  /** Nodes that answered through the entry point. */
  entryNodes: string[];
  errors: string[];
}

/**
 * Socket.IO echo round trips from a client container on the deployment's network, through the
 * entry point (every proxy of the topology) and, interleaved slice by slice, straight to
 * realtime-1 (the baseline: same containers, same client, no proxy).
 */
export async function measureRoundtrip(d: Deployed, config: BenchConfig["roundtrip"], log: (line: string) => void): Promise<RoundtripResult> {
  const ca = d.t.ca ?? undefined;
  const spec: CompareSpec = {
    mode: "compare",
    targets: [
      { name: "direct", url: d.direct },
      { name: "entry", url: d.entry, ...(ca ? { ca } : {}) },
    ],
    ...config,
  };
  const {
    result: report,
    samplers: [sampler],
  } = await withCpuSamplers([await entryEdge(d.t)], () => d.probe.run<CompareReport>(spec, 2 * 2 * config.slices * config.sliceMs + 120_000));
  const runs = { pacedDirect: report.direct!.paced, pacedEntry: report.entry!.paced, loadDirect: report.direct!.load, loadEntry: report.entry!.load };
  log(`${d.variant.key}: round trips measured (${config.slices} interleaved slices)`);
  const lat = (reports: LatencyReport[]) => latencyOf(reports.map((r) => r.histogram));
  const pacedDirect = lat(runs.pacedDirect);
  const pacedEntry = lat(runs.pacedEntry);
  const directEps = eventsPerSecond(runs.loadDirect);
  const entryEps = eventsPerSecond(runs.loadEntry);
  const all = [...runs.pacedDirect, ...runs.pacedEntry, ...runs.loadDirect, ...runs.loadEntry];
  return {
    key: d.variant.key,
    title: d.variant.title,
    paced: {
      direct: pacedDirect,
      entry: pacedEntry,
      p50Ratio: ratio(pacedEntry.p50, pacedDirect.p50),
      p99Ratio: ratio(pacedEntry.p99, pacedDirect.p99),
      p99RatioInterval: p99RatioInterval(
        runs.pacedDirect.map((r) => r.histogram),
        runs.pacedEntry.map((r) => r.histogram),
      ),
    },
    load: { directEps, entryEps, epsRatio: ratio(entryEps, directEps), direct: lat(runs.loadDirect), entry: lat(runs.loadEntry) },
    edgeCpu: sampler!.perEvent(report.entry!),
    entryNodes: [...new Set([...runs.pacedEntry, ...runs.loadEntry].flatMap((r) => r.nodes))].sort(),
    errors: [...new Set(all.flatMap((r) => r.errors))].slice(0, 10),
  };
}

/** Events/s over a target's windows (closed loop: what the path carries). */
export function eventsPerSecond(reports: LatencyReport[]): number {
  return Math.round(reports.reduce((sum, r) => sum + r.events, 0) / (reports.reduce((sum, r) => sum + r.elapsedMs, 0) / 1000));
}
