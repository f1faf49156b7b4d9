/**
 * Configurations whose generated files are kept in test/unit/generated/<case>/: every topology,
 * each TLS terminator and stickiness mode, split ports, several hosts, and non-default values
 * everywhere a value reaches a file. generated-files.test.ts compares the generators' output with
 * them byte for byte, so a refactoring that changes a file shows up as a diff.
 */
export const GENERATED_CASES: Record<string, Record<string, unknown>> = {
  "single": { topology: "single" },
  "single-prometheus": { topology: "single", metrics: { prometheus: true, port: 9191, scrapeInterval: "5s", retention: "2d" } },
  "single-split-port": { topology: "single", ports: { http: 8080, realtime: 8090 }, hostname: "chat.example.com" },
  "node-proxy": { topology: "node-proxy" },
  "node-proxy-haproxy-split": { topology: "node-proxy", front: "haproxy", ports: { http: 8080, realtime: 8090 }, app: { port: 4000, healthPath: "/up?deep=1" } },
  "ssl-split-stunnel": { topology: "ssl-split" },
  "ssl-split-behind-cdn": { topology: "ssl-split", clientAddress: { trustedProxies: ["173.245.48.0/20", "103.21.244.0/22"], header: "CF-Connecting-IP" } },
  "ssl-split-haproxy-tls": { topology: "ssl-split", tls: { terminator: "haproxy", minVersion: "TLSv1.3", hstsMaxAge: "365d" }, plainHttpRealtime: "refuse", ports: { http: 8080, https: 8443 } },
  "multi-node": { topology: "multi-node" },
  "multi-node-source-stunnel": { topology: "multi-node", realtime: { stickiness: "source", nodes: 3 }, app: { nodes: 3 } },
  "multi-node-behind-proxy-protocol-balancer": { topology: "multi-node", tls: { terminator: "haproxy" }, clientAddress: { trustedProxies: ["10.0.0.0/16"], proxyProtocol: true } },
  "multi-node-behind-load-balancer": { topology: "multi-node", realtime: { stickiness: "source" }, clientAddress: { trustedProxies: ["10.0.0.0/16"] } },
  "multi-node-cookie-haproxy": {
    topology: "multi-node",
    tls: { terminator: "haproxy" },
    realtime: { stickiness: "cookie", cookieName: "rk", adapter: "redis-streams", connectionStateRecovery: true, pingInterval: "10s", pingTimeout: "5s" },
    timeouts: { connect: "2s", client: "30s", server: "30s", tunnel: "2h", proxyRead: "45s", healthCheckInterval: "500ms" },
    cors: { origins: ["https://chat.example.com", "http://localhost:3000"] },
    limits: { maxMessageBytes: 2048, maxConnections: 5000, connectionRatePerClient: 50 },
  },
  "multi-node-hosts": {
    topology: "multi-node",
    hosts: [
      { name: "edge", docker: "unix:///var/run/docker.sock", address: "10.0.0.11" },
      { name: "b", docker: "ssh://deploy@10.0.0.12", address: "10.0.0.12" },
      { name: "c", docker: "ssh://deploy@10.0.0.13", address: "10.0.0.13" },
    ],
    realtime: { nodes: 3, hosts: ["edge", "b"] },
    app: { nodes: 2, hosts: ["b", "c"] },
    metrics: { prometheus: true },
  },
};
