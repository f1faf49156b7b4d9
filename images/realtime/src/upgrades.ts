import type * as http from "node:http";
import type { Duplex } from "node:stream";
import type { NodeLifecycle } from "@realtime-kit/server";
import type { EchoServer } from "./echo";
import { isEchoPath, isOwnPath, isSocketIoPath, pathnameOf } from "./paths";
import type { UpstreamProxy } from "./proxy";
import { rejectUpgrade } from "./respond";
import type { Servers } from "./servers";
import type { SocketIo } from "./socket-io";

export interface UpgradeParts {
  nodeId: string;
  healthPath: string;
  lifecycle: NodeLifecycle;
  sio: SocketIo;
  echo: EchoServer;
  proxy: UpstreamProxy | null;
  originAllowed: (req: http.IncomingMessage) => boolean;
}

/** The "error" listener of every upgraded socket (one function, not one per socket): a failed socket is closed. */
function destroySocket(this: Duplex): void {
  this.destroy();
}

/**
 * WebSocket upgrades of both ports: Socket.IO and /echo on whichever server carries the realtime
 * endpoints, the rest of the main port's to APP_UPSTREAM.
 */
export function routeUpgrades(servers: Servers, { nodeId, healthPath, lifecycle, sio, echo, proxy, originAllowed }: UpgradeParts): void {
  const split = servers.split !== null;

  /** Upgrades for the realtime endpoints, on whichever server carries them. */
  function realtimeUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const p = pathnameOf(req.url);
    const isSio = isSocketIoPath(req.url);
    if (!isSio && !isEchoPath(p)) return false;
    // Checked here too so that a refused WebSocket gets 403 (engine.io would answer 400).
    if (!originAllowed(req)) rejectUpgrade(socket, 403, "Forbidden", nodeId);
    else if (isSio) sio.handleUpgrade(req, socket, head);
    else echo.handleUpgrade(req, socket, head);
    return true;
  }

  function onMainUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on("error", destroySocket);
    if (lifecycle.stopping) return rejectUpgrade(socket, 503, "Service Unavailable", nodeId);
    const p = pathnameOf(req.url);
    if (isSocketIoPath(req.url) || isEchoPath(p)) {
      if (split || !realtimeUpgrade(req, socket, head)) rejectUpgrade(socket, 404, "Not Found", nodeId);
    } else if (isOwnPath(p, healthPath) || !proxy) {
      rejectUpgrade(socket, 404, "Not Found", nodeId);
    } else {
      proxy.ws(req, socket, head);
    }
  }

  function onSplitUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on("error", destroySocket);
    if (lifecycle.stopping) return rejectUpgrade(socket, 503, "Service Unavailable", nodeId);
    if (!realtimeUpgrade(req, socket, head)) rejectUpgrade(socket, 404, "Not Found", nodeId);
  }

  servers.main.on("upgrade", onMainUpgrade);
  servers.split?.on("upgrade", onSplitUpgrade);
}
