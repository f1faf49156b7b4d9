import type http from "node:http";

const TOO_LARGE = "413 Payload Too Large\n";
/** What a refused client may still send before the connection is closed on it. */
const DRAIN_BYTES = 8 * 1024 * 1024;
const DRAIN_MS = 5_000;

/**
 * Holds Engine.IO's long-polling POST bodies to `limit` bytes by their real size, whether they
 * come with a Content-Length or chunked (legal HTTP/1.1, what streaming clients send), and makes
 * the refusal a 413 the client can read. Engine.IO checks the size too, but then closes the
 * connection at once while the client is still sending, and the client (or a proxy between)
 * sees a reset instead of the answer. Here the refused request is read to its end (bounded: past
 * DRAIN_BYTES or DRAIN_MS the connection is closed on it) and the connection stays usable, and
 * Engine.IO never sees the oversized body.
 *
 * Returns true when the request was answered here.
 */
export function refuseOversizedBody(req: http.IncomingMessage, res: http.ServerResponse, limit: number, headers: Record<string, string>): boolean {
  if (req.method !== "POST") return false;
  const declared = req.headers["content-length"];
  if (declared !== undefined) {
    if (Number(declared) <= limit) return false;
    refuse(req, res, headers);
    return true;
  }
  // Chunked: count the body as it arrives; past the limit, answer, and Engine.IO sees no more of it.
  let received = 0;
  let refused = false;
  const emit = req.emit;
  req.emit = function (this: http.IncomingMessage, event: string | symbol, ...args: unknown[]): boolean {
    if (event === "data") {
      received += (args[0] as Buffer).length;
      if (refused) {
        if (received > limit + DRAIN_BYTES) req.destroy();
        return false;
      }
      if (received > limit) {
        refused = true;
        refuse(req, res, headers);
        return false;
      }
    }
    if (refused && event === "end") return false;
    return emit.call(this, event, ...args);
  } as typeof req.emit;
  return false;
}

/**
 * An `Expect: 100-continue` request whose declared body is over the limit gets its 413 before the
 * client sends the body; any other gets its 100 Continue and goes on to the server's request
 * handler, as Node does without a `checkContinue` listener.
 */
export function answerExpectContinue(server: http.Server, limit: number, applies: (req: http.IncomingMessage) => boolean, headers: Record<string, string>): void {
  server.on("checkContinue", (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (applies(req) && Number(req.headers["content-length"] ?? 0) > limit) {
      // No 100 Continue: the client sends no body, and the connection closes after the answer.
      res.writeHead(413, { ...headers, "Content-Type": "text/plain; charset=utf-8", "Content-Length": Buffer.byteLength(TOO_LARGE), Connection: "close" });
      res.end(TOO_LARGE);
      return;
    }
    res.writeContinue();
    server.emit("request", req, res);
  });
}

/**
 * Answers 413 and reads the rest of the body: closing a connection with unread data on it would
 * reset it, and the client would lose the answer. The connection stays open (keep-alive) unless
 * the client goes on past DRAIN_BYTES or DRAIN_MS.
 */
function refuse(req: http.IncomingMessage, res: http.ServerResponse, headers: Record<string, string>): void {
  if (!res.headersSent) {
    res.writeHead(413, { ...headers, "Content-Type": "text/plain; charset=utf-8", "Content-Length": Buffer.byteLength(TOO_LARGE) });
    res.end(TOO_LARGE);
  }
  const timer = setTimeout(() => req.destroy(), DRAIN_MS);
  timer.unref();
  req.once("close", () => clearTimeout(timer));
  let drained = 0;
  req.on("data", (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > DRAIN_BYTES) req.destroy();
  });
  req.resume();
}
