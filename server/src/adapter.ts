import type { KitEnv } from "./env";
import type { Logger } from "./log";
import type { RedisAdapterLink } from "./redis";

/**
 * How to reach Redis, as readKitEnv reads it: every field is required, so that a caller passing
 * its own values cannot leave the password or the TLS CA out by omission (pass null for none).
 */
export type RedisSettings = Pick<KitEnv, "redisPassword" | "redisTlsCa" | "adapter"> & { redisUrl: string };

/**
 * The Socket.IO adapter at `redisUrl` (REDIS_URL, with REDIS_PASSWORD, and REDIS_TLS_CA for a
 * rediss:// URL), of the kind ADAPTER names;
 * then `link.install(io)`.
 * redis and the adapter packages are loaded here, on first use: they are optional peer
 * dependencies, and a node without Redis carries neither their code nor their memory.
 */
export function connectRedisAdapter(options: RedisSettings, log: Logger): RedisAdapterLink {
  const { RedisAdapterLink: Link } = require("./redis") as typeof import("./redis");
  return new Link(options.redisUrl, options.adapter, log, options.redisPassword, options.redisTlsCa);
}
