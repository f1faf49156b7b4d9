import assert from "node:assert/strict";
import path from "node:path";
import { runOneShot } from "../../driver/engine";
import { IMAGE_NAMES } from "../../model/layout";

const PROBE = path.join(__dirname, "probes", "handshake-requests.cjs");
const CLIENTS_PER_KIND = 20;

interface ProbeReport {
  upgrades: number;
  reachable: number;
  websocketSockets: number;
}

/** The probe in the realtime image: a Socket.IO server holding WebSocket clients, its upgrade requests counted after a GC. */
async function probe(mode: "release" | "first-request-only"): Promise<ProbeReport> {
  const { exitCode, output } = await runOneShot({
    image: `${IMAGE_NAMES.realtime}:latest`,
    cmd: ["node", "--expose-gc", "/tmp/handshake-requests.cjs", mode, String(CLIENTS_PER_KIND)],
    binds: [`${PROBE}:/tmp/handshake-requests.cjs:ro`],
    owner: "rk-test-memory-probe",
  });
  const line = output.split("\n").find((text) => text.startsWith("{"));
  assert.equal(exitCode, 0, `probe (${mode}) failed:\n${output}`);
  assert.ok(line, `probe (${mode}) printed no report:\n${output}`);
  return JSON.parse(line) as ProbeReport;
}

describe("realtime image: what an idle connection keeps", function () {
  this.timeout(120_000);

  it("a connected WebSocket keeps no HTTP request: fresh sessions and polling sessions upgraded alike", async () => {
    const report = await probe("release");
    assert.equal(report.websocketSockets, 2 * CLIENTS_PER_KIND, "every client ends on WebSocket");
    assert.equal(report.upgrades, 2 * CLIENTS_PER_KIND);
    assert.equal(report.reachable, 0, `${report.reachable} of ${report.upgrades} upgrade requests still reachable`);
  });

  it("(why the release exists) with only Socket.IO's documented advice, Engine.IO keeps every upgrade request", async () => {
    // If this starts failing, Engine.IO no longer holds them and releaseHandshakeRequests' second half can go.
    const report = await probe("first-request-only");
    assert.equal(report.upgrades, 2 * CLIENTS_PER_KIND);
    assert.equal(report.reachable, report.upgrades);
  });
});
