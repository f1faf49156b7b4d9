import { hostname } from "node:os";
import { DEFAULT_HEALTH_PATH, pathnameOf } from "./paths";

export type AdapterKind = "redis" | "redis-streams";

export interface Config {
  port: number;
  /** Split-port option: a second listener that serves only /socket.io/ and /echo. */
  realtimePort: number | null;
  /** Host-published port the browser must use for the realtime endpoints (exposed to the page). */
  publicRealtimePort: number | null;
  nodeId: string;
  /** Allowed browser origins, normalised (lower case, no trailing slash). Empty: same-origin only. */
  corsOrigins: string[];
  pingIntervalMs: number;
  pingTimeoutMs: number;
  maxHttpBufferSize: number;
  stickyCookie: string | null;
  /** HEALTH_PATH: the route the load balancer checks (its path; a query in it is ignored). */
  healthPath: string;
  /**
   * SESSION_ID_PREFIX: session stickiness without cookies or client addresses. Every Engine.IO
   * session id this node issues starts with `<prefix>.`, and the load balancer sends each request
   * carrying a `sid` to the node its prefix names.
   */
  sessionIdPrefix: string | null;
  redisUrl: string | null;
  adapter: AdapterKind;
  historySize: number;
  connectionStateRecovery: boolean;
  appUpstream: URL | null;
  /** New connections one address may open per 10 s; null when a proxy in front limits them. */
  connectionRatePerClient: number | null;
}

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

function str(env: Env, name: string): string | undefined {
  const v = env[name];
  if (v === undefined) return undefined;
  const t = v.trim();
  return t === "" ? undefined : t;
}

function num(env: Env, name: string, def: number, opts: { min?: number; max?: number; integer?: boolean } = {}): number {
  const raw = str(env, name);
  if (raw === undefined) return def;
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new ConfigError(`${name} must be a number, got ${JSON.stringify(raw)}`);
  if (opts.integer !== false && !Number.isInteger(n)) throw new ConfigError(`${name} must be an integer, got ${raw}`);
  if (opts.min !== undefined && n < opts.min) throw new ConfigError(`${name} must be >= ${opts.min}, got ${raw}`);
  if (opts.max !== undefined && n > opts.max) throw new ConfigError(`${name} must be <= ${opts.max}, got ${raw}`);
  return n;
}

function optPort(env: Env, name: string): number | null {
  return str(env, name) === undefined ? null : num(env, name, 0, { min: 1, max: 65535 });
}

function bool(env: Env, name: string): boolean {
  const raw = str(env, name);
  if (raw === undefined) return false;
  const v = raw.toLowerCase();
  if (["1", "true", "yes", "on"].includes(v)) return true;
  if (["0", "false", "no", "off"].includes(v)) return false;
  throw new ConfigError(`${name} must be 1/0 (or true/false), got ${JSON.stringify(raw)}`);
}

/** Lower-cases and strips trailing slashes so "https://Example.com/" matches "https://example.com". */
export function normaliseOrigin(origin: string): string {
  return origin.trim().replace(/\/+$/, "").toLowerCase();
}

