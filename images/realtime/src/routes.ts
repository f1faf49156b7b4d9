import type * as http from "node:http";
import { answerHealth, type NodeLifecycle } from "@realtime-kit/server";
import { refuseOversizedBody } from "./body-limit";
import type { Config } from "./config";
import { isEchoPath, isOwnPath, isSocketIoPath, pathnameOf } from "./paths";
import type { UpstreamProxy } from "./proxy";
import { sendJson, sendText } from "./respond";
import type { Servers } from "./servers";
import { refuseWhileShuttingDown } from "./shutdown";
import type { SocketIo } from "./socket-io";
import type { StaticFile } from "./static";
import type { Stats } from "./stats";

export interface RouteParts {
  config: Config;
  lifecycle: NodeLifecycle;
  sio: SocketIo;
  proxy: UpstreamProxy | null;
  publicFiles: Map<string, StaticFile>;
  stats: Stats;
}

function serveStatic(res: http.ServerResponse, file: StaticFile, head: boolean): void {
  res.writeHead(200, { "Content-Type": file.type, "Content-Length": file.body.length, "Cache-Control": "no-cache" });
  res.end(head ? undefined : file.body);
}

/**
 * HTTP requests of both ports: the main port answers the node's own paths, the realtime
 * endpoints (unless a split port carries them) and proxies the rest to APP_UPSTREAM; the split
 * port answers only the realtime endpoints.
 */
export function routeRequests(servers: Servers, { config, lifecycle, sio, proxy, publicFiles, stats }: RouteParts): void {
  const nodeId = config.nodeId;
  const split = servers.split !== null;

  function ownRoute(req: http.IncomingMessage, res: http.ServerResponse, p: string): void {
    if (req.method !== "GET" && req.method !== "HEAD") {
      sendText(res, 405, "405 Method Not Allowed\n", { Allow: "GET, HEAD" });
      return;
    }
    const head = req.method === "HEAD";
    if (p === config.healthPath) {
      answerHealth(res, lifecycle, nodeId, head);
    } else if (p === "/stats") {
      sendJson(res, 200, stats.snapshot());
    } else if (p.startsWith("/stats/sockets/")) {
      const { status, body } = stats.socket(p.slice("/stats/sockets/".length));
      sendJson(res, status, body);
    } else if (p === "/chat") {
      res.writeHead(301, { Location: "/chat/", "Content-Length": 0 });
      res.end();
    } else if (p === "/chat/config.json") {
      sendJson(res, 200, { realtimePort: config.publicRealtimePort });
    } else if (p.startsWith("/chat/")) {
      const name = p === "/chat/" ? "index.html" : p.slice("/chat/".length);
      const file = publicFiles.get(name);
      if (file) serveStatic(res, file, head);
      else sendText(res, 404, "404 Not Found\n");
    } else {
      sendText(res, 404, "404 Not Found\n");
    }
  }

  function onMainRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const p = pathnameOf(req.url);
    if (refuseWhileShuttingDown(lifecycle, nodeId, req, res, p)) return;
    if (isSocketIoPath(req.url) || isEchoPath(p)) {
      res.setHeader("X-Node-Id", nodeId);
      if (split) sendText(res, 404, "404 Not Found (realtime endpoints are on the realtime port)\n");
      else if (isEchoPath(p)) sendText(res, 426, "426 Upgrade Required: /echo is a WebSocket\n", { Upgrade: "websocket" });
      else if (!refuseOversizedBody(req, res, config.maxHttpBufferSize, { "X-Node-Id": nodeId })) sio.handleRequest(req, res);
    } else if (isOwnPath(p, config.healthPath)) {
      res.setHeader("X-Node-Id", nodeId);
      ownRoute(req, res, p);
    } else if (proxy) {
      proxy.web(req, res);
    } else {
      res.setHeader("X-Node-Id", nodeId);
      if (p === "/" && (req.method === "GET" || req.method === "HEAD")) {
        res.writeHead(302, { Location: "/chat/", "Content-Length": 0 });
        res.end();
      } else {
        sendText(res, 404, "404 Not Found\n");
      }
    }
  }

  function onSplitRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const p = pathnameOf(req.url);
    if (refuseWhileShuttingDown(lifecycle, nodeId, req, res, p)) return;
    res.setHeader("X-Node-Id", nodeId);
    if (isSocketIoPath(req.url)) {
      if (!refuseOversizedBody(req, res, config.maxHttpBufferSize, { "X-Node-Id": nodeId })) sio.handleRequest(req, res);
    } else if (isEchoPath(p)) sendText(res, 426, "426 Upgrade Required: /echo is a WebSocket\n", { Upgrade: "websocket" });
    else sendText(res, 404, "404 Not Found (this port serves only /socket.io/ and /echo)\n");
  }

  servers.main.on("request", onMainRequest);
  servers.split?.on("request", onSplitRequest);
}
