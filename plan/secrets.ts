import type { ServiceSpec } from "./services";

/**
 * Secrets the plan names but never holds: they are made per deployment by the driver (a random
 * password and a throwaway CA from `up`, a RandomPassword and @pulumi/tls resources kept secret in
 * the Pulumi state) and added to the containers' environment at deploy time, so no generated file,
 * golden file or log carries them.
 */
export interface DeploymentSecrets {
  /** The password the deployment's Redis requires; null where there is no Redis. */
  redisPassword: string | null;
  /** TLS of the port Redis publishes for realtime nodes on other machines; null where Redis is reached on one machine only. */
  redisTls: RedisTls | null;
  /** The admin UI's password (for the operator) and its bcrypt hash (for the nodes); null without adminUi.enabled. */
  adminUi: { password: string; passwordHash: string } | null;
}

/** Redis's certificate and key (PEM), and the CA that signed it, which the nodes that reach Redis across machines trust. */
export interface RedisTls {
  caCert: string;
  cert: string;
  key: string;
}

/** The variable that carries the Redis password to Redis and to the adapters of the realtime nodes. */
export const REDIS_PASSWORD_VARIABLE = "REDIS_PASSWORD";
/** Redis's certificate and key (PEM): Redis serves TLS on its cross-host port when they are given. */
export const REDIS_TLS_CERT_VARIABLE = "REDIS_TLS_CERT";
export const REDIS_TLS_KEY_VARIABLE = "REDIS_TLS_KEY";
/** The CA (PEM) a node reaching Redis at a rediss:// URL verifies Redis's certificate against. */
export const REDIS_TLS_CA_VARIABLE = "REDIS_TLS_CA";

/** The bcrypt hash of the admin UI's password: every realtime node given ADMIN_UI_PORT checks logins against it. */
export const ADMIN_UI_PASSWORD_HASH_VARIABLE = "ADMIN_UI_PASSWORD_HASH";

/** Whether the service runs the admin UI's listener, and so needs the password's hash. */
export function needsAdminUiHash(spec: ServiceSpec): boolean {
  return spec.env.ADMIN_UI_PORT !== undefined;
}

/** Whether the service gets any of the deployment's secrets. */
export function needsSecrets(spec: ServiceSpec): boolean {
  return needsRedisPassword(spec) || needsAdminUiHash(spec);
}

/** Whether the service needs the Redis password: Redis itself, and every node given REDIS_URL. */
export function needsRedisPassword(spec: ServiceSpec): boolean {
  return spec.role === "redis" || spec.env.REDIS_URL !== undefined;
}

/** Whether the deployment runs a Redis, and so needs a password made for it. */
export function hasRedis(services: readonly ServiceSpec[]): boolean {
  return services.some((spec) => spec.role === "redis");
}

/**
 * The addresses Redis's certificate must name: the private address the edge host publishes Redis
 * on for realtime nodes on other machines (they verify it as rediss://<address>). Null when no
 * node reaches Redis across machines: on one machine Redis is on the deployment's network only.
 */
export function redisTlsAddresses(services: readonly ServiceSpec[]): string[] | null {
  const published = services.find((spec) => spec.role === "redis")?.publish.flatMap((port) => (port.hostIp ? [port.hostIp] : [])) ?? [];
  return published.length > 0 ? published : null;
}

/** The secret variables a service gets on top of its planned environment. */
export function secretEnvOf(spec: ServiceSpec, secrets: DeploymentSecrets): Record<string, string> {
  const env: Record<string, string> = {};
  if (needsRedisPassword(spec) && secrets.redisPassword !== null) env[REDIS_PASSWORD_VARIABLE] = secrets.redisPassword;
  if (secrets.redisTls !== null) {
    if (spec.role === "redis") {
      env[REDIS_TLS_CERT_VARIABLE] = secrets.redisTls.cert;
      env[REDIS_TLS_KEY_VARIABLE] = secrets.redisTls.key;
    }
    if (spec.env.REDIS_URL?.startsWith("rediss://")) env[REDIS_TLS_CA_VARIABLE] = secrets.redisTls.caCert;
  }
  if (needsAdminUiHash(spec) && secrets.adminUi !== null) env[ADMIN_UI_PASSWORD_HASH_VARIABLE] = secrets.adminUi.passwordHash;
  return env;
}
