import crypto from "node:crypto";
import net from "node:net";
import tls from "node:tls";
import fc from "fast-check";

/**
 * Bad input on the wire: random bytes, malformed HTTP, malformed WebSocket frames, malformed
 * Engine.IO packets and (on TLS ports) TLS garbage, each on a fresh connection from this machine
 * to a public port. Every payload must be delivered (a connection that cannot be opened is a
 * failure of the test, not a pass); payloads that would read files outside the served folders
 * must be answered without them. The test checks afterwards that every component is still up
 * and serving.
 */

export interface Target {
  port: number;
  tls: boolean;
  /** CA of the deployment's certificate (TLS ports). */
  ca?: string;
}

export interface GarbageReport {
  /** Payloads sent, by kind. */
  sent: Record<string, number>;
  /** How the server ended them: closed it / we gave up waiting (still open after the wait). */
  closedByServer: number;
  timedOut: number;
  /** Connections that could not even be opened (refused, TLS handshake failed for a TLS-level payload). */
  failedToOpen: number;
}

type Payload = {
  kind: string;
  layer: "raw" | "app";
  run: (socket: net.Socket) => Promise<void> | void;
  /** Checks what the server answered (its first bytes, latin1); throws when the answer is wrong. */
  answer?: (reply: string) => void;
};

const HOST = "127.0.0.1";
const WAIT_MS = 1500;

/** Sends every payload to `target` (concurrency-bounded) and reports how the connections ended. */
export async function sendGarbage(target: Target, seed: number): Promise<GarbageReport> {
  const report: GarbageReport = { sent: {}, closedByServer: 0, timedOut: 0, failedToOpen: 0 };
  const payloads = [...rawPayloads(seed, target.tls), ...httpPayloads(), ...webSocketPayloads(seed), ...engineIoPayloads()];
  let next = 0;
  const worker = async () => {
    while (next < payloads.length) {
      const payload = payloads[next++]!;
      report.sent[payload.kind] = (report.sent[payload.kind] ?? 0) + 1;
      const { outcome, reply } = await deliver(target, payload);
      if (outcome === "closed") report.closedByServer++;
      else if (outcome === "timeout") report.timedOut++;
      else report.failedToOpen++;
      if (outcome !== "open-failed") payload.answer?.(reply);
    }
  };
  await Promise.all(Array.from({ length: 6 }, worker));
  const total = Object.values(report.sent).reduce((sum, count) => sum + count, 0);
  if (report.failedToOpen > 0) throw new Error(`${report.failedToOpen} of ${total} garbage connections to port ${target.port} could not be opened: those payloads were never delivered`);
  return report;
}

async function deliver(target: Target, payload: Payload): Promise<{ outcome: "closed" | "timeout" | "open-failed"; reply: string }> {
  let socket: net.Socket;
  try {
    socket = await open(target, payload.layer === "raw" ? false : target.tls);
  } catch {
    return { outcome: "open-failed", reply: "" };
  }
  let reply = "";
  return new Promise((resolve) => {
    let done = false;
    const finish = (outcome: "closed" | "timeout") => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ outcome, reply });
    };
    const timer = setTimeout(() => finish("timeout"), WAIT_MS);
    socket.on("data", (chunk: Buffer) => {
      if (reply.length < 8192) reply += chunk.toString("latin1");
    });
    socket.on("error", () => finish("closed"));
    socket.on("close", () => finish("closed"));
    Promise.resolve(payload.run(socket)).catch(() => finish("closed"));
  });
}

function open(target: Target, overTls: boolean): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = overTls
      ? tls.connect({ host: HOST, port: target.port, servername: "localhost", ca: target.ca, ALPNProtocols: ["http/1.1"] }, () => resolve(socket))
      : net.connect({ host: HOST, port: target.port }, () => resolve(socket));
    socket.once("error", reject);
    socket.setTimeout(5000, () => socket.destroy(new Error("connect timeout")));
  });
}

const write = (data: string | Buffer) => (socket: net.Socket) => void socket.write(data);

