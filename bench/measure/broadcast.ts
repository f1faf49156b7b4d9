import type { BroadcastReport, BroadcastSpec } from "../agent/broadcast";
import type { BenchConfig } from "../config";
import type { Deployed } from "../lab";
import { latencyOf, ratio, type Latency } from "../stats";
import { INTERNAL_PORTS } from "../../model/layout";

export interface BroadcastSide {
  key: string;
  nodes: number;
  receivers: number;
  expected: number;
  delivered: number;
  deliveriesPerS: number;
  latency: Latency;
  errors: string[];
}

export interface BroadcastResult {
  single: BroadcastSide;
  multi: BroadcastSide;
  /** Multi-node deliveries/s over single-node deliveries/s. */
  ratio: number | null;
}

/**
 * Chat broadcasts to `receivers` clients: on the single topology's one node (in-memory adapter)
 * and spread evenly over the multi-node deployment's nodes (Redis adapter), alternating runs.
 * Receivers connect to the nodes directly so the spread is exact, whatever the stickiness.
 */
export async function compareBroadcast(single: Deployed, multi: Deployed, config: BenchConfig["broadcast"], log: (line: string) => void): Promise<BroadcastResult> {
  const spread = (d: Deployed): BroadcastSpec["targets"] => {
    const nodes = d.t.realtimeNodes;
    return nodes.map((node, i) => ({ url: `http://${node}:${INTERNAL_PORTS.realtime}`, receivers: Math.floor(config.receivers / nodes.length) + (i < config.receivers % nodes.length ? 1 : 0) }));
  };
  const runs = new Map<Deployed, BroadcastReport[]>([
    [single, []],
    [multi, []],
  ]);
  const timeoutMs = 120_000;
  for (let repeat = 0; repeat < config.repeats; repeat++) {
    const order = repeat % 2 === 0 ? [single, multi] : [multi, single];
    for (const d of order) {
      const spec: BroadcastSpec = { mode: "broadcast", transports: ["websocket"], targets: spread(d), messages: config.messages, window: config.window, timeoutMs };
      runs.get(d)!.push(await d.probe.run<BroadcastReport>(spec, timeoutMs + 120_000));
    }
    log(`broadcast: run ${repeat + 1}/${config.repeats}`);
  }
  const side = (d: Deployed): BroadcastSide => {
    const reports = runs.get(d)!;
    const delivered = reports.reduce((sum, r) => sum + r.delivered, 0);
    return {
      key: d.variant.key,
      nodes: d.t.realtimeNodes.length,
      receivers: reports[0]?.receivers ?? 0,
      expected: reports.reduce((sum, r) => sum + r.expected, 0),
      delivered,
      deliveriesPerS: Math.round(delivered / (reports.reduce((sum, r) => sum + r.elapsedMs, 0) / 1000)),
      latency: latencyOf(reports.map((r) => r.histogram)),
      errors: [...new Set(reports.flatMap((r) => r.errors))].slice(0, 5),
    };
  };
  const s = side(single);
  const m = side(multi);
  return { single: s, multi: m, ratio: ratio(m.deliveriesPerS, s.deliveriesPerS) };
}
