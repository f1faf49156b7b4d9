import { createClient } from "redis";
import { createAdapter as createPubSubAdapter } from "@socket.io/redis-adapter";
import { createAdapter as createStreamsAdapter } from "@socket.io/redis-streams-adapter";
import type { AdapterKind } from "./config";
import { errMessage, log } from "./log";

type Client = ReturnType<typeof createClient>;
export type RedisState = "off" | "ready" | "down";
type AdapterFactory = ReturnType<typeof createPubSubAdapter> | ReturnType<typeof createStreamsAdapter>;

/** Capped exponential backoff: 50 ms, 100 ms, 200 ms, ... never more than ~1 s between attempts. */
export function reconnectDelay(retries: number): number {
  return Math.min(50 * 2 ** Math.min(retries, 10), 1000);
}

function timeout<T>(p: Promise<T>, ms: number): Promise<T> {
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
    private readonly client: Client,
    private readonly closing: () => boolean,
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
            if (!this.closing()) log.error(`redis ${name} failed`, { error: errMessage(err) });
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
 * The Redis side of a node: the adapter clients, the shared chat history and a single
 * "ready"/"down" state that is logged once per change. Nothing in here may throw into the
 * caller because Redis is unreachable: node-redis keeps reconnecting (capped backoff) and the
 * callers fall back to node-local behaviour while the state is "down".
 */
export class RedisLink {
  private readonly clients: Client[] = [];
  private readonly main: Client;
  private current: RedisState = "down";
  private announced = false;
  private lastError = "";
  private closing = false;
  readonly adapter: AdapterFactory;

  constructor(
    url: string,
    kind: AdapterKind,
    private readonly historyKey: string,
    private readonly historySize: number,
  ) {
    this.main = createClient({
      url,
      socket: { connectTimeout: 2000, reconnectStrategy: reconnectDelay },
    });
    this.track(this.main, "main");
    // connect() must be called before the adapter subscribes; it resolves once Redis answers,
    // however long that takes (the reconnect strategy never gives up).
    this.connect(this.main);
    if (kind === "redis") {
      const sub = this.main.duplicate();
      this.track(sub, "sub");
      this.connect(sub);
      this.adapter = createPubSubAdapter(this.main, new ReadySubscriber(sub, () => this.closing));
    } else {
      // The streams adapter duplicates the client itself for its blocking XREAD loop.
      this.adapter = createStreamsAdapter(this.main);
    }
  }

  get state(): RedisState {
    return this.current;
  }

  get ready(): boolean {
    return this.current === "ready";
  }

  private connect(c: Client): void {
    c.connect().catch((err: unknown) => {
      if (!this.closing) log.error("redis connect gave up", { error: errMessage(err) });
    });
  }

  private track(c: Client, _role: string): void {
    this.clients.push(c);
    const update = () => this.update();
    // An "error" listener is mandatory: without it node-redis errors would crash the process.
    c.on("error", (err: unknown) => {
      this.lastError = errMessage(err);
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
    if (next === "ready") log.info("redis ready");
    else log.warn("redis down; serving local clients only until it returns", { error: this.lastError });
  }

  /** Appends to the shared history; a no-op (the caller keeps its local copy) while Redis is down. */
  async push(entry: unknown): Promise<void> {
    if (!this.ready || this.historySize === 0) return;
    try {
      await timeout(
        this.main
          .multi()
          .rPush(this.historyKey, JSON.stringify(entry))
          .lTrim(this.historyKey, -this.historySize, -1)
          .exec(),
        1000,
      );
    } catch {
      // state change (if any) is logged by update(); nothing else to do
    }
  }

  /** The shared history (oldest first), or null when Redis cannot answer right now. */
  async history(): Promise<unknown[] | null> {
    if (!this.ready) return null;
    if (this.historySize === 0) return [];
    try {
      const raw = await timeout(this.main.lRange(this.historyKey, -this.historySize, -1), 1000);
      const out: unknown[] = [];
      for (const r of raw) {
        try {
          out.push(JSON.parse(r));
        } catch {
          // skip foreign entries
        }
      }
      return out;
    } catch {
      return null;
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    await timeout(
      Promise.allSettled(
        this.clients.map((c) => (c.isReady ? c.close() : Promise.resolve(c.destroy()))),
      ),
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
