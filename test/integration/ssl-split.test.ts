import assert from "node:assert/strict";
import WebSocket from "ws";
import { request, whoami } from "../../driver/socket-client";
import { httpRequest } from "../../driver/http";
import { waitFor } from "../../driver/wait";
import { runCli } from "../cli-process";
import { everyImageHealthy, everyLineStructured, itChecks } from "./checks";
import { connectedClient, measure, useTopology } from "./helpers";

const PING_INTERVAL_MS = 5_000;
const PING_TIMEOUT_MS = 5_000;
/** Every proxy idle timeout (HAProxy client/server/tunnel, nginx proxy_read, stunnel TIMEOUTidle). */
const PROXY_IDLE_MS = 15_000;

describe("ssl-split: stunnel -> HAProxy -> realtime | nginx (proxy idle timeouts 15 s, ping 5 s + 5 s)", function () {
  const topology = useTopology("ssl-split", [
    `realtime.pingInterval=${PING_INTERVAL_MS}ms`,
    `realtime.pingTimeout=${PING_TIMEOUT_MS}ms`,
    ...["client", "server", "tunnel", "proxyRead"].map((name) => `timeouts.${name}=${PROXY_IDLE_MS}ms`),
  ]);

  it("smoke: every container reports healthy by the HEALTHCHECK of its image (realtime, app, haproxy, nginx, stunnel)", async function () {
    assert.deepEqual(await everyImageHealthy(topology.t), ["realtime-kit/app:latest", "realtime-kit/haproxy:latest", "realtime-kit/nginx:latest", "realtime-kit/realtime:latest", "realtime-kit/stunnel:latest"]);
  });

  itChecks(topology, [
    ["websocketOnly", "(1) a websocket-only client connects over wss and round-trips events"],
    ["polling", "(2) polling-only clients round-trip 50 events each over https, no Session ID unknown"],
    "upgrade",
    ["secondStack", "(4) the second stack answers through nginx on http (PONG); private ports are not reachable"],
    "chunked",
    ["checkCommand", "(5) `realtime-kit check` passes against the https URL with the CA"],
    "broadcast",
    "tls",
  ]);

  it("`realtime-kit logs nginx`: nginx's access log is JSON (client, request, status, timings, the upstream that answered)", async function () {
    const t = topology.t;
    const path = `/ping?logs=${Date.now()}`;
    assert.equal((await httpRequest(`${t.urls.http}${path}`)).status, 200);
    await waitFor(async () => {
      const result = await runCli(["logs", "nginx", "--deployment", t.runId, "--json"]);
      assert.equal(result.code, 0, result.stderr);
      const lines = result.stdout.trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
      const line = lines.find((candidate) => String(candidate.request).startsWith(`GET ${path} `));
      if (!line) return false;
      assert.equal(line.service, "nginx");
      assert.equal(line.status, 200);
      assert.equal(typeof line.requestTime, "number");
      assert.match(String(line.upstream), /:3000$/, "the second stack answered");
      return true;
    }, { timeoutMs: 10_000, intervalMs: 500, what: `nginx's JSON line for ${path}` });
  });

  it("every container's lines are JSON, or Redis's, stunnel's, nginx's error log's or HAProxy's own format read into fields", async function () {
    await everyLineStructured(topology.t);
  });

  it("(10) clients idle longer than the proxies' idle timeout stay connected thanks to heartbeats (a raw WebSocket without them is cut)", async function () {
    const t = topology.t;
    const ca = t.ca!;
    const idleMs = PROXY_IDLE_MS + 5_000;
    const clients = await Promise.all(
      (["websocket", "polling"] as const).map(async (transport) => {
        const socket = await connectedClient({ url: t.urls.realtime, transports: [transport], ca });
        const state = { transport, socket, sid: (await whoami(socket)).sid, pings: 0, disconnects: [] as string[] };
        socket.io.engine.on("ping", () => state.pings++);
        socket.on("disconnect", (reason) => state.disconnects.push(reason));
        return state;
      }),
    );
    // The control: the chapter's plain /echo WebSocket has no heartbeat, so the proxies cut it.
    const raw = new WebSocket(`${t.urls.https!.replace(/^https/, "wss")}/echo`, { ca });
    await new Promise<void>((resolve, reject) => {
      raw.once("open", () => resolve());
      raw.once("error", reject);
    });
    const rawOpened = Date.now();
    const rawClosed = new Promise<number>((resolve) => raw.once("close", () => resolve(Date.now() - rawOpened)));
    raw.on("error", () => undefined);

    // Idle (no application traffic) past the proxies' timeout, watching for any disconnect.
    const idleStarted = Date.now();
    await waitFor(
      () => {
        for (const client of clients) if (client.disconnects.length > 0) throw new Error(`${client.transport} client disconnected while idle: ${client.disconnects.join(", ")}`);
        return Date.now() - idleStarted >= idleMs;
      },
      { timeoutMs: idleMs + 5_000, intervalMs: 250, what: "the idle period" },
    ).catch((error: Error) => assert.fail(error.message));

    for (const client of clients) {
      assert.deepEqual(client.disconnects, [], `${client.transport} client disconnected`);
      assert.equal(client.socket.connected, true);
      assert.ok(client.pings >= Math.floor(idleMs / PING_INTERVAL_MS) - 1, `${client.transport} client saw ${client.pings} pings in ${idleMs} ms`);
      const me = await whoami(client.socket);
      assert.equal(me.sid, client.sid, `${client.transport} client has a new session: it was cut and reconnected`);
      const reply = await request<{ payload: unknown }>(client.socket, "echo", "still here");
      assert.equal(reply.payload, "still here");
      measure(`ssl-split.idle.${client.transport}`, Date.now() - idleStarted, "ms", `still connected, ${client.pings} pings, proxy idle timeout ${PROXY_IDLE_MS} ms`);
    }
    const rawMs = await rawClosed;
    measure("ssl-split.idle.raw-websocket-cut-after", rawMs, "ms", `no heartbeat; proxy idle timeout ${PROXY_IDLE_MS} ms`);
    assert.ok(rawMs >= PROXY_IDLE_MS - 1_000 && rawMs <= PROXY_IDLE_MS + 5_000, `the idle raw WebSocket was closed after ${rawMs} ms, expected about ${PROXY_IDLE_MS} ms`);
  });
});
