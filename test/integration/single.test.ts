import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { gotoResilient, launchBrowser } from "../../harness/browser";
import {
  chunkedBodies,
  broadcastAndHistory,
  checkCommandPasses,
  onlyPublicPortsPublished,
  pollingManyRoundTrips,
  splitPortOrigins,
  upgradesToWebsocket,
  websocketOnlyRoundTrip,
} from "./checks";
import { ARTIFACTS, useTopology } from "./helpers";

describe("single: one Socket.IO server on the http port", function () {
  const topology = useTopology("single");

  it("(1) a websocket-only client connects and round-trips events", async function () {
    await websocketOnlyRoundTrip(topology.t);
  });

  it("(2) polling-only clients round-trip 50 events each, no Session ID unknown", async function () {
    await pollingManyRoundTrips(topology.t);
  });

  it("(3) a default client starts on polling and upgrades to websocket", async function () {
    await upgradesToWebsocket(topology.t);
  });

  it("(4) publishes only the http port (no second stack here)", async function () {
    assert.equal(topology.t.model.app, null);
    await onlyPublicPortsPublished(topology.t);
  });

  it("(9) chunked bodies: an Engine.IO POST under the limit gets 200, over it 413; a chunked upload reaches the second stack intact", async function () {
    await chunkedBodies(topology.t);
  });

  it("(5) `realtime-kit check --no-app` passes against the published URL", async function () {
    await checkCommandPasses(topology);
  });

  it("(6) broadcast reaches the other client; a late joiner gets the history", async function () {
    await broadcastAndHistory(topology.t);
  });
});

describe("single with the split-port option (ports.realtime)", function () {
  const topology = useTopology("single", ["ports.realtime=auto"]);

  it("(12) the page's origin talks to the realtime port; a foreign Origin is refused (403)", async function () {
    await splitPortOrigins(topology.t);
  });

  it("(1) a websocket-only client round-trips on the realtime port", async function () {
    await websocketOnlyRoundTrip(topology.t, topology.t.urls.realtimePort!);
  });

  it("(9) chunked bodies: an Engine.IO POST under the limit gets 200, over it 413; a chunked upload reaches the second stack intact", async function () {
    await chunkedBodies(topology.t);
  });

  it("(5) `realtime-kit check --realtime-url` passes", async function () {
    await checkCommandPasses(topology, ["--realtime-url", topology.t.urls.realtimePort!]);
  });

  it("browser: the chat page on the http port connects to the realtime port and chats", async function () {
    const { browser, close } = await launchBrowser();
    try {
      const page = await browser.newPage();
      const requests: string[] = [];
      page.on("request", (request) => requests.push(request.url()));
      await gotoResilient(page, topology.t.urls.chat);
      await page.waitForSelector('#state[data-state="connected"]', { timeout: 20_000 });
      await page.waitForFunction(() => document.getElementById("transport")!.textContent === "websocket", undefined, { timeout: 15_000 });
      const text = `split-port hello ${Date.now()}`;
      await page.fill("#input", text);
      await page.click("#send");
      const mine = page.locator("#messages li.mine", { hasText: text });
      await mine.waitFor({ timeout: 10_000 });
      assert.match((await mine.locator(".meta").textContent()) ?? "", /via realtime-1 \(you\)/);
      // Socket.IO traffic went to the realtime port, the page to the http port.
      const realtimeOrigin = topology.t.urls.realtimePort!;
      assert.ok(requests.some((url) => url.startsWith(`${realtimeOrigin}/socket.io/`)), `no request to ${realtimeOrigin}/socket.io/: ${requests.join(" ")}`);
      assert.ok(!requests.some((url) => url.startsWith(`${topology.t.urls.http}/socket.io/?`)), "the page port was used for Socket.IO");
      fs.mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: path.join(ARTIFACTS, "split-port-chat.png") });
    } finally {
      await close();
    }
  });
});
