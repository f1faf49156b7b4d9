import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { gotoResilient, launchBrowser } from "../../harness/browser";
import { itChecks, onlyPublicPortsPublished } from "./checks";
import { ARTIFACTS, useTopology } from "./helpers";

describe("single: one Socket.IO server on the http port", function () {
  const topology = useTopology("single");

  itChecks(topology, ["websocketOnly", "polling", "upgrade"]);

  it("(4) publishes only the http port (no second stack here)", async function () {
    assert.equal(topology.t.model.app, null);
    await onlyPublicPortsPublished(topology.t);
  });

  itChecks(topology, ["chunked", ["checkCommand", "(5) `realtime-kit check --no-app` passes against the published URL"], "broadcast"]);
});

describe("single with the split-port option (ports.realtime)", function () {
  const topology = useTopology("single", ["ports.realtime=auto"]);

  itChecks(topology, ["splitPortOrigins", "websocketOnlyOnRealtimePort", "chunked", "checkCommandRealtimeUrl"]);

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
