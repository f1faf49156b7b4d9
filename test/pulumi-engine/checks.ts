import assert from "node:assert/strict";
import { request, whoami } from "../../driver/socket-client";
import { startClientContainer, type ClientContainer, type HoldEvent } from "../../harness/client-containers";
import type { RunningTopology } from "../../driver/running";
import { waitFor } from "../../driver/wait";
import { connectedClient } from "../integration/clients";

/**
 * multi-node: a client from this machine sends a chat message; a client on the other realtime
 * node (a client container, its own source address, tried until one lands there) receives it.
 */
export async function crossNodeBroadcast(t: RunningTopology, attempts = 8): Promise<void> {
  const sender = await connectedClient({ url: t.urls.realtime, transports: ["websocket"], ca: t.ca ?? undefined });
  const senderNode = (await whoami(sender)).node;
  let receiver: ClientContainer | null = null;
  for (let attempt = 0; attempt < attempts && !receiver; attempt++) {
    const container = await startClientContainer(t, { hold: { url: t.internalUrls.realtime, transports: ["websocket"] } });
    const hello = await waitFor(async () => (await container.events()).find((event) => event.event === "connected"), { timeoutMs: 20_000, what: `${container.name} to connect` });
    if (hello.node !== senderNode) receiver = container;
  }
  assert.ok(receiver, `${attempts} client containers all landed on ${senderNode}, the sender's node`);
  const text = `across nodes ${Date.now()}`;
  const ack = await request<{ ok: boolean; id: string; node: string }>(sender, "chat", text);
  assert.equal(ack.ok, true);
  assert.equal(ack.node, senderNode);
  const received = await waitFor(
    async () => (await receiver!.events()).find((event: HoldEvent) => event.event === "chat" && event.id === ack.id),
    { timeoutMs: 10_000, what: "the message on the other node's client" },
  );
  assert.equal(received.text, text);
}
