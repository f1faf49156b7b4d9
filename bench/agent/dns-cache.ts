import dns from "node:dns";

/**
 * Caches name lookups for the agent's lifetime. Every new connection to `realtime-1` would
 * otherwise ask Docker's embedded DNS server (served by dockerd) through libuv's 4 threadpool
 * threads; on a busy engine that caps the agent at a few dozen connections per second and the
 * bench would measure dockerd, not the deployment. Addresses do not change while a run lasts.
 */
export function cacheLookups(): void {
  const original = dns.lookup;
  const cache = new Map<string, unknown[]>();
  const cached = function (hostname: string, options: unknown, callback?: unknown): void {
    const cb = (typeof options === "function" ? options : callback) as (...args: unknown[]) => void;
    const opts = typeof options === "function" || options === undefined ? {} : options;
    const key = `${hostname} ${JSON.stringify(opts)}`;
    const hit = cache.get(key);
    if (hit) {
      process.nextTick(() => cb(null, ...hit));
      return;
    }
    (original as (...args: unknown[]) => void)(hostname, opts, (error: Error | null, ...rest: unknown[]) => {
      if (!error) cache.set(key, rest);
      cb(error, ...rest);
    });
  };
  (dns as { lookup: unknown }).lookup = cached;
}
