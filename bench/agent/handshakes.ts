import * as hdr from "hdr-histogram-js";
import tls from "node:tls";
import { newHistogram } from "./latency";

/**
 * Full TLS handshakes (no session resumption: every connection is new and offers no ticket)
 * against host:port, `concurrency` at a time, for `durationMs`. Each connection is closed as
 * soon as the handshake completes.
 */
export interface HandshakeSpec {
  mode: "handshakes";
  host: string;
  port: number;
  /** SNI and the name the certificate is checked against. */
  servername: string;
  ca: string;
  concurrency: number;
  durationMs: number;
}

export interface HandshakeReport {
  histogram: string;
  handshakes: number;
  errors: string[];
  elapsedMs: number;
  protocol: string | null;
  cipher: string | null;
}

export async function runHandshakes(spec: HandshakeSpec): Promise<HandshakeReport> {
  const histogram = newHistogram();
  const errors: string[] = [];
  let handshakes = 0;
  let protocol: string | null = null;
  let cipher: string | null = null;
  const started = Date.now();
  const deadline = started + spec.durationMs;
  const one = () =>
    new Promise<void>((resolve) => {
      const t0 = process.hrtime.bigint();
      const socket = tls.connect({ host: spec.host, port: spec.port, servername: spec.servername, ca: spec.ca, session: undefined });
      const timer = setTimeout(() => socket.destroy(new Error("handshake timeout (10 s)")), 10_000);
      socket.once("secureConnect", () => {
        histogram.recordValue(Math.max(1, Number((process.hrtime.bigint() - t0) / 1000n)));
        handshakes++;
        protocol ??= socket.getProtocol();
        cipher ??= socket.getCipher()?.name ?? null;
        clearTimeout(timer);
        socket.destroy();
        resolve();
      });
      socket.once("error", (error) => {
        clearTimeout(timer);
        if (errors.length < 20) errors.push(error.message);
        socket.destroy();
        resolve();
      });
    });
  const worker = async () => {
    while (Date.now() < deadline) await one();
  };
  await Promise.all(Array.from({ length: spec.concurrency }, worker));
  return { histogram: hdr.encodeIntoCompressedBase64(histogram), handshakes, errors, elapsedMs: Date.now() - started, protocol, cipher };
}
