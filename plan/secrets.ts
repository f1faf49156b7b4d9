import crypto from "node:crypto";
import type { ServiceSpec } from "./services";

/**
 * Secrets the plan names but never holds: they are made per deployment by the driver (a random
 * password from `up`, a RandomPassword kept secret in the Pulumi state) and added to the
 * containers' environment at deploy time, so no generated file, golden file or log carries them.
 */
export interface DeploymentSecrets {
  /** The password the deployment's Redis requires; null where there is no Redis. */
  redisPassword: string | null;
}

/** New secrets for a deployment that runs a Redis (`withRedis`) or not: what the local driver and verify-image use. */
export function newDeploymentSecrets(withRedis: boolean): DeploymentSecrets {
  return { redisPassword: withRedis ? crypto.randomBytes(24).toString("base64url") : null };
}

/** The variable that carries the Redis password to Redis and to the adapters of the realtime nodes. */
export const REDIS_PASSWORD_VARIABLE = "REDIS_PASSWORD";

/** Whether the service needs the Redis password: Redis itself, and every node given REDIS_URL. */
export function needsRedisPassword(spec: ServiceSpec): boolean {
  return spec.role === "redis" || spec.env.REDIS_URL !== undefined;
}

/** Whether the deployment runs a Redis, and so needs a password made for it. */
export function hasRedis(services: readonly ServiceSpec[]): boolean {
  return services.some((spec) => spec.role === "redis");
}

/** The secret variables a service gets on top of its planned environment. */
export function secretEnvOf(spec: ServiceSpec, secrets: DeploymentSecrets): Record<string, string> {
  return needsRedisPassword(spec) && secrets.redisPassword !== null ? { [REDIS_PASSWORD_VARIABLE]: secrets.redisPassword } : {};
}
