import { hostname } from "node:os";

/** The variables realtime-kit gives every realtime node (README: "Your own images"), parsed. */
export interface KitEnv {
  /** PORT: where HAProxy, nginx or the client connects. */
  port: number;
  /** HEALTH_PATH: the route the load balancer checks (its path; a query in it is ignored). */
  healthPath: string;
  /** NODE_ID: this node's name in the deployment (the container's host name when unset). */
  nodeId: string;
  /** CORS_ORIGINS: allowed browser origins, normalised (lower case, no trailing slash). Empty: same-origin only. */
  corsOrigins: string[];
  /** PING_INTERVAL_MS / PING_TIMEOUT_MS: the heartbeat, shorter than every proxy's idle timeout. */
  pingIntervalMs: number;
  pingTimeoutMs: number;
  /** MAX_HTTP_BUFFER_SIZE: the largest message or poll body, which the proxies in front also enforce. */
  maxHttpBufferSize: number;
  /** STICKY_COOKIE: the cookie HAProxy's cookie stickiness routes on; null when it is not used. */
  stickyCookie: string | null;
  /** SESSION_ID_PREFIX: every Engine.IO session id starts with `<prefix>.`; HAProxy routes on it. */
  sessionIdPrefix: string | null;
  /** REDIS_URL: the adapter's Redis (multi-node); null when the node is alone. */
  redisUrl: string | null;
  /** REDIS_PASSWORD: the password the kit's Redis requires (kept out of REDIS_URL, so that logging the URL shows no secret). */
  redisPassword: string | null;
  /** REDIS_TLS_CA: the CA (PEM) a rediss:// REDIS_URL's certificate must chain to; null trusts Node's default CAs. */
  redisTlsCa: string | null;
  /** ADAPTER: which Socket.IO adapter the deployment chose. */
  adapter: AdapterKind;
  /** CONNECTION_STATE_RECOVERY: clients that reconnect within 2 minutes get their missed events. */
  connectionStateRecovery: boolean;
  /** METRICS_PORT: where Prometheus scrapes GET /metrics, a port nothing publishes; null for none. */
  metricsPort: number | null;
  /** ADMIN_UI_PORT (with ADMIN_UI_USERNAME, ADMIN_UI_PASSWORD_HASH, ADMIN_UI_READONLY): @socket.io/admin-ui on its own listener; null for none. */
  adminUi: { port: number; username: string; passwordHash: string; readonly: boolean } | null;
}

export type AdapterKind = "redis" | "redis-streams";

/** The health route when HEALTH_PATH is not given (the kit always gives it). */
export const DEFAULT_HEALTH_PATH = "/healthz";

/** A variable the kit passes has a value the server cannot use; the message names it and says what is expected. */
export class KitEnvError extends Error {
  override name = "KitEnvError";
}

export type Env = Record<string, string | undefined>;

/** The variable's value, trimmed; undefined when unset or blank. */
export function envString(env: Env, name: string): string | undefined {
  const v = env[name];
  if (v === undefined) return undefined;
  const t = v.trim();
  return t === "" ? undefined : t;
}

export function envNumber(env: Env, name: string, def: number, opts: { min?: number; max?: number; integer?: boolean } = {}): number {
  const raw = envString(env, name);
  if (raw === undefined) return def;
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new KitEnvError(`${name} must be a number, got ${JSON.stringify(raw)}`);
  if (opts.integer !== false && !Number.isInteger(n)) throw new KitEnvError(`${name} must be an integer, got ${raw}`);
  if (opts.min !== undefined && n < opts.min) throw new KitEnvError(`${name} must be >= ${opts.min}, got ${raw}`);
  if (opts.max !== undefined && n > opts.max) throw new KitEnvError(`${name} must be <= ${opts.max}, got ${raw}`);
  return n;
}

/** A TCP port, or null when the variable is unset. */
export function envPort(env: Env, name: string): number | null {
  return envString(env, name) === undefined ? null : envNumber(env, name, 0, { min: 1, max: 65535 });
}

export function envFlag(env: Env, name: string): boolean {
  const raw = envString(env, name);
  if (raw === undefined) return false;
  const v = raw.toLowerCase();
  if (["1", "true", "yes", "on"].includes(v)) return true;
  if (["0", "false", "no", "off"].includes(v)) return false;
  throw new KitEnvError(`${name} must be 1/0 (or true/false), got ${JSON.stringify(raw)}`);
}

/** Lower-cases and strips trailing slashes so "https://Example.com/" matches "https://example.com". */
export function normaliseOrigin(origin: string): string {
  return origin.trim().replace(/\/+$/, "").toLowerCase();
}

function corsOrigins(env: Env): string[] {
  const out: string[] = [];
  for (const entry of (envString(env, "CORS_ORIGINS") ?? "").split(",").map((o) => o.trim()).filter((o) => o !== "")) {
    if (entry === "*") throw new KitEnvError("CORS_ORIGINS must list origins; '*' is not allowed");
    let u: URL;
    try {
      u = new URL(entry);
    } catch {
      throw new KitEnvError(`CORS_ORIGINS entry is not an origin: ${JSON.stringify(entry)}`);
    }
    if ((u.protocol !== "http:" && u.protocol !== "https:") || u.username || u.password || u.search || u.hash || u.pathname !== "/") {
      throw new KitEnvError(`CORS_ORIGINS entry must be a bare origin like https://host[:port], got ${JSON.stringify(entry)}`);
    }
    // URL.origin drops default ports, exactly as browsers do in the Origin header.
    out.push(normaliseOrigin(u.origin));
  }
  return out;
}

