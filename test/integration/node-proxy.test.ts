import assert from "node:assert/strict";
import { startClientContainer, waitSocketState, type ClientContainer, type HoldEvent } from "../../harness/client-containers";
import { waitFor } from "../../driver/wait";
import { itChecks, timeUntil } from "./checks";
import { measure, useTopology } from "./helpers";

const PING_INTERVAL_MS = 5_000;
const PING_TIMEOUT_MS = 5_000;

describe("node-proxy: the Socket.IO server in front of the second stack (ping 5 s + 5 s)", function () {
  const topology = useTopology("node-proxy", [`realtime.pingInterval=${PING_INTERVAL_MS}ms`, `realtime.pingTimeout=${PING_TIMEOUT_MS}ms`]);

  itChecks(topology, ["websocketOnly", "polling", "upgrade", "secondStack", "chunked", "checkCommand", "broadcast"]);

  it("(9) vanished clients are detected within pingInterval + pingTimeout; no backend connection is left", async function () {
    const t = topology.t;
    const node = t.realtimeNodes[0]!;
    const bound = PING_INTERVAL_MS + PING_TIMEOUT_MS;
    // The earlier tests' clients are closed, but the node may still be tearing one down: start from none.
    const baseline = await waitFor(async () => {
      const stats = await t.stats(node);
      return stats.sockets === 0 ? stats : undefined;
    }, { timeoutMs: bound + 5_000, what: `no Socket.IO client left on ${node} from earlier tests` });

    // Three clients in their own containers, each with a keep-alive request to the second stack
    // through the node first: two get cut off the network (no FIN, no RST: only heartbeats can
    // tell), one is SIGKILLed (its kernel still closes the connection).
    const start = (transport: "websocket" | "polling") =>
      startClientContainer(t, { hold: { url: t.internalUrls.realtime, transports: [transport], backendPath: "/api/info" } });
    const [cutWs, cutPolling, killed] = await Promise.all([start("websocket"), start("polling"), start("websocket")]);
    const hello = async (client: ClientContainer) =>
      waitFor(async () => (await client.events()).find((event) => event.event === "connected"), { timeoutMs: 20_000, what: `${client.name} to connect` });
    const [wsHello, pollingHello, killedHello] = await Promise.all([hello(cutWs), hello(cutPolling), hello(killed)]);
    for (const [client, greeting] of [[cutWs, wsHello], [cutPolling, pollingHello], [killed, killedHello]] as [ClientContainer, HoldEvent][]) {
      const backend = (await client.events()).find((event) => event.event === "backend");
      assert.equal(backend?.status, 200, `${client.name}'s request through the node to the second stack`);
      assert.equal(greeting.node, node);
      assert.equal(await t.socketConnected(node, greeting.sid!), true);
    }
    const during = await t.stats(node);
    assert.equal(during.sockets, baseline.sockets + 3);

    await Promise.all([cutWs.cutNetwork(), cutPolling.cutNetwork(), killed.kill()]);
    const [wsMs, pollingMs, killedMs] = await Promise.all([
      waitSocketState(t, node, wsHello.sid!, false, bound + 10_000),
      waitSocketState(t, node, pollingHello.sid!, false, bound + 10_000),
      waitSocketState(t, node, killedHello.sid!, false, bound + 10_000),
    ]);
    measure("node-proxy.disconnect.cut.websocket", wsMs, "ms", `network cut, ping ${PING_INTERVAL_MS}+${PING_TIMEOUT_MS} ms`);
    measure("node-proxy.disconnect.cut.polling", pollingMs, "ms", `network cut, ping ${PING_INTERVAL_MS}+${PING_TIMEOUT_MS} ms`);
    measure("node-proxy.disconnect.sigkill.websocket", killedMs, "ms", "SIGKILL: the kernel sends FIN");
    // 1 s of slack for the 200 ms polling of /stats through docker exec.
    for (const [what, ms] of [["cut websocket", wsMs], ["cut polling", pollingMs], ["SIGKILLed", killedMs]] as const) {
      assert.ok(ms <= bound + 1_000, `${what} client detected after ${ms} ms, more than pingInterval + pingTimeout = ${bound} ms`);
    }
    // A silent disappearance can only be seen by a missed pong: never sooner than pingTimeout.
    assert.ok(wsMs >= PING_TIMEOUT_MS - 1_000, `cut websocket detected after ${wsMs} ms: faster than a heartbeat can tell`);

    const after = await t.stats(node);
    assert.equal(after.sockets, baseline.sockets, "every vanished client's socket is gone");
    assert.equal(after.engineClients, baseline.engineClients);
    // The node's pooled keep-alive connections to the second stack close once idle; none may stay
    // behind for the dead clients.
    const drainMs = await timeUntil("backend connections back to their level before the clients", async () => (await t.stats(node)).backendConnections <= baseline.backendConnections, 45_000, 500);
    measure("node-proxy.backendConnections.drain", drainMs, "ms", `baseline ${baseline.backendConnections}, peak ${during.backendConnections}`);
  });
});

describe("node-proxy with HAProxy in front and the split-port option", function () {
  const topology = useTopology("node-proxy", ["front=haproxy", "ports.realtime=auto"]);

  itChecks(topology, [
    "splitPortOrigins",
    "websocketOnlyOnRealtimePort",
    "pollingOnRealtimePort",
    ["secondStack", "(4) the second stack answers through HAProxy (PONG); private ports are not reachable"],
    "chunked",
    "checkCommandRealtimeUrl",
  ]);
});
