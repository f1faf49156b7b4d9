import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { planDeployment } from "../../render/deployment";
import { validateDirectory } from "../../driver/validate";
import { resolveModel } from "../../model/model";
import type { ConfigInput } from "../../model/schema";
import { useTempDir } from "../temp-dir";

/**
 * Every topology and a matrix of option combinations, checked by the real programs in the kit's
 * images: haproxy -c, nginx -t, a real stunnel start and promtool check config. A warning counts
 * as a failure.
 */
const MATRIX: ConfigInput[] = [
  { topology: "single" },
  { topology: "node-proxy", front: "haproxy" },
  { topology: "node-proxy", front: "haproxy", ports: { realtime: 8081 } },
  { topology: "ssl-split" },
  { topology: "ssl-split", tls: { terminator: "haproxy", minVersion: "TLSv1.3" } },
  { topology: "ssl-split", plainHttpRealtime: "refuse", ports: { https: 8443 }, app: { port: 4567, healthPath: "/up" } },
  { topology: "single", metrics: { prometheus: true, scrapeInterval: "5m", retention: "1h" } },
  { topology: "multi-node" },
  { topology: "multi-node", realtime: { stickiness: "source" }, clientAddress: { trustedProxies: ["10.0.0.0/16", "192.0.2.7"] } },
  { topology: "ssl-split", tls: { terminator: "haproxy" }, clientAddress: { trustedProxies: ["173.245.48.0/20"], header: "CF-Connecting-IP" } },
  { topology: "multi-node", tls: { terminator: "haproxy" }, clientAddress: { trustedProxies: ["10.0.0.0/16"], proxyProtocol: true } },
  { topology: "node-proxy", front: "haproxy", ports: { realtime: 8081 }, clientAddress: { trustedProxies: ["10.0.0.0/16"], proxyProtocol: true } },
  { topology: "multi-node", realtime: { stickiness: "cookie", nodes: 4 }, app: { nodes: 3 }, metrics: { prometheus: true, scrapeInterval: "1s" } },
  { topology: "multi-node", tls: { terminator: "haproxy" }, realtime: { stickiness: "cookie", cookieName: "rk_node" } },
  { topology: "multi-node", tls: { terminator: "haproxy" }, plainHttpRealtime: "refuse", realtime: { nodes: 1 } },
  {
    topology: "multi-node",
    realtime: { nodes: 8, pingInterval: "10s", pingTimeout: "5s", adapter: "redis-streams", connectionStateRecovery: true },
    timeouts: { client: "20s", server: "20s", tunnel: "30m", connect: "500ms", healthCheckInterval: "1s" },
    limits: { maxConnections: 200000, connectionRatePerClient: 20, maxMessageBytes: 65536 },
    hostname: "chat.example.com",
  },
  {
    topology: "multi-node",
    hosts: [
      { name: "edge", docker: "unix:///var/run/docker.sock", address: "10.0.0.11" },
      { name: "node2", docker: "ssh://deploy@10.0.0.12", address: "10.0.0.12" },
    ],
    realtime: { nodes: 3, hosts: ["edge", "node2"], stickiness: "cookie" },
    app: { nodes: 2, hosts: ["node2"] },
    timeouts: { healthCheckInterval: "500ms" },
    metrics: { prometheus: true },
  },
];

describe("generated configs pass the real programs' checks", function () {
  this.timeout(180_000);
  const root = useTempDir("rk-validate-", "describe");

  for (const [index, input] of MATRIX.entries()) {
    it(JSON.stringify(input), async () => {
      const deployment = planDeployment(resolveModel(input, { baseDir: root() }));
      const dir = path.join(root(), String(index));
      fs.mkdirSync(dir);
      for (const [name, text] of Object.entries(deployment.files)) fs.writeFileSync(path.join(dir, name), text!);
      const results = await validateDirectory(dir);
      const expected = ["haproxy.cfg", "nginx.conf", "stunnel.conf", "prometheus.yml"].filter((file) => file in deployment.files);
      assert.deepEqual(results.map((result) => result.file), expected);
      for (const result of results) assert.ok(result.ok, `${result.file} (${result.program}):\n${result.output}`);
    });
  }

  it("catches a broken config (the check can fail)", async () => {
    const dir = path.join(root(), "broken");
    fs.mkdirSync(dir);
    const deployment = planDeployment(resolveModel({ topology: "ssl-split", metrics: { prometheus: true, scrapeInterval: "5s" } }, { baseDir: root() }));
    fs.writeFileSync(path.join(dir, "haproxy.cfg"), deployment.files["haproxy.cfg"]!.replace("balance source", "balance sourcery"));
    // A scrape timeout above the interval: valid YAML, refused by Prometheus.
    fs.writeFileSync(path.join(dir, "prometheus.yml"), deployment.files["prometheus.yml"]!.replace("scrape_timeout: 5s", "scrape_timeout: 6s"));
    fs.writeFileSync(path.join(dir, "nginx.conf"), deployment.files["nginx.conf"]!.replace("proxy_http_version 1.1;", "proxy_http_version 1.1"));
    fs.writeFileSync(path.join(dir, "stunnel.conf"), deployment.files["stunnel.conf"]!.replace("sslVersionMin = TLSv1.2", "sslVersionMin = TLSv9"));
    const results = await validateDirectory(dir);
    assert.deepEqual(results.map((result) => [result.file, result.ok]), [["haproxy.cfg", false], ["nginx.conf", false], ["stunnel.conf", false], ["prometheus.yml", false]]);
  });

  it("treats a warning as a failure", async () => {
    const dir = path.join(root(), "warning");
    fs.mkdirSync(dir);
    const deployment = planDeployment(resolveModel({ topology: "multi-node" }, { baseDir: root() }));
    // A server whose name does not resolve is accepted by haproxy -c, with a warning.
    fs.writeFileSync(path.join(dir, "haproxy.cfg"), deployment.files["haproxy.cfg"]!.replace("server app-2 app-2:3000", "server app-2 ghost.invalid:3000"));
    const [result] = await validateDirectory(dir);
    assert.equal(result!.ok, false, result!.output);
    assert.match(result!.output, /\[WARNING\]/);
  });
});
