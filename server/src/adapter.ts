import type { AdapterKind } from "./env";
import type { Logger } from "./log";
import type { RedisAdapterLink } from "./redis";

/**
 * The Socket.IO adapter at `redisUrl` (REDIS_URL, with REDIS_PASSWORD), of the kind ADAPTER names;
 * then `link.install(io)`.
 * redis and the adapter packages are loaded here, on first use: they are optional peer
 * dependencies, and a node without Redis carries neither their code nor their memory.
 */
export function connectRedisAdapter(options: { redisUrl: string; redisPassword?: string | null; adapter: AdapterKind }, log: Logger): RedisAdapterLink {
  const { RedisAdapterLink: Link } = require("./redis") as typeof import("./redis");
  return new Link(options.redisUrl, options.adapter, log, options.redisPassword ?? null);
}
