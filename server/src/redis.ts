import { createClient } from "redis";
import type { Server } from "socket.io";
import type { AdapterKind } from "./env";
import { errorMessage, type Logger } from "./log";
import { requireOptionalPeer } from "./optional";

type PubSubAdapterModule = typeof import("@socket.io/redis-adapter");
type StreamsAdapterModule = typeof import("@socket.io/redis-streams-adapter");
export type RedisClient = ReturnType<typeof createClient>;
export type RedisState = "ready" | "down";
type AdapterFactory = ReturnType<PubSubAdapterModule["createAdapter"]> | ReturnType<StreamsAdapterModule["createAdapter"]>;

const ADAPTER_PACKAGES: Record<AdapterKind, string> = {
  redis: "@socket.io/redis-adapter",
  "redis-streams": "@socket.io/redis-streams-adapter",
};

/** The adapter package ADAPTER names; only that one need be installed. */
function adapterPackage<T>(kind: AdapterKind): T {
  const name = ADAPTER_PACKAGES[kind];
  return requireOptionalPeer(() => require(name) as T, `ADAPTER=${kind}`, name);
}

/** Capped exponential backoff: 50 ms, 100 ms, 200 ms, ... never more than ~1 s between attempts. */
export function reconnectDelay(retries: number): number {
  return Math.min(50 * 2 ** Math.min(retries, 10), 1000);
}

