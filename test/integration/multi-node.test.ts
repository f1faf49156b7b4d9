import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import type { Page } from "playwright-core";
import type { Socket } from "socket.io-client";
import { docker } from "../../driver/engine";
import { httpRequest, sendBody } from "../../driver/http";
import { rollingRestart, type NodeRestart } from "../../driver/rolling-restart";
import { request, whoami } from "../../driver/socket-client";
import { startClientContainer, type ClientContainer, type HoldEvent } from "../../harness/client-containers";
import type { RunningTopology } from "../../driver/running";
import { sleep, waitFor } from "../../driver/wait";
import { gotoResilient, launchBrowser } from "../../harness/browser";
import { runRoundtrips, type ClientReport } from "../../harness/client/agent";
import { INTERNAL_PORTS } from "../../model/layout";
import {
  everyImageHealthy,
  itChecks,
  everyLineStructured,
  logsCommand,
  metricsInsideOnly,
  rateLimitPerClientAddress,
  redisRequiresPassword,
  secondStackBehindFrontDoor,
  timeUntil,
  proxyProtocolBalancerInFront,
  trustedProxyInFront,
  upgradesToWebsocket,
} from "./checks";
import { ARTIFACTS, connectedClient, measure, useTopology } from "./helpers";

/**
 * Low enough that the (8b) flood from one client container outruns it even on a loaded machine,
 * high enough for everything else the suite sends from one address (the host's).
 */
const RATE_LIMIT_UNDER_TEST = "limits.connectionRatePerClient=150";

/** Starts client containers until `count` of them answer from >= `nodes` distinct realtime nodes (bounded). */
async function spreadClientContainers(t: RunningTopology, count: number, nodes: number, max = 10): Promise<{ container: ClientContainer; node: string }[]> {
  const found: { container: ClientContainer; node: string }[] = [];
  while (found.length < max) {
    const container = await startClientContainer(t);
    const report = await container.roundtrips({ url: t.internalUrls.realtime, clients: 1, rounds: 1, transports: ["polling"] });
    const probe = report.clients[0]!;
    assert.deepEqual(probe.errors, [], `${container.name}: ${probe.errors.join("; ")}`);
    found.push({ container, node: probe.nodes[0]! });
    if (found.length >= count && new Set(found.map((entry) => entry.node)).size >= nodes) return found;
  }
  throw new Error(`${max} client containers all landed on ${[...new Set(found.map((entry) => entry.node))].join(", ")}`);
}

/** A hold-mode client container connected to a node other than `avoid` (bounded attempts). */
async function holdOnOtherNode(t: RunningTopology, avoid: string, max = 8): Promise<{ container: ClientContainer; hello: HoldEvent }> {
  // Containers that landed on `avoid` stay until the run ends: removing one would free its
  // address for the next container, which would then hash to the same node again.
  for (let attempt = 0; attempt < max; attempt++) {
    const container = await startClientContainer(t, { hold: { url: t.internalUrls.realtime, transports: ["websocket"] } });
    const hello = await waitFor(async () => (await container.events()).find((event) => event.event === "connected"), { timeoutMs: 20_000, what: `${container.name} to connect` });
    if (hello.node !== avoid) return { container, hello };
  }
  throw new Error(`${max} client containers all landed on ${avoid}`);
}

/**
 * Hold-mode client containers (each its own source address, reconnecting like a browser) until
 * every realtime node has a websocket-only and a polling-only client (bounded).
 */
