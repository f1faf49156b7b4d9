/**
 * @realtime-kit/server: what a Socket.IO server needs to run behind realtime-kit's proxies
 * (the contract in realtime-kit's README, "Your own images"). `createKitServer` does all of it in
 * one call; the pieces below are for servers that build their own HTTP listeners, as the kit's
 * own realtime image does.
 */
export { createKitServer, type KitServer, type KitServerOptions } from "./kit-server";
export {
  DEFAULT_HEALTH_PATH,
  envFlag,
  envNumber,
  envPort,
  envString,
  KitEnvError,
  normaliseOrigin,
  readKitEnv,
  type AdapterKind,
  type Env,
  type KitEnv,
} from "./env";
export { answerHealth, keepAliveBehindProxies, listenOn, NodeLifecycle, refuseWhileStopping, STOP_BOUND_MS, stopNode, stopOnSignals, type StopParts } from "./lifecycle";
export { errorMessage, jsonLogger, type Logger } from "./log";
export { logConnections } from "./connection-log";
export { originCheck, prefixSessionIds, SOCKET_IO_PATH, socketIoOptions } from "./options";
export { connectRedisAdapter, type RedisSettings } from "./adapter";
export { ADMIN_NAMESPACE, startAdminUi, type AdminUiOptions } from "./admin-ui";
export { startMetrics } from "./metrics-port";
export type { RedisAdapterLink, RedisClient, RedisState } from "./redis";

