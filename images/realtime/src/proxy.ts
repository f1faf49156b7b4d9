import * as http from "node:http";
import * as https from "node:https";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { createProxyServer, type ProxyServer } from "http-proxy-3";
import { errMessage, log } from "./log";

const BAD_GATEWAY = "502 Bad Gateway: upstream unavailable\n";
const TOO_LARGE = "413 Payload Too Large\n";

/**
 * Writes a small HTTP response on a raw (upgrade) socket and closes it once flushed.
 * `head` is the status line plus any extra header lines, each ending in CRLF.
 */
export function endRaw(socket: Duplex, head: string, body: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(
    head +
      "Content-Type: text/plain; charset=utf-8\r\nConnection: close\r\n" +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  setTimeout(() => socket.destroy(), 1000).unref();
}

/**
 * The node-proxy role: everything that is not the realtime server's own route goes to
 * APP_UPSTREAM (HTTP and WebSocket upgrades). Upstream failures answer 502 and never throw.
 */
export class UpstreamProxy {
  private readonly agent: http.Agent;
  private readonly proxy: ProxyServer;
  /** Upstream sockets of upgraded (WebSocket) tunnels; the agent no longer counts them. */
  private readonly tunnels = new Set<Socket>();
  private readonly clientSockets = new Set<Duplex>();
  /** Client sockets to which the upstream's answer (101 or an HTTP response) is being relayed. */
  private readonly answered = new WeakSet<Duplex>();
  private lastErrorLog = 0;

  constructor(
    readonly target: URL,
    private readonly nodeId: string,
    /** Largest request body forwarded (MAX_HTTP_BUFFER_SIZE): the same limit the proxies in front enforce. */
    private readonly maxBodyBytes: number,
  ) {
    const agentOpts = { keepAlive: true, keepAliveMsecs: 10_000, maxFreeSockets: 32, timeout: 60_000 };
    this.agent = target.protocol === "https:" ? new https.Agent(agentOpts) : new http.Agent(agentOpts);
    this.proxy = createProxyServer({
      target: target.origin,
      agent: this.agent,
      ws: true,
      xfwd: false, // set by us: keep the Proto/Host a proxy in front of us already decided
      changeOrigin: false,
      connectTimeout: 5_000,
    });
    this.proxy.on("proxyReqWs", (proxyReq, _req, socket) => {
      const mark = () => this.answered.add(socket);
      proxyReq.once("upgrade", mark);
      proxyReq.once("response", mark);
    });
    this.proxy.on("open", (proxySocket: Socket) => {
      this.tunnels.add(proxySocket);
      proxySocket.once("close", () => this.tunnels.delete(proxySocket));
    });
    // Without an "error" listener an EventEmitter error would be thrown; per-call callbacks
    // below handle the responses, this only keeps stray errors from crashing the node.
    this.proxy.on("error", (err: Error) => this.logError(err));
  }

  /** Open TCP connections from this node to the upstream: agent sockets (busy + idle) + tunnels. */
  get connections(): number {
    let n = 0;
    for (const list of Object.values(this.agent.sockets)) n += list?.length ?? 0;
    for (const list of Object.values(this.agent.freeSockets)) n += list?.length ?? 0;
    return n + this.tunnels.size;
  }

  private logError(err: unknown): void {
    const now = Date.now();
    if (now - this.lastErrorLog < 5_000) return; // at most one line per 5 s while the upstream is down
    this.lastErrorLog = now;
    log.warn("upstream error", { upstream: this.target.origin, error: errMessage(err) });
  }

  web(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (Number(req.headers["content-length"] ?? 0) > this.maxBodyBytes) {
      this.refuseTooLarge(res);
      req.resume(); // read and drop the body so the 413 reaches the client
      return;
    }
    this.limitChunkedBody(req, res);
    setForwardedHeaders(req);
    this.proxy.web(req, res, (err) => {
      this.logError(err);
      if (!res.headersSent) {
        res.writeHead(502, {
          "Content-Type": "text/plain; charset=utf-8",
          "Content-Length": Buffer.byteLength(BAD_GATEWAY),
          "X-Node-Id": this.nodeId,
          Connection: "close",
        });
        res.end(BAD_GATEWAY);
      } else {
        res.destroy();
      }
    });
  }

  /**
   * A body without Content-Length (chunked) is counted as it streams to the upstream; past the
   * limit the request is cut and, if the upstream has not answered yet, the client gets 413.
   */
  private limitChunkedBody(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (req.headers["content-length"] !== undefined) return;
    let received = 0;
    req.on("data", (chunk: Buffer) => {
      received += chunk.length;
      if (received <= this.maxBodyBytes) return;
      req.removeAllListeners("data");
      req.unpipe();
      if (!res.headersSent) this.refuseTooLarge(res);
      else res.destroy();
      req.destroy();
    });
  }

  private refuseTooLarge(res: http.ServerResponse): void {
    res.writeHead(413, {
      "Content-Type": "text/plain; charset=utf-8",
      "Content-Length": Buffer.byteLength(TOO_LARGE),
      "X-Node-Id": this.nodeId,
      Connection: "close",
    });
    res.end(TOO_LARGE);
  }

  ws(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    setForwardedHeaders(req);
    this.clientSockets.add(socket);
    socket.once("close", () => this.clientSockets.delete(socket));
    socket.on("error", () => socket.destroy());
    this.proxy.ws(req, socket, head, (err) => {
      this.logError(err);
      // Answer 502 only if nothing was relayed yet; after a 101 this is a broken tunnel.
      if (this.answered.has(socket)) socket.destroy();
      else endRaw(socket, `HTTP/1.1 502 Bad Gateway\r\nX-Node-Id: ${this.nodeId}\r\n`, BAD_GATEWAY);
    });
  }

  close(): void {
    for (const s of this.clientSockets) s.destroy();
    for (const s of this.tunnels) s.destroy();
    this.agent.destroy();
    this.proxy.close();
  }
}

/**
 * X-Forwarded-For gets the peer appended; Proto and Host are only set when no proxy in front
 * of us set them already (HAProxy/nginx/stunnel know the client-facing scheme, we do not).
 */
function setForwardedHeaders(req: http.IncomingMessage): void {
  // We listen on "::", so IPv4 peers show up as IPv4-mapped IPv6 addresses.
  const peer = (req.socket.remoteAddress ?? "").replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, "");
  const xff = req.headers["x-forwarded-for"];
  req.headers["x-forwarded-for"] = xff ? `${String(xff)}, ${peer}` : peer;
  if (!req.headers["x-forwarded-proto"]) {
    req.headers["x-forwarded-proto"] = (req.socket as { encrypted?: boolean }).encrypted ? "https" : "http";
  }
  if (!req.headers["x-forwarded-host"] && req.headers.host) {
    req.headers["x-forwarded-host"] = req.headers.host;
  }
}