/** Random bytes (seeded, reproducible); on TLS ports also broken TLS records, sent below TLS. */
function rawPayloads(seed: number, tlsPort: boolean): Payload[] {
  const blobs = fc.sample(fc.uint8Array({ minLength: 1, maxLength: 4096 }), { numRuns: 10, seed });
  const payloads: Payload[] = blobs.map((bytes) => ({ kind: "random bytes", layer: "raw", run: write(Buffer.from(bytes)) }));
  payloads.push({ kind: "random bytes", layer: "raw", run: write(crypto.randomBytes(64 * 1024)) });
  if (!tlsPort) return payloads;
  const record = (type: number, version: number, body: Buffer, length = body.length) => Buffer.concat([Buffer.from([type, version >> 8, version & 0xff, length >> 8, length & 0xff]), body]);
  const hello = (body: Buffer, length = body.length) => Buffer.concat([Buffer.from([0x01, 0, length >> 8, length & 0xff]), body]);
  const tlsGarbage: [string, Buffer][] = [
    ["handshake record, random body", record(0x16, 0x0301, crypto.randomBytes(200))],
    ["ClientHello with a length past its end", record(0x16, 0x0301, hello(crypto.randomBytes(40), 0xfff0))],
    ["record length 0xffff, body missing", record(0x16, 0x0303, Buffer.alloc(10), 0xffff)],
    ["truncated ClientHello", record(0x16, 0x0301, hello(Buffer.from([0x03, 0x03, ...crypto.randomBytes(20)])))],
    ["SSLv2 hello", Buffer.from([0x80, 0x2e, 0x01, 0x00, 0x02, 0x00, 0x15, 0x00, 0x00, 0x00, 0x10, ...crypto.randomBytes(37)])],
    ["heartbeat record before handshake", record(0x18, 0x0303, Buffer.from([0x01, 0x40, 0x00, 0x41]))],
    ["application data before handshake", record(0x17, 0x0303, crypto.randomBytes(64))],
    ["alert with a bogus level", record(0x15, 0x0303, Buffer.from([0x09, 0x99]))],
    ["plain HTTP on the TLS port", Buffer.from("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")],
  ];
  for (const [, bytes] of tlsGarbage) payloads.push({ kind: "TLS garbage", layer: "raw", run: write(bytes) });
  return payloads;
}

/** Malformed and hostile HTTP/1.1 requests. */
function httpPayloads(): Payload[] {
  const requests = [
    "GARBAGE\r\n\r\n",
    "GET / HTTP/9.9\r\nHost: localhost\r\n\r\n",
    "GET /\r\n\r\n",
    `GET /${"a".repeat(70_000)} HTTP/1.1\r\nHost: localhost\r\n\r\n`,
    "GET / HTTP/1.1\r\nHost localhost\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: local\u0000host\r\nX: \u0001\u0002\r\n\r\n",
    `GET / HTTP/1.1\r\nHost: localhost\r\n${Array.from({ length: 200 }, (_, i) => `X-H${i}: ${"v".repeat(1000)}\r\n`).join("")}\r\n`,
    "POST /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n",
    "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: -1\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 99999999999999999999\r\n\r\nabc",
    "POST /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\nshort",
    "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\nContent-Length: 7\r\n\r\nabcdefg",
    "\r\n\r\n\r\n\r\n",
    "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\u0000\u0000\u0012\u0004\u0000\u0000\u0000\u0000\u0000",
    "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: localhost\r\nOrigin: \u00ff\u00fe\r\n\r\n",
    "CONNECT localhost:6379 HTTP/1.1\r\nHost: localhost:6379\r\n\r\n",
  ];
  const payloads: Payload[] = requests.map((request) => ({ kind: "malformed HTTP", layer: "app", run: write(Buffer.from(request, "latin1")) }));
  // Paths that climb out of the served folders: answered, and never with a file from outside them.
  for (const target of ["/../../../../etc/passwd", "/static/../../../../etc/passwd", "/static/..%2f..%2f..%2f..%2fetc%2fpasswd", "/chat/..%2f..%2fpackage.json"]) {
    payloads.push({
      kind: "path traversal",
      layer: "app",
      run: write(Buffer.from(`GET ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`, "latin1")),
      answer(reply) {
        const status = /^HTTP\/1\.[01] (\d{3})/.exec(reply)?.[1];
        if (!status) throw new Error(`GET ${target}: no HTTP answer (${JSON.stringify(reply.slice(0, 80))})`);
        if (/root:x?:0:0:|"name": ?"realtime-kit/.test(reply)) throw new Error(`GET ${target} answered ${status} with a file from outside the served folders`);
        if (!["301", "302", "308", "400", "403", "404"].includes(status)) throw new Error(`GET ${target} answered ${status}; expected a refusal or not found`);
      },
    });
  }
  // Headers trickled in and abandoned half way.
  payloads.push({
    kind: "malformed HTTP",
    layer: "app",
    run: async (socket) => {
      for (const part of ["GET / HT", "TP/1.1\r\nHo", "st: local"]) {
        socket.write(part);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    },
  });
  return payloads;
}

/** A client WebSocket frame (masked unless told otherwise). */
function frame(opcode: number, payload: Buffer, options: { fin?: boolean; rsv?: number; masked?: boolean; claimedLength?: bigint } = {}): Buffer {
  const first = ((options.fin ?? true) ? 0x80 : 0) | ((options.rsv ?? 0) << 4) | opcode;
  const masked = options.masked ?? true;
  const length = options.claimedLength ?? BigInt(payload.length);
  let header: Buffer;
  if (length < 126n) header = Buffer.from([first, (masked ? 0x80 : 0) | Number(length)]);
  else if (length < 65536n) header = Buffer.from([first, (masked ? 0x80 : 0) | 126, Number(length) >> 8, Number(length) & 0xff]);
  else {
    header = Buffer.alloc(10);
    header[0] = first;
    header[1] = (masked ? 0x80 : 0) | 127;
    header.writeBigUInt64BE(length, 2);
  }
  if (!masked) return Buffer.concat([header, payload]);
  const mask = crypto.randomBytes(4);
  return Buffer.concat([header, mask, Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]!))]);
}

