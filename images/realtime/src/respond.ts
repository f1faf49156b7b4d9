import type * as http from "node:http";
import type { Duplex } from "node:stream";
import { endRaw } from "./proxy";

export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(data),
    "Cache-Control": "no-store",
  });
  res.end(data);
}

export function sendText(res: http.ServerResponse, status: number, text: string, extra: http.OutgoingHttpHeaders = {}): void {
  res.writeHead(status, {
    "Content-Type": "text/plain; charset=utf-8",
    "Content-Length": Buffer.byteLength(text),
    ...extra,
  });
  res.end(text);
}

/** Ends a raw (upgrade) socket with a small HTTP response. */
export function rejectUpgrade(socket: Duplex, status: number, reason: string, nodeId: string): void {
  endRaw(socket, `HTTP/1.1 ${status} ${reason}\r\nX-Node-Id: ${nodeId}\r\n`, `${status} ${reason}\n`);
}
