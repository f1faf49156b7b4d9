import crypto from "node:crypto";
import bcrypt from "bcryptjs";
import { hasRedis, needsAdminUiHash, redisTlsAddresses, type DeploymentSecrets } from "../plan/secrets";
import type { ServiceSpec } from "../plan/services";
import { createTestCertificates } from "./certs";

/** A Redis certificate from `up` lasts as long as a deployment of the local driver is expected to: a year. */
const REDIS_TLS_VALID_DAYS = 365;
/** bcrypt's cost for the admin UI's password: checked once per login, not per event. */
const BCRYPT_COST = 10;

/**
 * New secrets for the deployment of `services` (what `up` and verify-image use): a random Redis
 * password where it runs a Redis, a CA of its own with Redis's certificate where realtime nodes
 * reach Redis across machines, and the admin UI's password where the nodes serve it.
 */
export async function newDeploymentSecrets(services: readonly ServiceSpec[]): Promise<DeploymentSecrets> {
  const redisPassword = hasRedis(services) ? newRedisPassword() : null;
  const adminUi = services.some(needsAdminUiHash) ? newAdminUiPassword() : null;
  const addresses = redisTlsAddresses(services);
  if (addresses === null) return { redisPassword, redisTls: null, adminUi };
  const certificates = await createTestCertificates(["redis", ...addresses], REDIS_TLS_VALID_DAYS, "realtime-kit Redis CA");
  return { redisPassword, redisTls: { caCert: certificates.caCert, cert: certificates.cert, key: certificates.key }, adminUi };
}

/** A random Redis password: URL-safe characters, which start-redis.sh accepts. */
export function newRedisPassword(): string {
  return crypto.randomBytes(24).toString("base64url");
}

function newAdminUiPassword(): { password: string; passwordHash: string } {
  const password = crypto.randomBytes(18).toString("base64url");
  return { password, passwordHash: bcrypt.hashSync(password, BCRYPT_COST) };
}
