import http from "node:http";
import type { Socket } from "socket.io-client";
import type { ClientOptions } from "../../driver/socket-client";
import { openSockets } from "./latency";

/**
 * Holds idle Socket.IO connections (websocket) and grows their number on request. A small HTTP
 * server on 127.0.0.1:<controlPort> inside the client container takes the commands:
 *   GET /grow?total=N   opens connections until N are held (or attempts fail); answers when done
 *   GET /status         connections held, lost, and the first errors
 * The process runs until its container is removed.
 */
export interface HoldManySpec extends ClientOptions {
  mode: "hold-many";
  controlPort: number;
  /** Connections opened at the same time while growing. */
  concurrency: number;
}

export function runHoldMany(spec: HoldManySpec): void {
  const held = new Set<Socket>();
  const errors: string[] = [];
  let lost = 0;
  const status = () => ({ held: held.size, lost, errors: errors.slice(0, 10) });
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://control");
    if (url.pathname === "/grow") {
      const total = Number(url.searchParams.get("total") ?? "0");
      const budgetMs = Number(url.searchParams.get("budgetMs") ?? "120000");
      const started = Date.now();
      let failed = 0;
      // Attempts that fail (timeouts on a busy machine) are retried until the time budget ends.
      while (held.size < total && Date.now() - started < budgetMs) {
        const opened = await openSockets(spec, total - held.size, spec.concurrency);
        for (const socket of opened.sockets) {
          held.add(socket);
          socket.once("disconnect", () => {
            held.delete(socket);
            lost++;
          });
        }
        failed += opened.errors.length;
        errors.push(...opened.errors.slice(0, 10 - Math.min(errors.length, 10)));
        if (opened.sockets.length === 0) break;
      }
      res.end(JSON.stringify({ ...status(), failed, ms: Date.now() - started }));
    } else {
      res.end(JSON.stringify(status()));
    }
  });
  server.listen(spec.controlPort, "127.0.0.1");
}
