import fs from "node:fs";
import * as http from "node:http";
import path from "node:path";
import type { Server } from "socket.io";
import { arrivedOnAdminListener, LISTENER_HEADER, LISTENER_TOKEN } from "./admin-listener";
import { listenOn } from "./lifecycle";
import type { Logger } from "./log";
import { requireOptionalPeer } from "./optional";
import { SOCKET_IO_PATH } from "./options";

/** The namespace @socket.io/admin-ui's pages connect to. */
export const ADMIN_NAMESPACE = "/admin";

export interface AdminUiOptions {
  /** ADMIN_UI_PORT: the admin listener's port, which the kit publishes on a loopback address only. */
  port: number;
  /** ADMIN_UI_USERNAME and ADMIN_UI_PASSWORD_HASH (bcrypt): the UI's basic authentication. */
  username: string;
  passwordHash: string;
  /** ADMIN_UI_READONLY: the UI shows, but cannot disconnect sockets or move them between rooms. */
  readonly: boolean;
  /** How the node is named in the UI's server list. */
  nodeId: string;
}

type AdminUiModule = typeof import("@socket.io/admin-ui");

/**
 * @socket.io/admin-ui on its own listener: `io` is instrumented (every node of a deployment is, so
 * that the UI, connected to one of them, sees all through the adapter), and the admin namespace
 * admits only handshakes that came in on `port`, with the UI's username and password. The UI's
 * pages (the package's ui/dist) are served there too, so no public port and no third-party site is
 * involved. The package is an optional peer, loaded only when ADMIN_UI_PORT is given.
 */
export async function startAdminUi(io: Server, options: AdminUiOptions, log: Logger): Promise<http.Server> {
  const adminUi = requireOptionalPeer(() => require("@socket.io/admin-ui") as AdminUiModule, "ADMIN_UI_PORT", "@socket.io/admin-ui");
  const pages = path.join(path.dirname(require.resolve("@socket.io/admin-ui/package.json")), "ui", "dist");
  // Engine.IO sessions opened through the admin listener, noted from their first request before
  // anything else sees the session (an application may release the request to save memory, as
  // the kit's image does, and Socket.IO's handshake then has no headers to read).
  const adminSessions = new WeakSet<object>();
  io.engine.prependListener("connection", (session: { request: http.IncomingMessage | null }) => {
    if (session.request && arrivedOnAdminListener(session.request.headers)) adminSessions.add(session);
  });
  // Before instrument()'s own authentication: a handshake from a public port is refused whatever it knows.
  io.of(ADMIN_NAMESPACE).use((socket, next) => {
    if (adminSessions.has(socket.conn)) next();
    else {
      log.warn("admin namespace refused on a public port", { address: socket.handshake.address });
      next(new Error("the admin namespace is served on the admin UI's own port only"));
    }
  });
  adminUi.instrument(io, {
    auth: { type: "basic", username: options.username, password: options.passwordHash },
    namespaceName: ADMIN_NAMESPACE,
    serverId: options.nodeId,
    readonly: options.readonly,
    // Aggregated events only: the UI must not cost the node an event per client event.
    mode: "production",
  });

  const server = http.createServer((req, res) => {
    if ((req.url ?? "").startsWith(SOCKET_IO_PATH)) {
      req.headers[LISTENER_HEADER] = LISTENER_TOKEN;
      io.engine.handleRequest(req, res);
    } else servePage(pages, req, res);
  });
  server.on("upgrade", (req: http.IncomingMessage, socket, head: Buffer) => {
    if (!(req.url ?? "").startsWith(SOCKET_IO_PATH)) return void socket.destroy();
    req.headers[LISTENER_HEADER] = LISTENER_TOKEN;
    io.engine.handleUpgrade(req, socket, head);
  });
  await listenOn(server, options.port);
  return server;
}

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".png": "image/png",
  ".svg": "image/svg+xml",
  ".json": "application/json",
};

/** A file of the UI's build, or 404; never a path outside it. */
function servePage(root: string, req: http.IncomingMessage, res: http.ServerResponse): void {
  let urlPath: string;
  try {
    urlPath = decodeURIComponent((req.url ?? "/").split("?")[0]!);
  } catch {
    urlPath = "/\0"; // malformed escapes: answered 404 below
  }
  const file = path.join(root, urlPath === "/" ? "index.html" : urlPath);
  if ((req.method !== "GET" && req.method !== "HEAD") || !file.startsWith(root + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
    res.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" });
    res.end("404 Not Found\n");
    return;
  }
  res.writeHead(200, { "Content-Type": CONTENT_TYPES[path.extname(file)] ?? "application/octet-stream", "Cache-Control": "no-cache" });
  if (req.method === "HEAD") res.end();
  else fs.createReadStream(file).pipe(res);
}
