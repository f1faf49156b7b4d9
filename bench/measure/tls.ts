import type { HandshakeReport } from "../agent/handshakes";
import type { BenchConfig } from "../config";
import type { BenchClient, Deployed } from "../lab";
import { latencyOf, ratio, type Latency } from "../stats";
import type { RoundtripResult } from "./roundtrip";

export interface TlsSide {
  key: string;
  title: string;
  /** TLS terminator as the model names it. */
  terminator: "stunnel" | "haproxy";
  endpoint: string;
  handshakesPerS: number;
  handshake: Latency;
  protocol: string | null;
  cipher: string | null;
  /** Socket.IO echo through TLS and the proxies, minus straight to the node (paced load), ms. */
  addedP50: number | null;
  addedP99: number | null;
  errors: string[];
}

export interface TlsResult {
  sides: TlsSide[];
  /** stunnel's handshakes/s over HAProxy's. */
  handshakeRatio: number | null;
  faster: "stunnel" | "haproxy" | null;
}

/**
 * stunnel -> HAProxy against HAProxy's own TLS, both deployments up at once and measured in
 * alternating slices: full handshakes/s (no resumption) from a client container on each one's
 * network, plus the added round trip measured by the round-trip section.
 */
export async function compareTls(stunnel: Deployed, haproxy: Deployed, roundtrips: RoundtripResult[], config: BenchConfig["tls"], log: (line: string) => void): Promise<TlsResult> {
  const reports = await handshakeSlices(
    [stunnel, haproxy].map((d) => ({ key: d.variant.key, probe: d.probe, url: d.t.internalUrls.https!, ca: d.t.ca! })),
    config,
    (slice) => log(`tls: handshakes, slice ${slice}/${config.slices}`),
  );
  const side = (d: Deployed, terminator: TlsSide["terminator"]): TlsSide => {
    const runs = reports.get(d.variant.key)!;
    const rt = roundtrips.find((r) => r.key === d.variant.key);
    return {
      key: d.variant.key,
      title: d.variant.title,
      terminator,
      endpoint: d.t.internalUrls.https!,
      ...handshakeRate(runs),
      protocol: runs[0]?.protocol ?? null,
      cipher: runs[0]?.cipher ?? null,
      addedP50: rt ? Math.round((rt.paced.entry.p50 - rt.paced.direct.p50) * 1000) / 1000 : null,
      addedP99: rt ? Math.round((rt.paced.entry.p99 - rt.paced.direct.p99) * 1000) / 1000 : null,
      errors: [...new Set(runs.flatMap((r) => r.errors))].slice(0, 5),
    };
  };
  const sides = [side(stunnel, "stunnel"), side(haproxy, "haproxy")];
  const handshakeRatio = ratio(sides[0]!.handshakesPerS, sides[1]!.handshakesPerS);
  const faster = handshakeRatio === null ? null : handshakeRatio > 1 ? "stunnel" : "haproxy";
  return { sides, handshakeRatio, faster };
}

/** A TLS endpoint whose handshakes a client container measures. */
export interface HandshakeTarget {
  key: string;
  probe: BenchClient;
  /** https://host:port */
  url: string;
  ca: string;
}

/**
 * Full TLS handshakes (no resumption) against each target in turn, slice by slice, the targets'
 * order reversed every other slice so a drift in the machine's load favours none; the reports by key.
 */
export async function handshakeSlices(targets: HandshakeTarget[], config: BenchConfig["tls"], onSlice: (slice: number) => void = () => undefined): Promise<Map<string, HandshakeReport[]>> {
  const reports = new Map<string, HandshakeReport[]>(targets.map((target) => [target.key, []]));
  for (let slice = 0; slice < config.slices; slice++) {
    for (const target of slice % 2 === 0 ? targets : [...targets].reverse()) {
      const endpoint = new URL(target.url);
      const report = await target.probe.run<HandshakeReport>(
        { mode: "handshakes", host: endpoint.hostname, port: Number(endpoint.port), servername: endpoint.hostname, ca: target.ca, concurrency: config.concurrency, durationMs: config.sliceMs },
        config.sliceMs + 60_000,
      );
      reports.get(target.key)!.push(report);
    }
    onSlice(slice + 1);
  }
  return reports;
}

/** Handshakes/s over a target's slices, and their latency. */
export function handshakeRate(runs: HandshakeReport[]): { handshakesPerS: number; handshake: Latency } {
  const handshakes = runs.reduce((sum, r) => sum + r.handshakes, 0);
  const seconds = runs.reduce((sum, r) => sum + r.elapsedMs, 0) / 1000;
  return { handshakesPerS: Math.round(handshakes / seconds), handshake: latencyOf(runs.map((r) => r.histogram)) };
}