export function loadConfig(env: Env = process.env): Config {
  const port = num(env, "PORT", 8080, { min: 1, max: 65535 });
  const realtimePort = optPort(env, "REALTIME_PORT");
  if (realtimePort !== null && realtimePort === port) {
    throw new ConfigError(`REALTIME_PORT (${realtimePort}) must differ from PORT`);
  }

  const corsOrigins: string[] = [];
  for (const entry of (str(env, "CORS_ORIGINS") ?? "").split(",").map((o) => o.trim()).filter((o) => o !== "")) {
    if (entry === "*") throw new ConfigError("CORS_ORIGINS must list origins; '*' is not allowed");
    let u: URL;
    try {
      u = new URL(entry);
    } catch {
      throw new ConfigError(`CORS_ORIGINS entry is not an origin: ${JSON.stringify(entry)}`);
    }
    if ((u.protocol !== "http:" && u.protocol !== "https:") || u.username || u.password || u.search || u.hash || u.pathname !== "/") {
      throw new ConfigError(`CORS_ORIGINS entry must be a bare origin like https://host[:port], got ${JSON.stringify(entry)}`);
    }
    // URL.origin drops default ports, exactly as browsers do in the Origin header.
    corsOrigins.push(normaliseOrigin(u.origin));
  }

  const adapterRaw = (str(env, "ADAPTER") ?? "redis").toLowerCase();
  if (adapterRaw !== "redis" && adapterRaw !== "redis-streams") {
    throw new ConfigError(`ADAPTER must be "redis" or "redis-streams", got ${JSON.stringify(adapterRaw)}`);
  }

  const redisUrl = str(env, "REDIS_URL") ?? null;
  if (redisUrl !== null) {
    try {
      const u = new URL(redisUrl);
      if (u.protocol !== "redis:" && u.protocol !== "rediss:") throw new Error("bad scheme");
    } catch {
      throw new ConfigError(`REDIS_URL must be redis://host:port[/db], got ${JSON.stringify(redisUrl)}`);
    }
  }

  let appUpstream: URL | null = null;
  const upstreamRaw = str(env, "APP_UPSTREAM");
  if (upstreamRaw !== undefined) {
    try {
      appUpstream = new URL(upstreamRaw);
    } catch {
      throw new ConfigError(`APP_UPSTREAM must be a URL like http://app-1:3000, got ${JSON.stringify(upstreamRaw)}`);
    }
    if (appUpstream.protocol !== "http:" && appUpstream.protocol !== "https:") {
      throw new ConfigError(`APP_UPSTREAM must be http:// or https://, got ${JSON.stringify(upstreamRaw)}`);
    }
  }

  const stickyCookie = str(env, "STICKY_COOKIE") ?? null;
  if (stickyCookie !== null && !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(stickyCookie)) {
    throw new ConfigError(`STICKY_COOKIE must be a cookie name token, got ${JSON.stringify(stickyCookie)}`);
  }

  const healthPath = pathnameOf(str(env, "HEALTH_PATH") ?? DEFAULT_HEALTH_PATH);
  if (!healthPath.startsWith("/")) throw new ConfigError(`HEALTH_PATH must be a path starting with /, got ${JSON.stringify(healthPath)}`);

  const sessionIdPrefix = str(env, "SESSION_ID_PREFIX") ?? null;
  if (sessionIdPrefix !== null && !/^[A-Za-z0-9_-]{1,64}$/.test(sessionIdPrefix)) {
    throw new ConfigError(`SESSION_ID_PREFIX must be 1-64 letters, digits, _ or - (it goes into URLs), got ${JSON.stringify(sessionIdPrefix)}`);
  }

  return {
    port,
    realtimePort,
    publicRealtimePort: optPort(env, "PUBLIC_REALTIME_PORT"),
    nodeId: str(env, "NODE_ID") ?? hostname(),
    corsOrigins,
    pingIntervalMs: num(env, "PING_INTERVAL_MS", 25000, { min: 1 }),
    pingTimeoutMs: num(env, "PING_TIMEOUT_MS", 20000, { min: 1 }),
    maxHttpBufferSize: num(env, "MAX_HTTP_BUFFER_SIZE", 1e6, { min: 1 }),
    stickyCookie,
    healthPath,
    sessionIdPrefix,
    redisUrl,
    adapter: adapterRaw,
    historySize: num(env, "HISTORY_SIZE", 50, { min: 0, max: 10000 }),
    connectionRatePerClient: str(env, "CONNECTION_RATE_PER_CLIENT") === undefined ? null : num(env, "CONNECTION_RATE_PER_CLIENT", 0, { min: 1, integer: true }),
    connectionStateRecovery: bool(env, "CONNECTION_STATE_RECOVERY"),
    appUpstream,
  };
}
