import { INTERNAL_PORTS } from "../model/layout";
import type { Model } from "../model/model";
import { appNodeNames, proxiesOf, redisUrlFor, type PoolMember } from "./names";

/**
 * Environment of the realtime server, shared by every realtime node (each node adds its own
 * NODE_ID). Rendered as `realtime.env` (docker --env-file format) and used by every driver.
 */
export function realtimeEnvironment(model: Model): Record<string, string> {
  const env: Record<string, string> = {
    PORT: String(INTERNAL_PORTS.realtime),
    HEALTH_PATH: model.realtime.healthPath,
    CORS_ORIGINS: model.cors.origins.join(","),
    PING_INTERVAL_MS: String(model.realtime.pingIntervalMs),
    PING_TIMEOUT_MS: String(model.realtime.pingTimeoutMs),
    MAX_HTTP_BUFFER_SIZE: String(model.limits.maxMessageBytes),
    // Prometheus metrics on a port of the deployment's network that nothing publishes.
    METRICS_PORT: String(INTERNAL_PORTS.realtimeMetrics),
  };
  if (model.realtime.stickiness === "cookie") env.STICKY_COOKIE = model.realtime.cookieName;
  if (model.realtime.adapter !== "memory") {
    env.REDIS_URL = redisUrlFor(model, null);
    env.ADAPTER = model.realtime.adapter;
  }
  if (model.realtime.connectionStateRecovery) env.CONNECTION_STATE_RECOVERY = "1";
  // Every node is instrumented, so that the UI connected to one sees all of them through the adapter;
  // the password's hash is a secret added at deploy time (plan/secrets.ts).
  if (model.adminUi) {
    env.ADMIN_UI_PORT = String(INTERNAL_PORTS.adminUi);
    env.ADMIN_UI_USERNAME = model.adminUi.username;
    env.ADMIN_UI_READONLY = model.adminUi.readonly ? "1" : "0";
  }
  // With no HAProxy in front the node itself bounds each address's connection rate.
  if (!proxiesOf(model).haproxy) env.CONNECTION_RATE_PER_CLIENT = String(model.limits.connectionRatePerClient);
  if (model.front === "node" && model.app) env.APP_UPSTREAM = `http://${appNodeNames(model)[0]}:${model.app.port}`;
  if (model.ports.realtime !== null) {
    // Behind HAProxy the proxy owns the split; a node in front splits its own ports.
    if (model.front !== "haproxy") env.REALTIME_PORT = String(INTERNAL_PORTS.realtimeSplit);
    env.PUBLIC_REALTIME_PORT = String(model.ports.realtime);
  }
  return env;
}

/**
 * Environment of one realtime node: the shared one plus its NODE_ID. A node on another host than
 * the edge reaches Redis at the address the edge host publishes it on instead of by name.
 */
export function realtimeNodeEnvironment(model: Model, node: PoolMember, shared = realtimeEnvironment(model)): Record<string, string> {
  const env: Record<string, string> = { ...shared, NODE_ID: node.name };
  // Session stickiness: the node's Engine.IO ids begin with its name, which HAProxy routes on.
  if (model.realtime.stickiness === "session") env.SESSION_ID_PREFIX = node.name;
  if (env.REDIS_URL !== undefined) env.REDIS_URL = redisUrlFor(model, node);
  return env;
}