async function holdersOnEveryNode(t: RunningTopology, max = 14): Promise<{ container: ClientContainer; transport: "websocket" | "polling"; hello: HoldEvent }[]> {
  const started: { container: ClientContainer; transport: "websocket" | "polling"; hello: HoldEvent }[] = [];
  const covered = () => t.realtimeNodes.every((node) => ["websocket", "polling"].every((transport) => started.some((one) => one.hello.node === node && one.transport === transport)));
  // The transport still missing on more nodes goes next: balancing that follows load (leastconn)
  // would otherwise pair each transport with one node for good.
  const missingOn = (transport: string) => t.realtimeNodes.filter((node) => !started.some((one) => one.hello.node === node && one.transport === transport)).length;
  for (let index = 0; index < max && !covered(); index++) {
    const transport = missingOn("websocket") >= missingOn("polling") ? "websocket" : "polling";
    const container = await startClientContainer(t, { hold: { url: t.internalUrls.realtime, transports: [transport], reconnection: true } });
    const hello = await waitFor(async () => (await container.events()).find((event) => event.event === "connected"), { timeoutMs: 20_000, what: `${container.name} to connect` });
    started.push({ container, transport, hello });
  }
  if (!covered()) throw new Error(`${max} client containers did not cover every node with both transports: ${started.map((one) => `${one.transport}@${one.hello.node}`).join(", ")}`);
  return started;
}

/**
 * Hold-mode clients on every node (holdersOnEveryNode), then a rolling restart of the realtime
 * nodes: the restart's steps, and each client's "connected" events since the restart began.
 */
async function rollingRestartUnderHolders(t: RunningTopology): Promise<{ report: NodeRestart[]; moves: { name: string; transport: "websocket" | "polling"; home: string; connects: HoldEvent[] }[] }> {
  const started = await holdersOnEveryNode(t);
  const restartedAt = Date.now();
  const report = await rollingRestart(t.runId);
  // A second move would come at the latest with a polling client's next request after the restart.
  await sleep(t.model.realtime.pingIntervalMs + 2_000);
  const moves = await Promise.all(
    started.map(async ({ container, transport, hello }) => {
      const after = (await container.events()).filter((event) => event.at > restartedAt);
      return { name: container.name, transport, home: hello.node!, connects: after.filter((event) => event.event === "connected") };
    }),
  );
  return { report, moves };
}

function assertHealthy(clients: ClientReport[], rounds: number, label: string): void {
  for (const one of clients) {
    assert.deepEqual(one.errors, [], `${label} client ${one.index}: ${one.errors.join("; ")}`);
    assert.equal(one.acks, rounds, `${label} client ${one.index}: ${one.acks}/${rounds} echoes`);
    assert.equal(one.nodes.length, 1, `${label} client ${one.index} was answered by ${one.nodes.join(", ")}: stickiness broke`);
  }
}

