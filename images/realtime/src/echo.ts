import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";

/**
 * `/echo`: a plain WebSocket (no Socket.IO framing) that sends every message back unchanged,
 * text as text and binary as binary. Used to probe raw WebSocket support through proxies.
 */
export class EchoServer {
  private readonly wss: WebSocketServer;
  private readonly clients = new Set<WebSocket>();

  constructor(nodeId: string, maxPayload: number) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload, clientTracking: false });
    this.wss.on("headers", (headers) => {
      headers.push(`X-Node-Id: ${nodeId}`);
    });
  }

  get size(): number {
    return this.clients.size;
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.clients.add(ws);
      ws.on("message", (data, isBinary) => {
        ws.send(data, { binary: isBinary });
      });
      ws.on("error", () => ws.terminate());
      ws.on("close", () => this.clients.delete(ws));
    });
  }

  /** Close frames (1001 going away) to every client, then terminate whatever is left. */
  close(): void {
    for (const ws of this.clients) {
      try {
        ws.close(1001, "server shutting down");
      } catch {
        ws.terminate();
      }
    }
    const left = [...this.clients];
    setTimeout(() => left.forEach((ws) => ws.terminate()), 500).unref();
    this.wss.close();
  }
}