/**
 * Reads the kit's variables from `env` (process.env by default) with the kit's defaults. A value
 * the server cannot use throws a KitEnvError naming the variable: fail at start, not under load.
 */
export function readKitEnv(env: Env = process.env): KitEnv {
  const adapter = (envString(env, "ADAPTER") ?? "redis").toLowerCase();
  if (adapter !== "redis" && adapter !== "redis-streams") {
    throw new KitEnvError(`ADAPTER must be "redis" or "redis-streams", got ${JSON.stringify(adapter)}`);
  }

  const redisUrl = envString(env, "REDIS_URL") ?? null;
  if (redisUrl !== null) {
    let scheme = "";
    try {
      scheme = new URL(redisUrl).protocol;
    } catch {
      // reported below
    }
    if (scheme !== "redis:" && scheme !== "rediss:") throw new KitEnvError(`REDIS_URL must be redis://host:port[/db], got ${JSON.stringify(redisUrl)}`);
  }

  const redisTlsCa = envString(env, "REDIS_TLS_CA") ?? null;
  if (redisTlsCa !== null) {
    if (!redisTlsCa.includes("-----BEGIN CERTIFICATE-----")) throw new KitEnvError("REDIS_TLS_CA must be a PEM certificate (-----BEGIN CERTIFICATE-----...), the CA that signed Redis's certificate");
    if (redisUrl === null || !redisUrl.startsWith("rediss:")) throw new KitEnvError("REDIS_TLS_CA is given but REDIS_URL is not rediss://...: TLS to Redis needs a rediss:// URL");
  }

  const stickyCookie = envString(env, "STICKY_COOKIE") ?? null;
  if (stickyCookie !== null && !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(stickyCookie)) {
    throw new KitEnvError(`STICKY_COOKIE must be a cookie name token, got ${JSON.stringify(stickyCookie)}`);
  }

  const rawHealthPath = envString(env, "HEALTH_PATH") ?? DEFAULT_HEALTH_PATH;
  const healthPath = rawHealthPath.split("?")[0];
  if (!healthPath.startsWith("/")) throw new KitEnvError(`HEALTH_PATH must be a path starting with /, got ${JSON.stringify(rawHealthPath)}`);

  const sessionIdPrefix = envString(env, "SESSION_ID_PREFIX") ?? null;
  if (sessionIdPrefix !== null && !/^[A-Za-z0-9_-]{1,64}$/.test(sessionIdPrefix)) {
    throw new KitEnvError(`SESSION_ID_PREFIX must be 1-64 letters, digits, _ or - (it goes into URLs), got ${JSON.stringify(sessionIdPrefix)}`);
  }

  return {
    port: envNumber(env, "PORT", 8080, { min: 1, max: 65535 }),
    healthPath,
    nodeId: envString(env, "NODE_ID") ?? hostname(),
    corsOrigins: corsOrigins(env),
    pingIntervalMs: envNumber(env, "PING_INTERVAL_MS", 25000, { min: 1 }),
    pingTimeoutMs: envNumber(env, "PING_TIMEOUT_MS", 20000, { min: 1 }),
    maxHttpBufferSize: envNumber(env, "MAX_HTTP_BUFFER_SIZE", 1e6, { min: 1 }),
    stickyCookie,
    sessionIdPrefix,
    redisUrl,
    redisPassword: env.REDIS_PASSWORD || null,
    redisTlsCa,
    adapter,
    connectionStateRecovery: envFlag(env, "CONNECTION_STATE_RECOVERY"),
    metricsPort: envPort(env, "METRICS_PORT"),
    adminUi: adminUiSettings(env),
  };
}

/** bcrypt hashes as bcryptjs (which @socket.io/admin-ui compares with) reads them: $2a$ or $2b$, cost, 53 characters. */
const BCRYPT_HASH = /^\$2[ab]\$\d{2}\$[./A-Za-z0-9]{53}$/;

function adminUiSettings(env: Env): KitEnv["adminUi"] {
  const port = envPort(env, "ADMIN_UI_PORT");
  if (port === null) {
    const stray = ["ADMIN_UI_USERNAME", "ADMIN_UI_PASSWORD_HASH", "ADMIN_UI_READONLY"].find((name) => envString(env, name) !== undefined);
    if (stray) throw new KitEnvError(`${stray} is given without ADMIN_UI_PORT: set ADMIN_UI_PORT to serve the admin UI, or remove ${stray}`);
    return null;
  }
  const passwordHash = envString(env, "ADMIN_UI_PASSWORD_HASH");
  if (passwordHash === undefined || !BCRYPT_HASH.test(passwordHash)) {
    throw new KitEnvError("ADMIN_UI_PASSWORD_HASH must be a bcrypt hash ($2b$...) of the admin UI's password: the UI is never served without authentication");
  }
  const username = envString(env, "ADMIN_UI_USERNAME") ?? "admin";
  return { port, username, passwordHash, readonly: envString(env, "ADMIN_UI_READONLY") === undefined ? true : envFlag(env, "ADMIN_UI_READONLY") };
}