describe("multi-node: source stickiness, TLS by stunnel, Redis adapter (2 realtime + 2 app nodes)", function () {
  const topology = useTopology("multi-node", ["realtime.stickiness=source", RATE_LIMIT_UNDER_TEST]);

  it("smoke: every container reports healthy by the HEALTHCHECK of its image (realtime, app, haproxy, stunnel, redis)", async function () {
    assert.deepEqual(await everyImageHealthy(topology.t), ["realtime-kit/app:latest", "realtime-kit/haproxy:latest", "realtime-kit/realtime:latest", "realtime-kit/redis:latest", "realtime-kit/stunnel:latest"]);
  });

  itChecks(topology, [["websocketOnly", "(1) a websocket-only client connects over wss and round-trips events"], "polling", "upgrade"]);

  it("(4) the app pool answers through HAProxy (PONG from both app nodes); app and Redis ports are not reachable", async function () {
    await secondStackBehindFrontDoor(topology.t);
    const nodes = new Set<string>();
    await waitFor(
      async () => {
        const response = await fetch(`${topology.t.urls.http}/api/info`);
        nodes.add(String(response.headers.get("x-app-node")));
        return nodes.size >= 2;
      },
      { timeoutMs: 10_000, intervalMs: 50, what: "both app nodes to answer (round robin)" },
    );
  });

  itChecks(topology, ["chunked", ["checkCommand", "(5) `realtime-kit check` passes against the https URL with the CA"], "tls"]);

  it("Prometheus metrics inside the network only: a node's socketio_sockets counts a client while it is connected; HAProxy's exporter shows every realtime server UP", async function () {
    await metricsInsideOnly(topology.t);
  });

  it("Redis refuses a client without the deployment's password; no log shows it", async function () {
    await redisRequiresPassword(topology.t);
  });

  it("`realtime-kit logs`: HAProxy's JSON access log names each session's node, timers and termination; the node logs its connect and disconnect reason; --follow streams", async function () {
    await logsCommand(topology.t);
  });

  it("every container's lines are JSON (the nodes, the app, HAProxy's access log), or Redis's, stunnel's or HAProxy's own format read into fields", async function () {
    await everyLineStructured(topology.t);
  });

  it("(6) a broadcast crosses nodes through Redis; a late joiner on another node gets the history", async function () {
    const t = topology.t;
    const a = await connectedClient({ url: t.urls.realtime, ca: t.ca! });
    const nodeA = (await whoami(a)).node;
    const b = await holdOnOtherNode(t, nodeA);
    assert.notEqual(b.hello.node, nodeA);
    const text = `cross-node ${Date.now()}`;
    const ack = await request<{ ok: boolean; id: string; node: string }>(a, "chat", text);
    assert.equal(ack.node, nodeA);
    const received = await waitFor(async () => (await b.container.events()).find((event) => event.event === "chat" && event.id === ack.id), {
      timeoutMs: 10_000,
      what: `the message from ${nodeA} to reach ${b.container.name} on ${b.hello.node}`,
    });
    assert.equal(received.text, text);
    assert.equal(received.node, nodeA);
    const c = await holdOnOtherNode(t, nodeA);
    const history = await waitFor(async () => (await c.container.events()).find((event) => event.event === "history"), { timeoutMs: 10_000, what: "the late joiner's history" });
    assert.ok(history.ids?.includes(ack.id), `history on ${c.hello.node} lacks the message sent on ${nodeA}`);
  });

  it("(11) failover: a stopped node's clients reconnect to the other node; HAProxy marks it DOWN", async function () {
    const t = topology.t;
    const sockets: Socket[] = [];
    for (let index = 0; index < 4; index++) sockets.push(await connectedClient({ url: t.urls.realtime, ca: t.ca!, reconnection: true }));
    const homes = new Set(await Promise.all(sockets.map(async (socket) => (await whoami(socket)).node)));
    assert.equal(homes.size, 1, "clients from one address share a node under source stickiness");
    const victim = [...homes][0]!;
    const survivor = t.realtimeNodes.find((node) => node !== victim)!;
    const reasons: string[] = [];
    const disconnectedAt: number[] = [];
    const reconnectedAt: number[] = [];
    for (const socket of sockets) {
      socket.once("disconnect", (reason) => {
        reasons.push(reason);
        disconnectedAt.push(Date.now());
        socket.once("connect", () => reconnectedAt.push(Date.now()));
      });
    }

    const stopped = Date.now();
    const stopping = t.stopService(victim);
    const [reconnectMs, downMs] = await Promise.all([
      timeUntil(`every client to reconnect`, () => reconnectedAt.length === sockets.length, 30_000, 50).then(() => Math.max(...reconnectedAt) - stopped),
      timeUntil(
        `HAProxy to mark ${victim} DOWN`,
        async () => (await t.haproxyStats()).some((row) => row.pxname === "realtime_pool" && row.svname === victim && row.status.startsWith("DOWN")),
        30_000,
        500,
      ),
    ]);
    await stopping;
    for (const socket of sockets) assert.equal((await whoami(socket)).node, survivor);
    measure("multi-node.failover.disconnected", Math.max(...disconnectedAt) - stopped, "ms", `after docker stop of ${victim}; reasons: ${[...new Set(reasons)].join(", ")}`);
    measure("multi-node.failover.reconnect", reconnectMs, "ms", `docker stop of ${victim} until the last of 4 clients is connected to ${survivor}`);
    measure("multi-node.failover.haproxy-down", downMs, "ms", `check inter ${t.model.timeouts.healthCheckIntervalMs} ms, fall 2`);
    assert.ok(reconnectMs <= 15_000, `reconnection took ${reconnectMs} ms`);
    assert.ok(downMs <= 4 * t.model.timeouts.healthCheckIntervalMs + 2_000, `HAProxy took ${downMs} ms to mark ${victim} down`);
    for (const socket of sockets) assert.deepEqual((await request<{ payload: unknown }>(socket, "echo", "after failover")).payload, "after failover");
    assert.ok((await t.stats(survivor)).sockets >= 4);

    // Bring the node back for the tests that follow; HAProxy must see it UP again.
    await t.startService(victim);
    const upMs = await timeUntil(
      `HAProxy to mark ${victim} UP again`,
      async () => (await t.haproxyStats()).some((row) => row.pxname === "realtime_pool" && row.svname === victim && row.status === "UP"),
      60_000,
      500,
    );
    measure("multi-node.failover.back-up", upMs, "ms", `${victim} restarted until HAProxy marks it UP (rise 2)`);
  });

  it("(8) >= 12 polling-only clients from >= 3 source addresses spread over both nodes and stay healthy", async function () {
    const t = topology.t;
    const spread = await spreadClientContainers(t, 3, 2);
    const rounds = 30;
    const reports = await Promise.all(
      spread.map(async ({ container, node }) => ({ container, node, report: await container.roundtrips({ url: t.internalUrls.realtime, clients: 4, rounds, transports: ["polling"] }) })),
    );
    const all = reports.flatMap((entry) => entry.report.clients);
    assert.ok(all.length >= 12);
    assert.ok(new Set(spread.map((entry) => entry.container.address)).size >= 3, "distinct source addresses");
    for (const { container, node, report } of reports) {
      assertHealthy(report.clients, rounds, container.name);
      // Source stickiness: every client of one address on that address's node.
      for (const one of report.clients) assert.deepEqual(one.nodes, [node], `${container.name} (${container.address}) client ${one.index}`);
    }
    const nodes = new Set(all.map((one) => one.nodes[0]));
    assert.ok(nodes.size >= 2, `all clients on ${[...nodes].join(", ")}`);
    measure("multi-node.source.clients", all.length, "clients", `${spread.length} addresses, nodes ${[...nodes].join("+")}, ${rounds} round trips each, longest ${Math.max(...reports.map((entry) => entry.report.ms))} ms`);
  });


  it("(8b) the connection-rate limit counts each client address (behind stunnel too): a flooding address is refused, another is still served", async function () {
    await rateLimitPerClientAddress(topology.t);
  });

  // Last in this describe: it replaces the realtime containers.
  it("(12) rolling restart under source stickiness: websocket and polling clients from their own addresses each move exactly once, to their own node's new instance", async function () {
    const { report, moves } = await rollingRestartUnderHolders(topology.t);
    const newInstances = new Map(report.map((step) => [step.node, step.newId.slice(0, 12)]));
    measure("multi-node.rolling-restart.steps", Math.max(...report.map((step) => step.totalMs)), "ms", `longest node step; ${moves.length} clients (websocket and polling), reconnects each: ${moves.map((m) => m.connects.length).join(",")}`);
    for (const move of moves) {
      assert.equal(move.connects.length, 1, `${move.name} (${move.transport}) reconnected ${move.connects.length} times`);
      assert.equal(move.connects[0]!.node, move.home, `${move.name} (${move.transport}) left its own node`);
      assert.equal(move.connects[0]!.instance, newInstances.get(move.home), `${move.name} (${move.transport}) is not on ${move.home}'s new instance`);
    }
  });

  // Last: it leaves HAProxy with a config that trusts a stand-in CDN.
  it("clientAddress behind a CDN in front of the edge: HAProxy takes the client from CF-Connecting-IP (logs, source stickiness, per-client limit), never from an untrusted sender", async function () {
    await trustedProxyInFront(topology.t);
  });
});

