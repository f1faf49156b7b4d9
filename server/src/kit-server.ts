import * as http from "node:http";
import { Server, type ServerOptions } from "socket.io";
import { KitEnvError, readKitEnv, type Env, type KitEnv } from "./env";
import { answerHealth, keepAliveBehindProxies, listenOn, NodeLifecycle, refuseWhileStopping, stopNode, stopOnSignals, type StopParts } from "./lifecycle";
import { connectRedisAdapter } from "./adapter";
import { startMetrics } from "./metrics-port";
import { startAdminUi } from "./admin-ui";
import { logConnections } from "./connection-log";
import { jsonLogger, type Logger } from "./log";
import { prefixSessionIds, SOCKET_IO_PATH, socketIoOptions } from "./options";
import type { RedisAdapterLink } from "./redis";

export interface KitServerOptions {
  /** Where the kit's variables are read (default: process.env). */
  env?: Env;
  /** The application's own HTTP routes; everything that is not the health route or /socket.io/ reaches it (default: 404). */
  onRequest?: http.RequestListener;
  /** Your own Socket.IO options, applied over the kit's (socketIoOptions). */
  serverOptions?: Partial<ServerOptions>;
  /** Default: JSON lines on stdout/stderr, each with the node's NODE_ID. */
  log?: Logger;
  /** Log every connect, disconnect (with its reason) and refused request (logConnections); default true. */
  logConnections?: boolean;
  /** Default: process.exit. */
  exit?: (code: number) => void;
}

export interface KitServer {
  readonly io: Server;
  readonly httpServer: http.Server;
  readonly env: KitEnv;
  readonly lifecycle: NodeLifecycle;
  /** The adapter's Redis link in multi-node (REDIS_URL set), else null. */
  readonly redis: RedisAdapterLink | null;
  /** Listens on PORT and stops gracefully on SIGTERM/SIGINT. Resolves once listening. */
  listen(): Promise<void>;
  /** The graceful stop, as SIGTERM runs it (ends with `exit`). */
  stop(reason?: string): Promise<void>;
}

/**
 * A Socket.IO server that meets realtime-kit's contract, in one call: options from the kit's
 * environment, the Redis adapter when REDIS_URL is given, the health route at HEALTH_PATH, 503
 * for new sessions while stopping, and the graceful stop on SIGTERM.
 *
 *     const kit = createKitServer();
 *     kit.io.on("connection", (socket) => { ... });
 *     await kit.listen();
 */
export function createKitServer(options: KitServerOptions = {}): KitServer {
  const env = readKitEnv(options.env);
  const log = options.log ?? jsonLogger(env.nodeId);
  const lifecycle = new NodeLifecycle();
  const onRequest: http.RequestListener =
    options.onRequest ??
    ((_req, res) => {
      res.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" });
      res.end("404 Not Found\n");
    });

  const httpServer = http.createServer();
  const io = new Server(httpServer, { ...socketIoOptions(env), ...options.serverOptions });
  prefixSessionIds(io, env.sessionIdPrefix);
  if (options.logConnections ?? true) logConnections(io, log);
  const redis = env.redisUrl ? connectRedisAdapter({ redisUrl: env.redisUrl, redisPassword: env.redisPassword, redisTlsCa: env.redisTlsCa, adapter: env.adapter }, log) : null;
  redis?.install(io);

  // Socket.IO answers /socket.io/ from its own "request" listener; ours answers the rest.
  const socketIoListeners = httpServer.listeners("request") as http.RequestListener[];
  httpServer.removeAllListeners("request");
  lifecycle.countRequests(httpServer);
  httpServer.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === env.healthPath) answerHealth(res, lifecycle, env.nodeId, req.method === "HEAD");
    else if (!(req.url ?? "").startsWith(SOCKET_IO_PATH)) onRequest(req, res);
    else if (lifecycle.stopping) refuseWhileStopping(res);
    else for (const l of socketIoListeners) l.call(httpServer, req, res);
  });
  keepAliveBehindProxies(httpServer);

  let metricsServer: http.Server | null = null;
  let adminUiServer: http.Server | null = null;
  const stopParts: StopParts = {
    lifecycle,
    io,
    servers: [httpServer],
    log,
    closeLast: [() => metricsServer?.close(), () => adminUiServer?.close(), () => redis?.close()],
    exit: options.exit,
  };
  return {
    io,
    httpServer,
    env,
    lifecycle,
    redis,
    listen: async () => {
      await listenOn(httpServer, env.port);
      stopOnSignals(stopParts);
      log.info("listening", { port: env.port, healthPath: env.healthPath, redis: redis ? env.adapter : "off", metricsPort: env.metricsPort });
      if (env.metricsPort !== null) {
        try {
          metricsServer = await startMetrics(io, { port: env.metricsPort, nodeId: env.nodeId, redis });
        } catch (error) {
          // The kit gives every node a METRICS_PORT; an application without prom-client still runs.
          if (!(error instanceof KitEnvError)) throw error;
          log.warn("no metrics", { error: error.message });
        }
      }
      // Asked for explicitly (off by default): a missing @socket.io/admin-ui fails the start.
      if (env.adminUi !== null) adminUiServer = await startAdminUi(io, { ...env.adminUi, nodeId: env.nodeId }, log);
    },
    stop: (reason = "stop()") => stopNode(stopParts, reason),
  };
}
