import { hostname } from "node:os";
import { randomUUID } from "node:crypto";
import type { RedisAdapterLink } from "@realtime-kit/server";
import type { Server, Socket } from "socket.io";
import { errMessage, log } from "./log";

/** The Redis list that holds the chat history shared by all nodes. */
const HISTORY_KEY = "realtime-kit:chat:history";
const MAX_CHAT_LENGTH = 2000;

interface ChatMessage {
  id: string;
  text: string;
  node: string;
  /** Milliseconds since the epoch, set by the node that accepted the message. */
  at: number;
}

type Ack = (response: unknown) => void;

/**
 * The chat history sent to each new connection: Redis's shared list when Redis answers, else
 * this node's own copy (the last list read from Redis plus the messages it accepted since).
 * While Redis is down, nothing waits on it: its commands are skipped or bounded to 1 s.
 */
export class ChatHistory {
  private local: ChatMessage[] = [];

  constructor(
    private readonly redis: RedisAdapterLink | null,
    private readonly size: number,
  ) {}

  remember(m: ChatMessage): void {
    this.local.push(m);
    if (this.local.length > this.size) this.local = this.newest(this.local);
    if (this.size > 0) {
      void this.redis?.command((c) => c.multi().rPush(HISTORY_KEY, JSON.stringify(m)).lTrim(HISTORY_KEY, -this.size, -1).exec());
    }
  }

  async current(): Promise<unknown[]> {
    const shared = this.size === 0 ? null : await this.redis?.command((c) => c.lRange(HISTORY_KEY, -this.size, -1));
    if (shared) {
      const parsed = shared.flatMap((raw) => {
        try {
          return [JSON.parse(raw) as ChatMessage];
        } catch {
          return []; // skip foreign entries
        }
      });
      this.local = this.newest(parsed);
      return parsed;
    }
    return [...this.local];
  }

  /** The last `size` messages (`slice(-0)` would keep them all, so a size of 0 is its own case). */
  private newest(messages: ChatMessage[]): ChatMessage[] {
    return this.size === 0 ? [] : messages.slice(-this.size);
  }
}

/** The `chat`, `echo` and `whoami` events, and the `history` each connection gets first. */
export function attachChat(io: Server, nodeId: string, historySize: number, redis: RedisAdapterLink | null): void {
  const history = new ChatHistory(redis, historySize);

  // Event handlers are created once and shared by every socket (Socket.IO calls them with `this`
  // set to the socket), not created per connection: a node holds tens of thousands of sockets.
  function onChat(this: Socket, text: unknown, ack?: unknown): void {
    if (typeof text === "function" && ack === undefined) [text, ack] = [undefined, text];
    const reply: Ack = typeof ack === "function" ? (ack as Ack) : () => undefined;
    if (typeof text !== "string" || text.length < 1 || text.length > MAX_CHAT_LENGTH) {
      reply({ ok: false, error: `text must be a string of 1..${MAX_CHAT_LENGTH} characters` });
      return;
    }
    const msg: ChatMessage = { id: randomUUID(), text, node: nodeId, at: Date.now() };
    history.remember(msg);
    if (redis && !redis.ready) this.broadcast.local.emit("chat", msg);
    else this.broadcast.emit("chat", msg);
    reply({ ok: true, id: msg.id, node: nodeId });
  }

  function onEcho(payload: unknown, ack?: unknown): void {
    if (typeof payload === "function" && ack === undefined) [payload, ack] = [undefined, payload];
    if (typeof ack === "function") (ack as Ack)({ payload, node: nodeId });
  }

  function onWhoami(this: Socket, ack?: unknown): void {
    // instance: this process's container (its hostname), which changes when a rolling restart replaces the node.
    if (typeof ack === "function") (ack as Ack)({ node: nodeId, instance: hostname(), sid: this.id, transport: this.conn.transport.name });
  }

  io.on("connection", (socket: Socket) => {
    socket.on("chat", onChat);
    socket.on("echo", onEcho);
    socket.on("whoami", onWhoami);

    // A node-local emit to the socket's own room: with connection state recovery, socket.emit()
    // goes through the adapter, and the streams adapter would hold it until Redis answers.
    // The history is a per-connection snapshot and needs no recovery offset.
    history.current().then(
      (h) => io.local.to(socket.id).emit("history", h),
      (err: unknown) => log.error("history failed", { error: errMessage(err) }),
    );
  });
}