describe("multi-node: cookie stickiness, native TLS in HAProxy, plain-http realtime refused", function () {
  const topology = useTopology("multi-node", ["realtime.stickiness=cookie", "tls.terminator=haproxy", "plainHttpRealtime=refuse", RATE_LIMIT_UNDER_TEST]);

  itChecks(topology, [
    ["websocketOnly", "(1) a websocket-only client connects over wss and round-trips events"],
    ["tls", "(7) TLS in HAProxy: verified https + wss, HSTS, TLS 1.0/1.1 refused, TLS 1.2 accepted, plain-http realtime refused (403)"],
    "chunked",
    ["checkCommand", "(5) `realtime-kit check` passes against the https URL with the CA"],
  ]);

  it("(8) >= 12 polling-only clients keeping cookies (withCredentials) from 3 addresses spread over both nodes and stay healthy", async function () {
    const t = topology.t;
    const containers = await Promise.all([1, 2, 3].map(() => startClientContainer(t)));
    const rounds = 30;
    const reports = await Promise.all(
      containers.map(async (container) => ({ container, report: await container.roundtrips({ url: t.internalUrls.realtime, clients: 4, rounds, transports: ["polling"], withCredentials: true }) })),
    );
    const all = reports.flatMap((entry) => entry.report.clients);
    for (const { container, report } of reports) assertHealthy(report.clients, rounds, container.name);
    const nodes = new Set(all.map((one) => one.nodes[0]));
    assert.ok(all.length >= 12);
    assert.ok(nodes.size >= 2, `all clients on ${[...nodes].join(", ")}`);
    // The cookie, not the address, pins a client: one address's clients sit on different nodes.
    const mixed = reports.filter(({ report }) => new Set(report.clients.map((one) => one.nodes[0])).size >= 2);
    assert.ok(mixed.length >= 1, "no address had clients on two nodes: stickiness by cookie is not visible");
    measure("multi-node.cookie.clients", all.length, "clients", `${containers.length} addresses, ${mixed.length} with clients on both nodes`);
  });

  it("control: without cookies (withCredentials false) polling sessions break under cookie stickiness", async function () {
    const t = topology.t;
    const report = await runRoundtrips({ mode: "roundtrips", url: t.urls.realtime, clients: 4, rounds: 10, transports: ["polling"], ca: t.ca!, withCredentials: false });
    const broken = report.clients.filter((one) => one.errors.length > 0);
    assert.ok(broken.length >= 1, "every client survived without its stickiness cookie: the cookie check above proves nothing");
    measure("multi-node.cookie.without-cookies-broken", broken.length, "of 4 clients", broken[0]?.errors[0] ?? "");
  });

  it("browser: two pages over https (CA trusted, no certificate errors ignored) land on different nodes and see each other's messages", async function () {
    const t = topology.t;
    const { browser, close } = await launchBrowser({ caPem: t.ca });
    try {
      const open = async (): Promise<{ page: Page; node: string }> => {
        const context = await browser.newContext({ ignoreHTTPSErrors: false });
        const page = await context.newPage();
        await gotoResilient(page, t.urls.chat);
        await page.waitForSelector('#state[data-state="connected"]', { timeout: 20_000 });
        await page.waitForFunction(() => document.getElementById("transport")!.textContent === "websocket", undefined, { timeout: 15_000 });
        return { page, node: (await page.textContent("#node"))! };
      };
      // HAProxy balances new sessions by least connections; a page that lands on A's node stays
      // open (adding to that node's count), so the next one goes to the other node.
      const a = await open();
      let b = await open();
      for (let attempt = 0; b.node === a.node && attempt < 4; attempt++) b = await open();
      assert.notEqual(b.node, a.node, "both pages on one node");
      const say = async (from: { page: Page }, to: { page: Page }, text: string, node: string) => {
        await from.page.fill("#input", text);
        await from.page.click("#send");
        await from.page.locator("#messages li.mine", { hasText: text }).waitFor({ timeout: 10_000 });
        const seen = to.page.locator("#messages li:not(.mine)", { hasText: text });
        await seen.waitFor({ timeout: 10_000 });
        assert.match((await seen.locator(".meta").textContent()) ?? "", new RegExp(`via ${node}`));
      };
      await say(a, b, `hello from ${a.node}`, a.node);
      await say(b, a, `hello back from ${b.node}`, b.node);
      fs.mkdirSync(ARTIFACTS, { recursive: true });
      await a.page.screenshot({ path: path.join(ARTIFACTS, `multi-node-chat-${a.node}.png`) });
      await b.page.screenshot({ path: path.join(ARTIFACTS, `multi-node-chat-${b.node}.png`) });
    } finally {
      await close();
    }
  });

  it("(8b) the connection-rate limit counts each client address: a flooding address is refused, another is still served", async function () {
    await rateLimitPerClientAddress(topology.t);
  });

  it("(2) polling-only clients from this machine round-trip 50 events each with cookies", async function () {
    const report = await runRoundtrips({ mode: "roundtrips", url: topology.t.urls.realtime, clients: 3, rounds: 50, transports: ["polling"], ca: topology.t.ca!, withCredentials: true });
    assertHealthy(report.clients, 50, "host");
  });

  it("(3) a default client starts on polling and upgrades to websocket", async function () {
    // Under cookie stickiness the upgrade request must carry the cookie too.
    await upgradesToWebsocket(topology.t, topology.t.urls.realtime, true);
  });
});

