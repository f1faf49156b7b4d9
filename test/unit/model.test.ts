import assert from "node:assert/strict";
import { createTestCertificates } from "../../driver/certs";
import fs from "node:fs";
import path from "node:path";
import { ConfigError } from "../../model/errors";
import { loadModel } from "../../model/load";
import { DEFAULT_STATIC_DIR, resolveModel } from "../../model/model";
import { useTempDir } from "../temp-dir";

const resolve = (input: unknown) => resolveModel(input, { baseDir: "/srv/project" });

/** Asserts `run` throws a ConfigError about `field` whose text matches `problem`. */
function assertBadInput(run: () => unknown, field: string, problem: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    assert.equal(error.field, field);
    assert.match(error.problem, problem);
    return true;
  });
}

describe("topology model", () => {
  describe("defaults", () => {
    it("single: one node, plain http on 80, same-origin CORS, no second stack or TLS", () => {
      const model = resolve({ topology: "single" });
      assert.equal(model.realtime.nodes, 1);
      assert.deepEqual(model.ports, { http: 80, realtime: null });
      assert.equal(model.app, null);
      assert.equal(model.tls, null);
      assert.deepEqual(model.cors.origins, ["http://localhost"]);
      assert.equal(model.realtime.adapter, "memory");
      assert.equal(model.realtime.pingIntervalMs + model.realtime.pingTimeoutMs, 45_000);
    });

    it("node-proxy: Node in front of one app node on port 3000", () => {
      const model = resolve({ topology: "node-proxy" });
      assert.equal(model.front, "node");
      assert.deepEqual(model.app, { nodes: 1, image: "realtime-kit/app:latest", port: 3000, healthPath: "/ping" });
    });

    it("ssl-split: stunnel TLS 1.2+, https page origin, the kit's static site", () => {
      const model = resolve({ topology: "ssl-split" });
      assert.equal(model.tls?.terminator, "stunnel");
      assert.equal(model.tls?.minVersion, "TLSv1.2");
      assert.deepEqual(model.cors.origins, ["https://localhost"]);
      assert.equal(model.staticDir, DEFAULT_STATIC_DIR);
      assert.equal(model.tls?.plainHttpRealtime, "redirect");
    });

    it("multi-node: 2 realtime + 2 app nodes, session stickiness, Redis adapter", () => {
      const model = resolve({ topology: "multi-node" });
      assert.equal(model.realtime.nodes, 2);
      assert.equal(model.app?.nodes, 2);
      assert.equal(model.realtime.stickiness, "session");
      assert.equal(model.realtime.adapter, "redis");
    });

    it("parses durations with units and keeps non-default ports in origins", () => {
      const model = resolve({ topology: "multi-node", ports: { https: 8443 }, timeouts: { tunnel: "2h", client: "90s" }, realtime: { pingInterval: "10s" } });
      assert.equal(model.timeouts.tunnelMs, 7_200_000);
      assert.equal(model.timeouts.clientMs, 90_000);
      assert.equal(model.realtime.pingIntervalMs, 10_000);
      assert.deepEqual(model.cors.origins, ["https://localhost:8443"]);
    });

    it("split-port: CORS allows only the page's origin, not the realtime port's", () => {
      const model = resolve({ topology: "single", ports: { http: 8080, realtime: 8081 } });
      assert.deepEqual(model.cors.origins, ["http://localhost:8080"]);
    });
  });

  describe("bad input names the field and what would be valid", () => {
    it("unknown topology", () => assertBadInput(() => resolve({ topology: "mesh" }), "topology", /expected one of "single", "node-proxy", "ssl-split", "multi-node" \(got "mesh"\)/));
    it("missing topology", () => assertBadInput(() => resolve({}), "topology", /is required/));
    it("two realtime nodes in single", () => assertBadInput(() => resolve({ topology: "single", realtime: { nodes: 2 } }), "realtime.nodes", /exactly 1 realtime node \(got 2\); use topology multi-node/));
    it("two app nodes in ssl-split", () => assertBadInput(() => resolve({ topology: "ssl-split", app: { nodes: 2 } }), "app.nodes", /exactly 1 app node/));
    it("zero nodes", () => assertBadInput(() => resolve({ topology: "multi-node", realtime: { nodes: 0 } }), "realtime.nodes", /at least 1 node/));
    it("fractional nodes", () => assertBadInput(() => resolve({ topology: "multi-node", app: { nodes: 1.5 } }), "app.nodes", /whole number/));
    it("port clash", () => assertBadInput(() => resolve({ topology: "multi-node", ports: { http: 8080, https: 8080 } }), "ports.https", /8080 is already used by ports.http/));
    it("split-port clash", () => assertBadInput(() => resolve({ topology: "single", ports: { realtime: 80 } }), "ports.realtime", /already used by ports.http/));
    it("trusted proxies with the Socket.IO server in front", () =>
      assertBadInput(() => resolve({ topology: "single", clientAddress: { trustedProxies: ["10.0.0.0/8"] } }), "clientAddress.trustedProxies", /no proxy to take the client's address from a header; use .*front: haproxy/));
    it("a trusted range that is every address", () =>
      assertBadInput(() => resolve({ topology: "multi-node", clientAddress: { trustedProxies: ["10.0.0.0/8", "0.0.0.0/0"] } }), "clientAddress.trustedProxies.1", /is every address/));
    it("a trusted range that is not one", () =>
      assertBadInput(() => resolve({ topology: "multi-node", clientAddress: { trustedProxies: ["10.0.0.0/33"] } }), "clientAddress.trustedProxies.0", /IPv4 address or range in CIDR form/));
    it("a client-address header without trusted proxies", () =>
      assertBadInput(() => resolve({ topology: "multi-node", clientAddress: { header: "CF-Connecting-IP" } }), "clientAddress.header", /without clientAddress.trustedProxies/));
    it("the PROXY protocol where stunnel receives https", () =>
      assertBadInput(() => resolve({ topology: "multi-node", clientAddress: { trustedProxies: ["10.0.0.0/8"], proxyProtocol: true } }), "clientAddress.proxyProtocol", /stunnel, which receives https, cannot read a PROXY header; set tls.terminator: haproxy/));
    it("the PROXY protocol where nginx has the http port", () =>
      assertBadInput(() => resolve({ topology: "ssl-split", tls: { terminator: "haproxy" }, clientAddress: { trustedProxies: ["10.0.0.0/8"], proxyProtocol: true } }), "clientAddress.proxyProtocol", /nginx's, which takes the PROXY protocol from every connection or none/));
    it("the PROXY protocol and a header at once", () =>
      assertBadInput(
        () => resolve({ topology: "multi-node", tls: { terminator: "haproxy" }, clientAddress: { trustedProxies: ["10.0.0.0/8"], proxyProtocol: true, header: "CF-Connecting-IP" } }),
        "clientAddress.header",
        /comes in the PROXY header, not in an HTTP header/,
      ));
    it("the PROXY protocol without trusted proxies", () => assertBadInput(() => resolve({ topology: "multi-node", clientAddress: { proxyProtocol: true } }), "clientAddress.proxyProtocol", /without clientAddress.trustedProxies/));
    it("Prometheus port clash", () =>
      assertBadInput(() => resolve({ topology: "multi-node", ports: { http: 9090 }, metrics: { prometheus: true } }), "metrics.port", /9090 is already used by ports.http; give Prometheus a port of its own/));
    it("admin UI port clash with a public port", () =>
      assertBadInput(() => resolve({ topology: "single", ports: { http: 9400 }, adminUi: { enabled: true } }), "adminUi.port", /9400 is already used by ports.http; give the admin UI a port of its own/));
    it("admin UI port clash with Prometheus", () =>
      assertBadInput(() => resolve({ topology: "multi-node", metrics: { prometheus: true, port: 9500 }, adminUi: { enabled: true, port: 9500 } }), "adminUi.port", /9500 is already used by metrics.port/));
    it("admin UI settings without the admin UI", () => assertBadInput(() => resolve({ topology: "single", adminUi: { readonly: false } }), "adminUi.readonly", /set adminUi.enabled: true, or remove it/));
    it("admin UI username with a space", () => assertBadInput(() => resolve({ topology: "single", adminUi: { enabled: true, username: "ops team" } }), "adminUi.username", /1-64 letters, digits/));
    it("Prometheus settings without Prometheus", () =>
      assertBadInput(() => resolve({ topology: "single", metrics: { scrapeInterval: "5s" } }), "metrics.scrapeInterval", /set metrics.prometheus: true .* or remove it/));
    it("scrape interval out of range", () =>
      assertBadInput(() => resolve({ topology: "single", metrics: { prometheus: true, scrapeInterval: "500ms" } }), "metrics.scrapeInterval", /duration from 1s to 5m/));
    it("retention too short", () => assertBadInput(() => resolve({ topology: "single", metrics: { prometheus: true, retention: "10m" } }), "metrics.retention", /duration from 1h to 3650d/));
    it("port out of range", () => assertBadInput(() => resolve({ topology: "single", ports: { http: 70000 } }), "ports.http", /1 to 65535 \(got 70000\)/));
    it("port as text", () => assertBadInput(() => resolve({ topology: "single", ports: { http: "eighty" } }), "ports.http", /port number/));
    it("option that does not fit: stickiness in single", () =>
      assertBadInput(() => resolve({ topology: "single", realtime: { stickiness: "cookie" } }), "realtime.stickiness", /does not apply to topology single.*multi-node/));
    it("option that does not fit: tls in node-proxy", () => assertBadInput(() => resolve({ topology: "node-proxy", tls: { terminator: "haproxy" } }), "tls", /does not apply to topology node-proxy/));
    it("option that does not fit: split port with TLS", () => assertBadInput(() => resolve({ topology: "multi-node", ports: { realtime: 9000 } }), "ports.realtime", /single and node-proxy/));
    it("option that does not fit: app in single", () => assertBadInput(() => resolve({ topology: "single", app: { port: 4000 } }), "app", /single has no second stack/));
    it("unknown option", () => assertBadInput(() => resolve({ topology: "single", realtime: { nodez: 1 } }), "realtime.nodez", /unknown option nodez/));
    it("bad enum value", () => assertBadInput(() => resolve({ topology: "multi-node", realtime: { stickiness: "ip" } }), "realtime.stickiness", /expected one of "session", "source", "cookie" \(got "ip"\)/));
    it("malformed duration", () => assertBadInput(() => resolve({ topology: "single", timeouts: { client: "60 seconds" } }), "timeouts.client", /expected a duration from 100ms to 24d, such as "500ms"/));
    it("proxy timeout shorter than the Socket.IO heartbeat", () =>
      assertBadInput(() => resolve({ topology: "ssl-split", timeouts: { proxyRead: "30s" } }), "timeouts.proxyRead", /30s would cut idle Socket.IO connections: it must exceed .* = 45s/));
    it("heartbeat raised above the default proxy timeouts", () =>
      assertBadInput(() => resolve({ topology: "single", realtime: { pingInterval: "50s" } }), "timeouts.client", /must exceed .* = 1m10s|must exceed .* = 70s/));
    it("CORS wildcard", () => assertBadInput(() => resolve({ topology: "single", cors: { origins: ["*"] } }), "cors.origins.0", /never \*/));
    it("hostname with scheme", () => assertBadInput(() => resolve({ topology: "single", hostname: "https://chat.example.com" }), "hostname", /no scheme, no port/));
    it("cert without key", () => assertBadInput(() => resolve({ topology: "ssl-split", tls: { certFile: "cert.pem" } }), "tls.keyFile", /go together/));
    it("connection state recovery with the plain Redis adapter", () =>
      assertBadInput(() => resolve({ topology: "multi-node", realtime: { connectionStateRecovery: true } }), "realtime.connectionStateRecovery", /redis-streams/));
  });

  describe("loading from files and --set", () => {
    const dir = useTempDir("rk-model-", "test");

    it("reads YAML, applies --set on top, resolves paths against the config file", async () => {
      const pair = await createTestCertificates(["localhost"]);
      fs.writeFileSync(path.join(dir(), "cert.pem"), pair.cert);
      fs.writeFileSync(path.join(dir(), "key.pem"), pair.key);
      const file = path.join(dir(), "deploy.yaml");
      fs.writeFileSync(file, "topology: multi-node\nrealtime:\n  nodes: 3\ntls:\n  certFile: cert.pem\n  keyFile: key.pem\n");
      const model = loadModel({ configFile: file, sets: ["app.nodes=4", "realtime.stickiness=cookie"], cwd: "/" });
      assert.equal(model.realtime.nodes, 3);
      assert.equal(model.app?.nodes, 4);
      assert.equal(model.realtime.stickiness, "cookie");
      assert.equal(model.tls?.certFile, path.join(dir(), "cert.pem"));
    });

    it("reads JSON", () => {
      const file = path.join(dir(), "deploy.json");
      fs.writeFileSync(file, JSON.stringify({ topology: "node-proxy", front: "haproxy" }));
      assert.equal(loadModel({ configFile: file }).front, "haproxy");
    });

    it("malformed YAML names the file", () => {
      const file = path.join(dir(), "bad.yaml");
      fs.writeFileSync(file, "topology: [single\n");
      assertBadInput(() => loadModel({ configFile: file }), "--config", /bad.yaml is not valid YAML/);
    });

    it("malformed JSON names the file", () => {
      const file = path.join(dir(), "bad.json");
      fs.writeFileSync(file, "{topology: single}");
      assertBadInput(() => loadModel({ configFile: file }), "--config", /bad.json is not valid JSON/);
    });

    it("a config file that is not a mapping", () => {
      const file = path.join(dir(), "list.yaml");
      fs.writeFileSync(file, "- single\n");
      assertBadInput(() => loadModel({ configFile: file }), "--config", /mapping of options.*not a list/);
    });

    it("missing config file", () => assertBadInput(() => loadModel({ configFile: path.join(dir(), "nope.yaml") }), "--config", /cannot read .*nope.yaml \(ENOENT\)/));

    it("topology on the command line disagreeing with the file", () => {
      const file = path.join(dir(), "deploy.yaml");
      fs.writeFileSync(file, "topology: single\n");
      assertBadInput(() => loadModel({ topology: "multi-node", configFile: file }), "topology", /command line says multi-node but .* says single/);
    });

    it("malformed --set", () => assertBadInput(() => loadModel({ topology: "single", sets: ["realtime.nodes"] }), "--set", /not key=value/));
    it("--set values are typed", () => assertBadInput(() => loadModel({ topology: "single", sets: ["ports.http=http"] }), "ports.http", /port number/));

    it("missing certificate", () =>
      assertBadInput(
        () => loadModel({ topology: "ssl-split", sets: [`tls.certFile=${dir()}/none.pem`, `tls.keyFile=${dir()}/none.key`] }),
        "tls.certFile",
        /cannot read .*none.pem \(ENOENT\); give the path of a PEM certificate/,
      ));

    it("a certificate file that is not PEM", () => {
      fs.writeFileSync(path.join(dir(), "cert.pem"), "hello");
      fs.writeFileSync(path.join(dir(), "key.pem"), "-----BEGIN PRIVATE KEY-----\n");
      assertBadInput(() => loadModel({ topology: "multi-node", sets: [`tls.certFile=${dir()}/cert.pem`, `tls.keyFile=${dir()}/key.pem`] }), "tls.certFile", /not a PEM certificate/);
    });

    it("an unreadable key", function () {
      if (process.getuid?.() === 0) {
        // root reads any file regardless of mode; a folder in place of the key is unreadable for everyone.
        fs.mkdirSync(path.join(dir(), "key.pem"));
      } else {
        fs.writeFileSync(path.join(dir(), "key.pem"), "-----BEGIN PRIVATE KEY-----\n", { mode: 0 });
      }
      fs.writeFileSync(path.join(dir(), "cert.pem"), "-----BEGIN CERTIFICATE-----\n");
      assertBadInput(() => loadModel({ topology: "multi-node", sets: [`tls.certFile=${dir()}/cert.pem`, `tls.keyFile=${dir()}/key.pem`] }), "tls.keyFile", /cannot read .*key.pem/);
    });

    it("a static folder that does not exist", () => assertBadInput(() => loadModel({ topology: "ssl-split", sets: [`staticDir=${dir()}/nope`] }), "staticDir", /not a readable folder/));
  });
});
