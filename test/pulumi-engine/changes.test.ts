import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import tls from "node:tls";
import type { Socket } from "socket.io-client";
import { createTestCertificates, renewTestCertificate, type TestCertificates } from "../../driver/certs";
import { HaproxyRuntime } from "../../driver/haproxy-runtime";
import { httpRequest } from "../../driver/http";
import { freePorts } from "../../driver/ports";
import { request, whoami } from "../../driver/socket-client";
import { sleep, waitFor } from "../../driver/wait";
import { closeClients, connectedClient, measure } from "../integration/clients";
import { labelled, StackOnEngine, type UpResult } from "./stack";
import type { Step } from "./provider/engine";

/**
 * A second run of the Pulumi program after a change, applied like the first (ProviderEngine, not
 * `pulumi up`): only the seed that carries the changed files is replaced, the service keeps
 * running, and the image's watcher applies the new files. HAProxy and nginx reload without
 * dropping a connection; stunnel restarts (it cannot re-read a root-only key), which drops its
 * TLS connections; new static assets replace nginx.
 */

/** The resources a run replaced, created or deleted (the diff a `pulumi up` shows). */
function changed(steps: Step[]): string[] {
  return steps.filter((step) => step.op !== "same").map((step) => `${step.op} ${step.name}`).sort();
}

/** Host-side WebSocket clients that reconnect like a browser, with their disconnects and reconnects recorded. */
class Fleet {
  readonly disconnects: { at: number; reason: string }[] = [];
  readonly connects: number[] = [];
  constructor(readonly sockets: Socket[]) {
    for (const socket of sockets) {
      socket.on("disconnect", (reason) => this.disconnects.push({ at: Date.now(), reason }));
      socket.io.on("reconnect", () => this.connects.push(Date.now()));
    }
  }

  static async open(url: string, ca: string, count: number): Promise<Fleet> {
    const sockets = await Promise.all(Array.from({ length: count }, () => connectedClient({ url, ca, transports: ["websocket"], reconnection: true })));
    return new Fleet(sockets);
  }

  /** One echo round trip on every client (all must answer). */
  async echoAll(): Promise<void> {
    await Promise.all(this.sockets.map((socket) => request(socket, "echo", "after the change")));
  }
}

/** The SHA-256 fingerprint of the certificate an https port presents. */
function servedFingerprint(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: "localhost", port, servername: "localhost", ca }, () => {
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      socket.end();
      resolve(fingerprint);
    });
    socket.on("error", reject);
  });
}

function fingerprintOf(pem: string): string {
  return new crypto.X509Certificate(pem).fingerprint256;
}

interface Deployed {
  onEngine: StackOnEngine;
  up: UpResult;
  settings: Record<string, unknown>;
  certificates: TestCertificates;
}

async function deploy(config: Record<string, unknown>): Promise<Deployed> {
  const stack = `pe-${crypto.randomBytes(3).toString("hex")}`;
  const [http, https] = await freePorts(2);
  const settings = { ...config, ports: { http, https } };
  const probe = new StackOnEngine(stack);
  const terminators = probe.plan(settings).services.filter((service) => service.mountsTls).map((service) => service.name);
  const certificates = await createTestCertificates(["localhost", "127.0.0.1", ...terminators]);
  const onEngine = new StackOnEngine(stack, certificates.caCert);
  const up = await onEngine.up(settings, { tlsCert: certificates.cert, tlsKey: certificates.key });
  return { onEngine, up, settings, certificates };
}

async function teardown(deployed: Deployed | undefined): Promise<void> {
  await closeClients();
  if (!deployed) return;
  const { leftByDestroy } = await deployed.onEngine.destroy();
  assert.deepEqual(leftByDestroy, []);
  assert.deepEqual(await labelled(deployed.onEngine.stack), []);
}