function upgradeRequest(path: string): string {
  return `GET ${path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${crypto.randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n\r\n`;
}

/** Upgrades, waits for the 101 (or gives up after a while), then sends `frames`. */
function afterUpgrade(path: string, frames: Buffer[]): Payload["run"] {
  return (socket) =>
    new Promise<void>((resolve) => {
      let head = "";
      const onData = (chunk: Buffer) => {
        head += chunk.toString("latin1");
        if (!head.includes("\r\n\r\n")) return;
        socket.off("data", onData);
        for (const bytes of frames) socket.write(bytes);
        resolve();
      };
      socket.on("data", onData);
      socket.write(upgradeRequest(path));
      setTimeout(resolve, 1000);
    });
}

const WS_PATHS = ["/socket.io/?EIO=4&transport=websocket", "/echo"];

/** Protocol-breaking WebSocket frames after a real upgrade, on Socket.IO's and the echo's endpoints. */
function webSocketPayloads(seed: number): Payload[] {
  const text = (s: string) => Buffer.from(s, "utf8");
  const frames: Buffer[][] = [
    [frame(0x1, text("hello"), { masked: false })],
    [frame(0x1, text("40"), { rsv: 0b111 })],
    [frame(0x3, text("reserved opcode"))],
    [frame(0xb, text("reserved control opcode"))],
    [frame(0x2, Buffer.alloc(8), { claimedLength: 2n ** 63n - 1n })],
    [frame(0x1, Buffer.alloc(16), { claimedLength: 10_000_000n })],
    [frame(0x9, Buffer.alloc(200))],
    [frame(0x8, Buffer.alloc(0), { fin: false })],
    [frame(0x1, Buffer.from([0xc3, 0x28, 0xa0, 0xa1]))],
    [frame(0x8, Buffer.from([0x03, 0xe7]))],
    [frame(0x0, text("continuation without a start"))],
    [frame(0x1, text("4"), { fin: false }), frame(0x1, text("2"))],
    ...fc.sample(fc.uint8Array({ minLength: 2, maxLength: 512 }), { numRuns: 4, seed: seed + 1 }).map((bytes) => [Buffer.from(bytes)]),
  ];
  return WS_PATHS.flatMap((path) => frames.map((list) => ({ kind: "malformed WebSocket frames", layer: "app" as const, run: afterUpgrade(path, list) })));
}

/** Well-formed frames and requests carrying broken Engine.IO / Socket.IO packets. */
function engineIoPayloads(): Payload[] {
  const packets = ["9", "", "4", "42[", '42["chat",', "42{}", '451-["echo",{"_placeholder":true,"num":99}]', "40/nonexistent,", "2probe", "5", "6", "1", `4${"x".repeat(5000)}`, "42[\"echo\",{\"a\":" + "[".repeat(5000) + "]}"];
  const payloads: Payload[] = packets.map((packet) => ({
    kind: "malformed Engine.IO over WebSocket",
    layer: "app",
    run: afterUpgrade(WS_PATHS[0]!, [frame(0x1, Buffer.from(packet, "utf8"))]),
  }));
  payloads.push({ kind: "malformed Engine.IO over WebSocket", layer: "app", run: afterUpgrade(WS_PATHS[0]!, [frame(0x2, crypto.randomBytes(300))]) });
  const polling = (method: string, query: string, body = "") =>
    `${method} /socket.io/?${query} HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
  const requests = [
    polling("GET", "EIO=3&transport=polling"),
    polling("GET", "EIO=4&transport=carrier-pigeon"),
    polling("GET", "EIO=4&transport=polling&sid=not-a-session"),
    polling("POST", "EIO=4&transport=polling&sid=not-a-session", "42[\"chat\",\"x\"]"),
    polling("POST", "EIO=4&transport=polling", "\u001e\u001e\u001e"),
    polling("PUT", "EIO=4&transport=polling", "x"),
    polling("GET", "EIO=4&transport=polling&j=%00&b64=%ff"),
  ];
  for (const request of requests) payloads.push({ kind: "malformed Engine.IO over polling", layer: "app", run: write(Buffer.from(request, "utf8")) });
  // A real session, then garbage posted into it.
  for (const body of ["garbage", "\u001e\u001e", "42[", "999999:abc", "4" + "\u0000".repeat(100), "b" + crypto.randomBytes(50).toString("base64") + "=="]) {
    payloads.push({ kind: "malformed Engine.IO over polling", layer: "app", run: postIntoSession(body) });
  }
  return payloads;
}

function postIntoSession(body: string): Payload["run"] {
  return (socket) =>
    new Promise<void>((resolve) => {
      let buffer = "";
      const onData = (chunk: Buffer) => {
        buffer += chunk.toString("utf8");
        const sid = /"sid":"([^"]+)"/.exec(buffer)?.[1];
        if (!sid) return;
        socket.off("data", onData);
        socket.write(
          `POST /socket.io/?EIO=4&transport=polling&sid=${sid} HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
        );
        resolve();
      };
      socket.on("data", onData);
      socket.write("GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: localhost\r\n\r\n");
      setTimeout(resolve, 1000);
    });
}
