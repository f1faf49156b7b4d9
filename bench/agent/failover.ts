import fs from "node:fs";
import type { Socket } from "socket.io-client";
import { connect, connected, SOCKET_IO_DEFAULT_BACKOFF } from "../../driver/socket-client";

/**
 * Clients through several entry points at once, reconnecting as a browser with Socket.IO's
 * defaults does, while the bench kills a realtime node behind all of them: each client reports
 * the node it was on, when it lost its connection, and when (and on which node) it was connected
 * and answering again. Once every client is connected and knows its node, `readyFile` is written
 * for the bench to kill the node; the report comes once every client that lost its connection is
 * back (and `settleMs` passed quietly), or at `timeoutMs`.
 */
export interface FailoverSpec {
  mode: "failover";
  targets: { name: string; url: string; ca?: string }[];
  clientsPerTarget: number;
  readyFile: string;
  settleMs: number;
  timeoutMs: number;
}

export interface FailoverClient {
  target: string;
  nodeBefore: string;
  /** Epoch ms (this machine's clock), null if the client never lost its connection. */
  lostAt: number | null;
  /** Epoch ms of the first answer after reconnecting; null if it did not come back. */
  backAt: number | null;
  nodeAfter: string | null;
}

export interface FailoverReport {
  clients: FailoverClient[];
  errors: string[];
}

async function nodeOf(socket: Socket): Promise<string> {
  const reply = (await socket.timeout(10_000).emitWithAck("echo", { probe: true })) as { node: string };
  return reply.node;
}

export async function runFailover(spec: FailoverSpec): Promise<FailoverReport> {
  const errors: string[] = [];
  const clients: (FailoverClient & { socket: Socket })[] = [];
  for (const target of spec.targets) {
    for (let i = 0; i < spec.clientsPerTarget; i++) {
      const socket = connect({ url: target.url, transports: ["websocket"], reconnection: true, backoff: SOCKET_IO_DEFAULT_BACKOFF, ...(target.ca ? { ca: target.ca } : {}) });
      try {
        await connected(socket, 15_000);
        const client = { target: target.name, nodeBefore: await nodeOf(socket), lostAt: null, backAt: null, nodeAfter: null, socket } as FailoverClient & { socket: Socket };
        socket.on("disconnect", () => {
          client.lostAt ??= Date.now();
        });
        socket.io.on("reconnect", () => {
          void nodeOf(socket).then(
            (node) => {
              if (client.backAt === null) {
                client.backAt = Date.now();
                client.nodeAfter = node;
              }
            },
            (error: Error) => errors.length < 20 && errors.push(`${target.name}: ${error.message}`),
          );
        });
        clients.push(client);
      } catch (error) {
        if (errors.length < 20) errors.push(`${target.name}: ${(error as Error).message}`);
        socket.disconnect();
      }
    }
  }
  fs.writeFileSync(spec.readyFile, String(Date.now()));
  const deadline = Date.now() + spec.timeoutMs;
  let quietSince = Date.now();
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const lost = clients.filter((client) => client.lostAt !== null);
    if (lost.some((client) => client.backAt === null)) quietSince = Date.now();
    else if (lost.length > 0 && Date.now() - quietSince >= spec.settleMs) break;
  }
  for (const client of clients) client.socket.disconnect();
  return { clients: clients.map(({ socket: _socket, ...rest }) => rest), errors };
}
