import { join } from "node:path";
import { connectRedisAdapter, KitEnvError, logConnections, NodeLifecycle, originCheck, startAdminUi, startMetrics } from "@realtime-kit/server";
import { attachChat } from "./chat";
import { loadConfig, type Config } from "./config";
import { EchoServer } from "./echo";
import { errMessage, log, setLogNode } from "./log";
import { UpstreamProxy } from "./proxy";
import { routeRequests } from "./routes";
import { configureServers, createServers, limitConnections, listen } from "./servers";
import { handleShutdownSignals, ignoreUnhandledRejections } from "./shutdown";
import { createSocketIo } from "./socket-io";
import { loadPublic } from "./static";
import { Stats } from "./stats";
import { routeUpgrades } from "./upgrades";

/** Builds the node's parts from its configuration and starts listening. */
function run(config: Config): void {
  const nodeId = config.nodeId;
  const originAllowed = originCheck(config.corsOrigins);
  const publicFiles = loadPublic(join(__dirname, "..", "public"));
  // The Redis client and adapters are loaded only when a Redis URL is set: a node without Redis
  // would carry several MB of their code and state for nothing.
  const redis = config.redisUrl ? connectRedisAdapter({ redisUrl: config.redisUrl, redisPassword: config.redisPassword, redisTlsCa: config.redisTlsCa, adapter: config.adapter }, log) : null;
  const proxy = config.appUpstream ? new UpstreamProxy(config.appUpstream, config.nodeId, config.maxHttpBufferSize) : null;
  const echo = new EchoServer(nodeId, config.maxHttpBufferSize);
  const lifecycle = new NodeLifecycle();

  const servers = createServers(config);
  const sio = createSocketIo(config, servers.realtime, redis);
  limitConnections(servers, config);
  attachChat(sio.io, nodeId, config.historySize, redis);
  logConnections(sio.io, log);

  const stats = new Stats(nodeId, sio.io, proxy, redis, lifecycle);
  routeRequests(servers, { config, lifecycle, sio, proxy, publicFiles, stats });
  routeUpgrades(servers, { nodeId, healthPath: config.healthPath, lifecycle, sio, echo, proxy, originAllowed });
  configureServers(servers, config, lifecycle);

  const started = async (): Promise<void> => {
    await listen(servers, config);
    // prom-client is loaded only when METRICS_PORT is given.
    if (config.metricsPort !== null) await startMetrics(sio.io, { port: config.metricsPort, nodeId, redis });
    // Off unless the deployment asks for it (adminUi.enabled): its own port, loopback-published only.
    if (config.adminUi !== null) await startAdminUi(sio.io, { ...config.adminUi, nodeId }, log);
  };
  started().then(
    () =>
      log.info("realtime server started", {
        node: nodeId,
        port: config.port,
        realtimePort: config.realtimePort,
        metricsPort: config.metricsPort,
        adminUiPort: config.adminUi?.port ?? null,
        publicRealtimePort: config.publicRealtimePort,
        redis: redis ? config.adapter : "off",
        connectionStateRecovery: config.connectionStateRecovery,
        corsOrigins: config.corsOrigins.length > 0 ? config.corsOrigins : "same-origin",
        stickyCookie: config.stickyCookie,
        appUpstream: config.appUpstream ? config.appUpstream.origin : null,
        node_version: process.version,
      }),
    (err: unknown) => {
      log.error("cannot listen", { error: errMessage(err) });
      process.exit(1);
    },
  );

  handleShutdownSignals({ lifecycle, servers, io: sio.io, echo, proxy, redis });
  ignoreUnhandledRejections(lifecycle);
}

function main(): void {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof KitEnvError) {
      log.error("invalid configuration", { error: err.message });
      process.exit(2);
    }
    throw err;
  }
  setLogNode(config.nodeId);
  run(config);
}

main();