/** `p`, or a rejection after `ms`: a Redis command must not hold a client's event for long. */
export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`redis command timed out after ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

type PubSubOp = (...args: unknown[]) => Promise<unknown>;

/**
 * What @socket.io/redis-adapter uses of its subscriber client (pSubscribe, subscribe, their
 * unsubscribes, on/off), with every (un)subscribe held back until the client is ready.
 *
 * node-redis 5 mis-sequences (P)SUBSCRIBE commands queued before the very first connection
 * (replies get mixed with the handshake; the pattern subscription is lost and the client emits
 * "Cannot read properties of undefined"), which would leave a node that started while Redis was
 * down deaf to other nodes for good. Subscriptions made while connected are restored by
 * node-redis itself on every reconnect.
 */
class ReadySubscriber {
  constructor(
    private readonly client: RedisClient,
    private readonly closing: () => boolean,
    private readonly log: Logger,
  ) {}

  private whenReady(): Promise<void> {
    if (this.client.isReady) return Promise.resolve();
    return new Promise((resolve) => this.client.once("ready", () => resolve()));
  }

  private run(name: "pSubscribe" | "subscribe" | "pUnsubscribe" | "unsubscribe", args: unknown[]): Promise<void> {
    const op = (this.client[name] as unknown as PubSubOp).bind(this.client);
    return (async () => {
      for (let attempt = 1; ; attempt++) {
        await this.whenReady();
        if (this.closing()) return;
        try {
          await op(...args);
          return;
        } catch (err) {
          // The connection dropped mid-command: try again once it is back (bounded).
          if (this.closing() || attempt >= 20) {
            if (!this.closing()) this.log.error(`redis ${name} failed`, { error: errorMessage(err) });
            return;
          }
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    })();
  }

  pSubscribe(...args: unknown[]): Promise<void> {
    return this.run("pSubscribe", args);
  }
  subscribe(...args: unknown[]): Promise<void> {
    return this.run("subscribe", args);
  }
  pUnsubscribe(...args: unknown[]): Promise<void> {
    return this.run("pUnsubscribe", args);
  }
  unsubscribe(...args: unknown[]): Promise<void> {
    return this.run("unsubscribe", args);
  }
  on(event: string, listener: (...a: unknown[]) => void): this {
    this.client.on(event, listener);
    return this;
  }
  off(event: string, listener: (...a: unknown[]) => void): this {
    this.client.off(event, listener);
    return this;
  }
}

/**
 * The Socket.IO adapter at REDIS_URL and the clients behind it, with one "ready"/"down" state
 * logged once per change. Nothing here throws because Redis is unreachable: node-redis keeps
 * reconnecting (capped backoff) and the node serves its own clients meanwhile; a node may start
 * before Redis does.
 */
export class RedisAdapterLink {
  private readonly clients: RedisClient[] = [];
  private current: RedisState = "down";
  private announced = false;
  private lastError = "";
  private closing = false;
  /** Pass to `new Server({ adapter })` or `io.adapter(...)`; `install(io)` does the latter. */
  readonly adapter: AdapterFactory;
  /** The main client, for the application's own commands (see `command`). */
  readonly client: RedisClient;

  constructor(
    url: string,
    kind: AdapterKind,
    private readonly log: Logger,
    password: string | null = null,
    tlsCa: string | null = null,
  ) {
    // The adapter package first: a missing one is refused before any connection is opened.
    const pubSub = kind === "redis" ? adapterPackage<PubSubAdapterModule>(kind) : null;
    const streams = kind === "redis-streams" ? adapterPackage<StreamsAdapterModule>(kind) : null;
    // rediss:// is TLS with the server's certificate verified: against tlsCa (the deployment's own
    // CA, REDIS_TLS_CA) when given, otherwise against Node's default CAs. Never unverified.
    const tls = url.startsWith("rediss:") ? { tls: true as const, ...(tlsCa ? { ca: tlsCa } : {}) } : {};
    this.client = createClient({ url, ...(password ? { password } : {}), socket: { connectTimeout: 2000, reconnectStrategy: reconnectDelay, ...tls } });
    this.track(this.client);
    // connect() must be called before the adapter subscribes; it resolves once Redis answers,
    // however long that takes (the reconnect strategy never gives up).
    this.connect(this.client);
    if (pubSub) {
      const sub = this.client.duplicate();
      this.track(sub);
      this.connect(sub);
      this.adapter = pubSub.createAdapter(this.client, new ReadySubscriber(sub, () => this.closing, log));
    } else {
      // The streams adapter duplicates the client itself for its blocking XREAD loop.
      this.adapter = streams!.createAdapter(this.client);
    }
  }

  get state(): RedisState {
    return this.current;
  }

  get ready(): boolean {
    return this.current === "ready";
  }

  /**
   * Uses the adapter on `io`. With connection state recovery, sessions are restored through Redis
   * only while it answers: the streams adapter would otherwise hold every reconnecting client
   * until Redis returns (the base adapter's "no session" is what they get instead).
   */
  install(io: Server): void {
    io.adapter(this.adapter);
    const adapter = io.of("/").adapter;
    const restore = adapter.restoreSession.bind(adapter);
    // The base adapter resolves null for "no session" too; the typing just does not say so.
    adapter.restoreSession = (pid, offset) =>
      this.ready ? restore(pid, offset) : (Promise.resolve(null) as unknown as ReturnType<typeof restore>);
  }

  /** Runs an application command on the main client while Redis is ready, bounded by `timeoutMs`; null when it cannot answer now. */
  async command<T>(run: (client: RedisClient) => Promise<T>, timeoutMs = 1000): Promise<T | null> {
    if (!this.ready) return null;
    try {
      return await withTimeout(run(this.client), timeoutMs);
    } catch {
      return null; // a state change, if any, is logged by update()
    }
  }

  private connect(c: RedisClient): void {
    c.connect().catch((err: unknown) => {
      if (!this.closing) this.log.error("redis connect gave up", { error: errorMessage(err) });
    });
  }

  private track(c: RedisClient): void {
    this.clients.push(c);
    const update = () => this.update();
    // An "error" listener is mandatory: without it node-redis errors would crash the process.
    c.on("error", (err: unknown) => {
      this.lastError = errorMessage(err);
      update();
    });
    c.on("ready", update);
    c.on("end", update);
    c.on("reconnecting", update);
  }

  private update(): void {
    if (this.closing) return;
    const next: RedisState = this.clients.every((c) => c.isReady) ? "ready" : "down";
    if (next === this.current && this.announced) return;
    this.announced = true;
    this.current = next;
    if (next === "ready") this.log.info("redis ready");
    else this.log.warn("redis down; serving local clients only until it returns", { error: this.lastError });
  }

  /** Closes every client within about a second, whatever state Redis is in. */
  async close(): Promise<void> {
    this.closing = true;
    await withTimeout(
      Promise.allSettled(this.clients.map((c) => (c.isReady ? c.close() : Promise.resolve(c.destroy())))),
      1000,
    ).catch(() => undefined);
    for (const c of this.clients) {
      try {
        if (c.isOpen) c.destroy();
      } catch {
        // already gone
      }
    }
  }
}
