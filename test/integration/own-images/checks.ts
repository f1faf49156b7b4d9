import assert from "node:assert/strict";
import type { Socket } from "socket.io-client";
import type { RunningTopology } from "../../../driver/running";
import { waitFor } from "../../../driver/wait";
import { runCli } from "../../cli-process";
import { connectedClient } from "../clients";

/** What a deployment of the examples must show, whichever driver brought it up. */

/** `realtime-kit check` against the examples: every Socket.IO step passes, the three kit-server probes are skipped by name. */
export async function checkPassesForOwnImages(t: RunningTopology, caFile: string | null): Promise<void> {
  const result = await runCli(["check", t.urls.https ?? t.urls.http, ...(caFile ? ["--ca", caFile] : []), "--app-path", "/api/status", "--app-expect", "status-api", "--idle", "3"]);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.match(result.stdout, /ok {3}second stack: GET \/api\/status .*status-api/);
  assert.match(result.stdout, /ok {3}Socket\.IO handshake on \/socket\.io\/ .*a realtime server of your own/);
  assert.match(result.stdout, /ok {3}Socket\.IO over polling only: 20 requests in one session/);
  assert.match(result.stdout, /ok {3}Socket\.IO upgrade to WebSocket, 3 s idle/);
  assert.equal(result.stdout.match(/^skip \[kit server\] .*: skipped: needs the kit's own realtime server/gm)?.length, 3, result.stdout);
  assert.match(result.stdout, /all checks passed/);
}

function ack<T>(socket: Socket, event: string, ...args: unknown[]): Promise<T> {
  return socket.timeout(5_000).emitWithAck(event, ...args) as Promise<T>;
}

/** The node a live-poll client is on: with session stickiness its sid begins with the node's name. */
function nodeOf(socket: Socket): string {
  return socket.io.engine.id.split(".")[0]!;
}

/**
 * multi-node with live-poll: one client on each realtime node (round robin spreads new sessions);
 * a vote on one node reaches the voter on the other, and `voters` counts both (fetchSockets over
 * the Redis adapter).
 */
export async function voteAcrossNodes(t: RunningTopology): Promise<void> {
  const byNode = new Map<string, Socket>();
  await waitFor(
    async () => {
      const socket = await connectedClient({ url: t.urls.realtime, ca: t.ca ?? undefined, withCredentials: true });
      if (!byNode.has(nodeOf(socket))) byNode.set(nodeOf(socket), socket);
      return byNode.size === 2;
    },
    { timeoutMs: 20_000, what: "a client on each realtime node" },
  );
  const [first, second] = [...byNode.values()] as [Socket, Socket];
  for (const socket of [first, second]) assert.deepEqual(await ack(socket, "join", "lunch"), { joined: "lunch", node: nodeOf(socket) });
  const heard = new Promise<{ choice: string; node: string }>((resolve) => second.once("voted", resolve));
  assert.deepEqual(await ack(first, "vote", { poll: "lunch", choice: "soup" }), { ok: true });
  const vote = await heard;
  assert.equal(vote.choice, "soup");
  assert.equal(vote.node, nodeOf(first), "the vote was made on the other node");
  assert.notEqual(nodeOf(first), nodeOf(second));
  assert.deepEqual(await ack(first, "voters", "lunch"), { poll: "lunch", voters: 2 });
}

/** One node: a WebSocket client and a long-polling client in one poll hear each other's votes. */
export async function voteOverBothTransports(t: RunningTopology): Promise<void> {
  const ws = await connectedClient({ url: t.urls.realtime, ca: t.ca ?? undefined, transports: ["websocket"] });
  const polling = await connectedClient({ url: t.urls.realtime, ca: t.ca ?? undefined, transports: ["polling"] });
  for (const socket of [ws, polling]) await ack(socket, "join", "tea");
  const heard = new Promise<{ choice: string }>((resolve) => polling.once("voted", resolve));
  await ack(ws, "vote", { poll: "tea", choice: "green" });
  assert.equal((await heard).choice, "green");
}