describe("multi-node: session stickiness (the default), native TLS in HAProxy, Redis adapter", function () {
  const topology = useTopology("multi-node", ["tls.terminator=haproxy", RATE_LIMIT_UNDER_TEST]);

  it("is the default, and each node's Engine.IO ids begin with its name", async function () {
    const t = topology.t;
    assert.equal(t.model.realtime.stickiness, "session");
    const socket = await connectedClient({ url: t.urls.realtime, ca: t.ca!, transports: ["polling"] });
    const me = await whoami(socket);
    assert.ok(socket.io.engine.id.startsWith(`${me.node}.`), `session id ${socket.io.engine.id} does not name ${me.node}`);
  });

  it("(8) polling-only clients that keep no cookies, from this machine and 3 addresses, stay on their nodes and spread over both", async function () {
    const t = topology.t;
    const rounds = 30;
    const host = await runRoundtrips({ mode: "roundtrips", url: t.urls.realtime, clients: 4, rounds, transports: ["polling"], ca: t.ca!, withCredentials: false });
    assertHealthy(host.clients, rounds, "host");
    const containers = await Promise.all([1, 2, 3].map(() => startClientContainer(t)));
    const reports = await Promise.all(containers.map(async (container) => ({ container, report: await container.roundtrips({ url: t.internalUrls.realtime, clients: 4, rounds, transports: ["polling"], withCredentials: false }) })));
    for (const { container, report } of reports) assertHealthy(report.clients, rounds, container.name);
    const all = [...host.clients, ...reports.flatMap((entry) => entry.report.clients)];
    const nodes = new Set(all.map((one) => one.nodes[0]));
    assert.ok(nodes.size >= 2, `all ${all.length} clients on ${[...nodes].join(", ")}`);
    // Neither the address nor a cookie pins them: one address's clients sit on different nodes.
    assert.ok(new Set(host.clients.map((one) => one.nodes[0])).size >= 2, "the host's cookie-less clients all landed on one node");
    measure("multi-node.session.clients", all.length, "clients", `no cookies, 4 addresses, nodes ${[...nodes].join("+")}`);
  });

  it("(3) a default client (no cookies) starts on polling and upgrades to websocket", async function () {
    await upgradesToWebsocket(topology.t, topology.t.urls.realtime, false);
  });

  itChecks(topology, ["chunked"]);

  it("a session id naming no node (or a node that is gone) is balanced like a handshake: the node answers \"Session ID unknown\"", async function () {
    const t = topology.t;
    for (const sid of ["realtime-9.AAAAAAAAAAAAAAAAAAAA", "not-a-node-id"]) {
      const answer = await httpRequest(`${t.urls.realtime}/socket.io/?EIO=4&transport=polling&sid=${sid}`, { ca: t.ca! });
      assert.equal(answer.status, 400, `${sid}: ${answer.status} ${answer.body}`);
      assert.match(answer.body, /Session ID unknown/);
      assert.match(String(answer.headers["x-node-id"]), /^realtime-\d+$/, "answered by a node, not an HAProxy error page");
    }
  });

  it("an HAProxy reload and an HAProxy restart keep open sessions routable: nothing to remember, the id says where", async function () {
    const t = topology.t;
    // One raw Engine.IO session opened on each node directly (inside the network), then used only
    // through HAProxy: nothing but the id can bring its requests back to the right node.
    const sessions: { sid: string; node: string }[] = [];
    for (const node of t.realtimeNodes) {
      const open = await t.fetchInside(`http://${node}:${INTERNAL_PORTS.realtime}/socket.io/?EIO=4&transport=polling`);
      const sid = /"sid":"([^"]+)"/.exec(open.body)![1]!;
      assert.ok(sid.startsWith(`${node}.`), sid);
      sessions.push({ sid, node });
    }
    const poll = async (sid: string) => sendBody(`${t.urls.realtime}/socket.io/?EIO=4&transport=polling&sid=${sid}`, Buffer.from('42["echo","still here"]'), { ca: t.ca! });
    for (const { sid, node } of sessions) {
      const connect = await sendBody(`${t.urls.realtime}/socket.io/?EIO=4&transport=polling&sid=${sid}`, Buffer.from("40"), { ca: t.ca! });
      assert.equal(connect.status, 200, `${sid}: ${connect.status} ${connect.body}`);
      assert.equal(connect.headers["x-node-id"], node, `${sid} answered by its own node through HAProxy`);
    }
    await t.killService("haproxy", "SIGUSR2");
    await sleep(1_000);
    for (const { sid, node } of sessions) {
      const answer = await poll(sid);
      assert.equal(answer.status, 200, `after a reload: ${sid} got ${answer.status} ${answer.body}`);
      assert.equal(answer.headers["x-node-id"], node);
    }
    await docker.getContainer(t.container("haproxy").getId()).restart({ t: 3 });
    await waitFor(async () => (await httpRequest(`${t.urls.realtime}/socket.io/?EIO=4&transport=polling`, { ca: t.ca! }).catch(() => ({ status: 0 }))).status === 200, { timeoutMs: 30_000, what: "HAProxy back" });
    for (const { sid, node } of sessions) {
      const answer = await poll(sid);
      assert.equal(answer.status, 200, `after a restart: ${sid} (on ${node}) got ${answer.status} ${answer.body}`);
      assert.equal(answer.headers["x-node-id"], node, `${sid} answered by its own node`);
    }
  });

  itChecks(topology, [["websocketOnly", "(2) websocket-only clients round-trip events"]]);

  // Last in this describe: it replaces the realtime containers.
  it("(12) rolling restart under session stickiness: websocket and polling clients each move exactly once, onto new instances", async function () {
    const { report, moves } = await rollingRestartUnderHolders(topology.t);
    const newInstances = new Set(report.map((step) => step.newId.slice(0, 12)));
    for (const { name, transport, connects } of moves) {
      assert.equal(connects.length, 1, `${name} (${transport}) reconnected ${connects.length} times`);
      assert.ok(newInstances.has(connects[0]!.instance!), `${name} (${transport}) reconnected to an old instance`);
    }
  });

  // Last: it leaves HAProxy with a config that trusts a stand-in load balancer.
  it("clientAddress.proxyProtocol behind a TCP load balancer: HAProxy reads the client from its PROXY headers (logs, per-client limit), never from anyone else's", async function () {
    await proxyProtocolBalancerInFront(topology.t);
  });
});
