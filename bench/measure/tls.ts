import type { HandshakeReport } from "../agent/handshakes";
import type { BenchConfig } from "../config";
import type { Deployed } from "../lab";
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
  const reports = new Map<Deployed, HandshakeReport[]>([
    [stunnel, []],
    [haproxy, []],
  ]);
  for (let slice = 0; slice < config.slices; slice++) {
    const order = slice % 2 === 0 ? [stunnel, haproxy] : [haproxy, stunnel];
    for (const d of order) {
      const target = new URL(d.t.internalUrls.https!);
      const report = await d.probe.run<HandshakeReport>(
        { mode: "handshakes", host: target.hostname, port: Number(target.port), servername: target.hostname, ca: d.t.ca!, concurrency: config.concurrency, durationMs: config.sliceMs },
        config.sliceMs + 60_000,
      );
      reports.get(d)!.push(report);
    }
    log(`tls: handshakes, slice ${slice + 1}/${config.slices}`);
  }
  const side = (d: Deployed, terminator: TlsSide["terminator"]): TlsSide => {
    const runs = reports.get(d)!;
    const handshakes = runs.reduce((sum, r) => sum + r.handshakes, 0);
    const seconds = runs.reduce((sum, r) => sum + r.elapsedMs, 0) / 1000;
    const rt = roundtrips.find((r) => r.key === d.variant.key);
    return {
      key: d.variant.key,
      title: d.variant.title,
      terminator,
      endpoint: d.t.internalUrls.https!,
      handshakesPerS: Math.round(handshakes / seconds),
      handshake: latencyOf(runs.map((r) => r.histogram)),
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