describe("Pulumi program applied again after a change (the provider's Docker calls, not `pulumi up`)", function () {
  this.timeout(600_000);

  describe("multi-node, HAProxy TLS", () => {
    let d: Deployed;
    before(async () => {
      d = await deploy({ topology: "multi-node", tls: { terminator: "haproxy" } });
    });
    afterEach(closeClients);
    after(() => teardown(d));

    it("a changed haproxy.cfg replaces only HAProxy's seed; HAProxy reloads it with no WebSocket dropped", async () => {
      const t = d.up.topology;
      const fleet = await Fleet.open(t.urls.realtime, d.certificates.caCert, 6);
      const haproxy = await t.engineContainer("haproxy");
      const before = await haproxy.inspect();
      const runtime = new HaproxyRuntime(haproxy);
      const maxconn = Number((await runtime.info()).Maxconn) - 1000;
      const started = Date.now();
      const second = await d.onEngine.up({ ...d.settings, limits: { maxConnections: maxconn } }, { tlsCert: d.certificates.cert, tlsKey: d.certificates.key });
      assert.deepEqual(changed(second.steps), ["replace haproxy-config-seed"], "the diff is the seed that holds haproxy.cfg");
      await waitFor(async () => Number((await runtime.info()).Maxconn) === maxconn, { timeoutMs: 20_000, intervalMs: 200, what: "HAProxy to run the new configuration" });
      const liveMs = Date.now() - started;
      await sleep(2_000);
      await fleet.echoAll();
      assert.deepEqual(fleet.disconnects, [], "no established WebSocket dropped");
      const after = await haproxy.inspect();
      assert.equal(after.Id, before.Id, "the same HAProxy container");
      assert.equal(after.RestartCount, 0);
      assert.match(await t.logs("haproxy"), /reload-on-change: .* passed; sending SIGUSR2 to haproxy/);
      const newcomer = await connectedClient({ url: t.urls.realtime, ca: d.certificates.caCert, transports: ["websocket"] });
      assert.ok(t.realtimeNodes.includes((await whoami(newcomer)).node));
      measure("pulumi-engine.haproxy-config-change.live", liveMs, "ms", `second program run until HAProxy ran the new maxconn; ${fleet.sockets.length} WebSockets, ${fleet.disconnects.length} dropped`);
    });

    it("a renewed certificate replaces only HAProxy's seed; new handshakes get it, no WebSocket dropped", async () => {
      const t = d.up.topology;
      const fleet = await Fleet.open(t.urls.realtime, d.certificates.caCert, 6);
      const renewed = await renewTestCertificate(d.certificates, ["localhost", "127.0.0.1", "haproxy"]);
      const port = (d.settings.ports as { https: number }).https;
      assert.notEqual(await servedFingerprint(port, d.certificates.caCert), fingerprintOf(renewed.cert));
      const started = Date.now();
      const second = await d.onEngine.up({ ...d.settings, limits: { maxConnections: 8000 } }, { tlsCert: renewed.cert, tlsKey: renewed.key });
      assert.deepEqual(changed(second.steps), ["replace haproxy-config-seed"]);
      await waitFor(async () => (await servedFingerprint(port, d.certificates.caCert)) === fingerprintOf(renewed.cert), {
        timeoutMs: 20_000,
        intervalMs: 200,
        what: "HAProxy to serve the renewed certificate",
      });
      const liveMs = Date.now() - started;
      await sleep(2_000);
      await fleet.echoAll();
      assert.deepEqual(fleet.disconnects, [], "no established WebSocket dropped");
      d.certificates = renewed;
      measure("pulumi-engine.haproxy-certificate-renewal.live", liveMs, "ms", `until new handshakes got the renewed certificate; ${fleet.disconnects.length} of ${fleet.sockets.length} WebSockets dropped`);
    });
  });

  describe("ssl-split, stunnel", () => {
    let d: Deployed;
    before(async () => {
      d = await deploy({ topology: "ssl-split", tls: { terminator: "stunnel" } });
    });
    afterEach(closeClients);
    after(() => teardown(d));

    it("a renewed certificate replaces only stunnel's seed; stunnel restarts in its container, its clients reconnect", async () => {
      const t = d.up.topology;
      const fleet = await Fleet.open(t.urls.realtime, d.certificates.caCert, 6);
      const stunnel = await t.engineContainer("stunnel");
      const before = await stunnel.inspect();
      const renewed = await renewTestCertificate(d.certificates, ["localhost", "127.0.0.1", "stunnel"]);
      const port = (d.settings.ports as { https: number }).https;
      const started = Date.now();
      const second = await d.onEngine.up(d.settings, { tlsCert: renewed.cert, tlsKey: renewed.key });
      assert.deepEqual(changed(second.steps), ["replace stunnel-config-seed"]);
      await waitFor(async () => (await servedFingerprint(port, d.certificates.caCert).catch(() => "")) === fingerprintOf(renewed.cert), {
        timeoutMs: 30_000,
        intervalMs: 200,
        what: "stunnel to serve the renewed certificate",
      });
      const liveMs = Date.now() - started;
      await waitFor(() => fleet.sockets.every((socket) => socket.connected) && fleet.connects.length >= fleet.disconnects.length && fleet.disconnects.length > 0, {
        timeoutMs: 30_000,
        what: "every client back after stunnel's restart",
      });
      const backMs = Math.max(...fleet.connects) - Math.min(...fleet.disconnects.map((event) => event.at));
      await fleet.echoAll();
      d.certificates = renewed;
      const after = await stunnel.inspect();
      assert.equal(after.Id, before.Id, "the same stunnel container, restarted by its restart policy");
      assert.equal(after.RestartCount, 1);
      measure(
        "pulumi-engine.stunnel-certificate-renewal",
        backMs,
        "ms",
        `${fleet.disconnects.length} of ${fleet.sockets.length} WebSockets dropped and came back within this; renewed certificate served ${liveMs} ms after the run started`,
      );
    });

    it("a changed nginx.conf replaces only nginx's seed; nginx reloads with every request answered", async () => {
      const t = d.up.topology;
      const nginx = await t.engineContainer("nginx");
      const before = await nginx.inspect();
      let running = true;
      const statuses: number[] = [];
      const traffic = (async () => {
        while (running) {
          statuses.push((await httpRequest(`${t.urls.http}/ping`, { timeoutMs: 5_000 }).catch(() => ({ status: 0 }))).status);
          await sleep(50);
        }
      })();
      const second = await d.onEngine.up({ ...d.settings, timeouts: { proxyRead: "61s" } }, { tlsCert: d.certificates.cert, tlsKey: d.certificates.key });
      assert.deepEqual(changed(second.steps), ["replace nginx-config-seed"]);
      await waitFor(async () => /sending SIGHUP to nginx/.test(await t.logs("nginx")), { timeoutMs: 20_000, what: "nginx's watcher to reload it" });
      await sleep(2_000);
      running = false;
      await traffic;
      assert.equal((await nginx.inspect()).Id, before.Id, "the same nginx container");
      assert.deepEqual(statuses.filter((status) => status !== 200), [], `${statuses.length} requests through the reload`);
    });

    it("new static assets are a new volume and a new nginx container; the deleted file is gone", async () => {
      const t = d.up.topology;
      const folder = fs.mkdtempSync(path.join(os.tmpdir(), "rk-pe-static-"));
      let running = true;
      const statuses: { at: number; status: number }[] = [];
      const traffic = (async () => {
        while (running) {
          const status = (await httpRequest(`${t.urls.http}/ping`, { timeoutMs: 5_000 }).catch(() => ({ status: 0 }))).status;
          statuses.push({ at: Date.now(), status });
          await sleep(50);
        }
      })();
      try {
        fs.writeFileSync(path.join(folder, "release.txt"), "release 2\n");
        const second = await d.onEngine.up({ ...d.settings, timeouts: { proxyRead: "61s" }, staticDir: folder }, { tlsCert: d.certificates.cert, tlsKey: d.certificates.key });
        const diff = changed(second.steps);
        assert.ok(diff.includes("replace nginx"), `nginx replaced: ${diff.join(", ")}`);
        assert.ok(diff.some((step) => /^create nginx-static-[0-9a-f]{12}$/.test(step)) && diff.some((step) => /^delete nginx-static-[0-9a-f]{12}$/.test(step)), diff.join(", "));
        const served = await httpRequest(`${t.urls.http}/static/release.txt`);
        assert.equal(served.body, "release 2\n");
        assert.equal((await httpRequest(`${t.urls.http}/static/site.css`)).status, 404, "an asset no longer in the folder is not served");
      } finally {
        running = false;
        await traffic;
        fs.rmSync(folder, { recursive: true, force: true });
      }
      // The outage: the longest time between two answered requests (a request in flight while
      // nginx is away may wait, not fail, so counting failures alone would understate it).
      const answered = statuses.filter((entry) => entry.status === 200).map((entry) => entry.at);
      const outageMs = Math.max(...answered.slice(1).map((at, index) => at - answered[index]!));
      const failed = statuses.filter((entry) => entry.status !== 200);
      measure("pulumi-engine.static-assets-change.outage", outageMs, "ms", `longest time without an answered request while nginx was replaced; ${failed.length} of ${statuses.length} requests failed (one every 50 ms)`);
    });
  });
});

