import { envNumber, envPort, envString, KitEnvError, readKitEnv, type KitEnv } from "@realtime-kit/server";

/** The kit's contract variables (readKitEnv) and the ones only the kit's own server reads. */
export interface Config extends KitEnv {
  /** Split-port option: a second listener that serves only /socket.io/ and /echo. */
  realtimePort: number | null;
  /** Host-published port the browser must use for the realtime endpoints (exposed to the page). */
  publicRealtimePort: number | null;
  historySize: number;
  appUpstream: URL | null;
  /** New connections one address may open per 10 s; null when a proxy in front limits them. */
  connectionRatePerClient: number | null;
}

type Env = Record<string, string | undefined>;

function appUpstream(env: Env): URL | null {
  const raw = envString(env, "APP_UPSTREAM");
  if (raw === undefined) return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new KitEnvError(`APP_UPSTREAM must be a URL like http://app-1:3000, got ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new KitEnvError(`APP_UPSTREAM must be http:// or https://, got ${JSON.stringify(raw)}`);
  }
  return url;
}

/** Reads the node's configuration; a value it cannot use throws a KitEnvError naming the variable. */
export function loadConfig(env: Env = process.env): Config {
  const kit = readKitEnv(env);
  const realtimePort = envPort(env, "REALTIME_PORT");
  if (realtimePort !== null && realtimePort === kit.port) {
    throw new KitEnvError(`REALTIME_PORT (${realtimePort}) must differ from PORT`);
  }
  return {
    ...kit,
    realtimePort,
    publicRealtimePort: envPort(env, "PUBLIC_REALTIME_PORT"),
    historySize: envNumber(env, "HISTORY_SIZE", 50, { min: 0, max: 10000 }),
    connectionRatePerClient: envString(env, "CONNECTION_RATE_PER_CLIENT") === undefined ? null : envNumber(env, "CONNECTION_RATE_PER_CLIENT", 0, { min: 1, integer: true }),
    appUpstream: appUpstream(env),
  };
}
