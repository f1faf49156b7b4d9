import * as hdr from "hdr-histogram-js";
import { performance } from "node:perf_hooks";
import type { Socket } from "socket.io-client";
import type { ClientOptions } from "../../driver/socket-client";
import { newHistogram, openSockets } from "./latency";

/**
 * Broadcast fan-out: receivers connect to the given node URLs (spread as asked), one sender on
 * the first URL emits `messages` chat events (at most `window` unacknowledged), and the server
 * broadcasts each one to every other socket, across nodes through the Redis adapter when there
 * is one. Counts deliveries and their latency (send to receipt, same process clock).
 */
export interface BroadcastSpec extends Omit<ClientOptions, "url"> {
  mode: "broadcast";
  targets: { url: string; receivers: number }[];
  messages: number;
  window: number;
  timeoutMs: number;
}

export interface BroadcastReport {
  histogram: string;
  receivers: number;
  expected: number;
  delivered: number;
  /** From the first send to the last delivery (ms). */
  elapsedMs: number;
  errors: string[];
}

export async function runBroadcast(spec: BroadcastSpec): Promise<BroadcastReport> {
  const histogram = newHistogram();
  const errors: string[] = [];
  const tag = `b${Math.random().toString(36).slice(2, 8)}`;
  const receivers: Socket[] = [];
  for (const target of spec.targets) {
    const opened = await openSockets({ ...spec, url: target.url }, target.receivers, 50);
    receivers.push(...opened.sockets);
    errors.push(...opened.errors.slice(0, 10));
  }
  const { sockets: senders, errors: senderErrors } = await openSockets({ ...spec, url: spec.targets[0]!.url }, 1, 1);
  const sender = senders[0];
  if (!sender) return { histogram: hdr.encodeIntoCompressedBase64(histogram), receivers: receivers.length, expected: 0, delivered: 0, elapsedMs: 0, errors: senderErrors };
  const expected = spec.messages * receivers.length;
  let delivered = 0;
  let lastDelivery = 0;
  let allDone: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (allDone = resolve));
  for (const socket of receivers) {
    socket.on("chat", (message: { text?: string }) => {
      const parts = String(message?.text ?? "").split(":");
      if (parts[0] !== tag) return;
      const now = performance.now();
      histogram.recordValue(Math.max(1, Math.round((now - Number(parts[2])) * 1000)));
      delivered++;
      lastDelivery = now;
      if (delivered === expected) allDone();
    });
  }
  const started = performance.now();
  let next = 0;
  const sendLoop = async () => {
    while (next < spec.messages) {
      const seq = next++;
      try {
        await sender.timeout(10_000).emitWithAck("chat", `${tag}:${seq}:${performance.now()}`);
      } catch (error) {
        if (errors.length < 20) errors.push(`send ${seq}: ${(error as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: spec.window }, sendLoop));
  await Promise.race([done, new Promise((resolve) => setTimeout(resolve, spec.timeoutMs))]);
  const elapsedMs = (delivered > 0 ? lastDelivery : performance.now()) - started;
  for (const socket of [...receivers, sender]) socket.disconnect();
  return { histogram: hdr.encodeIntoCompressedBase64(histogram), receivers: receivers.length, expected, delivered, elapsedMs, errors };
}
