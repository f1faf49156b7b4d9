import crypto from "node:crypto";
import { hasRedis, redisTlsAddresses, type DeploymentSecrets } from "../plan/secrets";
import type { ServiceSpec } from "../plan/services";
import { createTestCertificates } from "./certs";

/** A Redis certificate from `up` lasts as long as a deployment of the local driver is expected to: a year. */
const REDIS_TLS_VALID_DAYS = 365;

/**
 * New secrets for the deployment of `services` (what `up` and verify-image use): a random Redis
 * password where it runs a Redis, and a CA of its own with Redis's certificate where realtime nodes
 * reach Redis across machines.
 */
export async function newDeploymentSecrets(services: readonly ServiceSpec[]): Promise<DeploymentSecrets> {
  const redisPassword = hasRedis(services) ? newRedisPassword() : null;
  const addresses = redisTlsAddresses(services);
  if (addresses === null) return { redisPassword, redisTls: null };
  const certificates = await createTestCertificates(["redis", ...addresses], REDIS_TLS_VALID_DAYS, "realtime-kit Redis CA");
  return { redisPassword, redisTls: { caCert: certificates.caCert, cert: certificates.cert, key: certificates.key } };
}

/** A random Redis password: URL-safe characters, which start-redis.sh accepts. */
export function newRedisPassword(): string {
  return crypto.randomBytes(24).toString("base64url");
}
