import assert from "node:assert/strict";
import { planDeployment, type Deployment } from "../../render/deployment";
import { haproxyConfig } from "../../render/haproxy";
import { nginxConfig } from "../../render/nginx";
import { stunnelConfig } from "../../render/stunnel";
import { INTERNAL_PORTS } from "../../model/layout";
import { resolveModel } from "../../model/model";
import type { ConfigInput } from "../../model/schema";

const model = (input: ConfigInput) => resolveModel(input, { baseDir: "/srv" });
const plan = (input: ConfigInput): Deployment => planDeployment(model(input));
const lines = (text: string) => text.split("\n").map((line) => line.trim());
/** The block of a config section: from its header line up to the next blank line. */
function section(text: string, header: string): string {
  const start = text.indexOf(`\n${header}\n`);
  assert.ok(start >= 0, `no section "${header}"`);
  const end = text.indexOf("\n\n", start + 1);
  return text.slice(start + 1, end < 0 ? undefined : end);
}

describe("config generators", () => {
  describe("which files each topology needs", () => {
    const cases: [ConfigInput, string[]][] = [
      [{ topology: "single" }, ["README.md", "realtime.env"]],
      [{ topology: "node-proxy" }, ["README.md", "realtime.env"]],
      [{ topology: "node-proxy", front: "haproxy" }, ["README.md", "haproxy.cfg", "realtime.env"]],
      [{ topology: "ssl-split" }, ["README.md", "haproxy.cfg", "nginx.conf", "realtime.env", "stunnel.conf"]],
      [{ topology: "ssl-split", tls: { terminator: "haproxy" } }, ["README.md", "haproxy.cfg", "nginx.conf", "realtime.env"]],
      [{ topology: "multi-node" }, ["README.md", "haproxy.cfg", "realtime.env", "stunnel.conf"]],
      [{ topology: "multi-node", tls: { terminator: "haproxy" } }, ["README.md", "haproxy.cfg", "realtime.env"]],
    ];
    for (const [input, files] of cases) {
      it(`${JSON.stringify(input)} -> ${files.join(", ")}`, () => assert.deepEqual(Object.keys(plan(input).files).sort(), files));
    }
  });

  describe("HAProxy", () => {
    it("keeps upgraded WebSockets open past the heartbeat and starts before backends resolve", () => {
      const cfg = haproxyConfig(model({ topology: "multi-node" }));
      const defaults = lines(section(cfg, "defaults"));
      assert.ok(defaults.includes("timeout tunnel 1h"));
      assert.ok(defaults.includes("timeout client 1m") && defaults.includes("timeout server 1m"));
      assert.ok(defaults.some((line) => line.startsWith("default-server init-addr last,libc,none resolvers docker check")));
      assert.match(cfg, /nameserver dns 127\.0\.0\.11:53/);
    });

    it("session stickiness (the default): handshakes by least connections, every request with a sid to the node its id names", () => {
      const deployment = plan({ topology: "multi-node", realtime: { nodes: 3 } });
      const pool = lines(section(deployment.files["haproxy.cfg"]!, "backend realtime_pool"));
      assert.ok(pool.includes("balance leastconn"));
      assert.deepEqual(
        pool.filter((line) => line.startsWith("use-server")),
        ["use-server realtime-1 if { urlp(sid) -m beg realtime-1. }", "use-server realtime-2 if { urlp(sid) -m beg realtime-2. }", "use-server realtime-3 if { urlp(sid) -m beg realtime-3. }"],
      );
      assert.ok(!pool.some((line) => /^(cookie|stick|hash-type)/.test(line)), "no cookie, no stick table, no hash");
      const prefixes = deployment.services.filter((service) => service.role === "realtime").map((service) => [service.name, service.env.SESSION_ID_PREFIX]);
      assert.deepEqual(prefixes, [["realtime-1", "realtime-1"], ["realtime-2", "realtime-2"], ["realtime-3", "realtime-3"]], "each node prefixes its ids with its name");
    });

    it("with stunnel, takes the real client address from the PROXY protocol so source stickiness spreads clients", () => {
      const cfg = haproxyConfig(model({ topology: "multi-node", realtime: { stickiness: "source" } }));
      const https = lines(section(cfg, "frontend https_in"));
      assert.ok(https.includes(`bind :${INTERNAL_PORTS.haproxyFromTls} accept-proxy`));
      const pool = lines(section(cfg, "backend realtime_pool"));
      assert.ok(pool.includes("balance source"));
      assert.ok(pool.includes("hash-type consistent"));
      assert.ok(!pool.some((line) => line.startsWith("cookie")));
    });

    it("cookie stickiness uses the cookie the realtime server sets", () => {
      const deployment = plan({ topology: "multi-node", realtime: { stickiness: "cookie", cookieName: "rk", nodes: 3 } });
      const pool = lines(section(deployment.files["haproxy.cfg"]!, "backend realtime_pool"));
      assert.ok(pool.includes("cookie rk prefix nocache"));
      assert.deepEqual(
        pool.filter((line) => line.startsWith("server ")),
        [1, 2, 3].map((n) => `server realtime-${n} realtime-${n}:8080 observe layer4 error-limit 1 on-error sudden-death cookie realtime-${n}`),
      );
      const realtime = deployment.services.filter((service) => service.role === "realtime");
      assert.ok(realtime.every((service) => service.env.STICKY_COOKIE === "rk"));
    });

    it("health-checks every pool member on a real route and never cuts sessions on a check result", () => {
      const cfg = haproxyConfig(model({ topology: "multi-node", app: { healthPath: "/up" } }));
      const pool = lines(section(cfg, "backend realtime_pool"));
      assert.ok(pool.includes("http-check send meth GET uri /healthz"));
      // A dead node's connections end by themselves; cutting on "down" killed reconnects waiting for a redispatch.
      assert.ok(pool.filter((line) => line.startsWith("server ")).every((line) => !line.includes("shutdown-sessions")));
      const apps = lines(section(cfg, "backend app_pool"));
      assert.ok(apps.includes("http-check send meth GET uri /up"));
      assert.ok(apps.includes("balance roundrobin"));
    });

    it("checks the realtime health route a server of one's own names, and gives it to every node and app as HEALTH_PATH", () => {
      const custom = model({ topology: "multi-node", realtime: { healthPath: "/live" }, app: { healthPath: "/health" } });
      assert.ok(lines(section(haproxyConfig(custom), "backend realtime_pool")).includes("http-check send meth GET uri /live"));
      const services = planDeployment(custom).services;
      assert.ok(services.filter((service) => service.role === "realtime").every((service) => service.env.HEALTH_PATH === "/live"));
      assert.ok(services.filter((service) => service.role === "app").every((service) => service.env.HEALTH_PATH === "/health"));
    });

    it("fails over fast: a failed connection counts as a failed check, is retried elsewhere, and connects give up within a check interval", () => {
      const cfg = haproxyConfig(model({ topology: "multi-node", timeouts: { connect: "5s", healthCheckInterval: "1s" } }));
      for (const backend of ["backend realtime_pool", "backend app_pool"]) {
        const pool = lines(section(cfg, backend));
        assert.ok(pool.includes("timeout connect 1s"), `${backend}: ${pool.join(" | ")}`);
        assert.ok(pool.filter((line) => line.startsWith("server ")).every((line) => line.includes("observe layer4 error-limit 1 on-error sudden-death")), backend);
      }
      assert.ok(lines(section(cfg, "backend realtime_pool")).includes("retry-on conn-failure empty-response 503"));
      assert.ok(lines(section(cfg, "defaults")).includes("option redispatch 1"));
      // A check interval longer than the connect timeout leaves the connect timeout alone.
      const slow = haproxyConfig(model({ topology: "multi-node", timeouts: { connect: "2s", healthCheckInterval: "3s" } }));
      assert.ok(!lines(section(slow, "backend realtime_pool")).some((line) => line.startsWith("timeout connect")));
    });

    it("does not take a slow but live member out: a check gets 3 intervals to answer once connected, 2 failures in a row to count", () => {
      const cfg = haproxyConfig(model({ topology: "multi-node", timeouts: { connect: "5s", healthCheckInterval: "1s" } }));
      const defaults = lines(section(cfg, "defaults"));
      assert.ok(defaults.includes("timeout check 3s"), defaults.join(" | "));
      assert.ok(defaults.some((line) => line.startsWith("default-server ") && line.includes("check inter 1s fastinter 250ms fall 2 rise 2")), defaults.join(" | "));
      const slow = haproxyConfig(model({ topology: "multi-node", timeouts: { connect: "2s", healthCheckInterval: "3s" } }));
      assert.ok(lines(section(slow, "defaults")).includes("timeout check 9s"));
    });

    it("native TLS binds with the certificate, TLS 1.2+, HSTS, and drops root", () => {
      const cfg = haproxyConfig(model({ topology: "multi-node", tls: { terminator: "haproxy" }, ports: { https: 8443 } }));
      assert.match(cfg, /bind :8443 ssl crt \/etc\/realtime-kit\/tls\/server\.pem alpn http\/1\.1/);
      assert.match(cfg, /ssl-default-bind-options ssl-min-ver TLSv1\.2 no-tls-tickets/);
      assert.match(cfg, /Strict-Transport-Security "max-age=15552000"/);
      assert.match(section(cfg, "global"), /user haproxy\n.*group haproxy/s);
      assert.doesNotMatch(cfg, /accept-proxy/);
    });

    it("plain-http realtime traffic is redirected to the https port, or refused", () => {
      const redirect = haproxyConfig(model({ topology: "multi-node", ports: { https: 8443 } }));
      assert.match(section(redirect, "frontend http_in"), /redirect location https:\/\/localhost:8443%\[capture\.req\.uri\] code 308 if is_realtime/);
      const refuse = haproxyConfig(model({ topology: "multi-node", plainHttpRealtime: "refuse" }));
      assert.match(section(refuse, "frontend http_in"), /return status 403 .* if is_realtime/);
      assert.doesNotMatch(section(refuse, "frontend http_in"), /use_backend realtime_pool/);
    });

    it("node-proxy with HAProxy in front routes realtime paths to Node and the rest to the second stack", () => {
      const http = section(haproxyConfig(model({ topology: "node-proxy", front: "haproxy" })), "frontend http_in");
      assert.match(http, /acl is_realtime path_beg \/socket\.io\//);
      assert.match(http, /use_backend realtime_pool if is_realtime \|\| is_chat_page/);
      assert.match(http, /default_backend app_pool/);
    });

    it("split-port behind HAProxy: realtime only on its own port, the page on the main one", () => {
      const cfg = haproxyConfig(model({ topology: "node-proxy", front: "haproxy", ports: { realtime: 8081 } }));
      assert.match(section(cfg, "frontend http_in"), /return status 404 if is_realtime/);
      assert.match(section(cfg, "frontend realtime_split"), /return status 404 unless is_realtime/);
    });

    it("limits connection rate per client and body size", () => {
      const cfg = haproxyConfig(model({ topology: "multi-node", limits: { connectionRatePerClient: 50, maxMessageBytes: 2048 } }));
      assert.match(section(cfg, "frontend https_in"), /reject if \{ sc0_conn_rate gt 50 \}/);
      assert.match(section(cfg, "frontend https_in"), /deny_status 413 if \{ req\.hdr_val\(content-length\) gt 2048 \}/);
    });

    it("explains non-obvious directives with comments", () => {
      for (const [stickiness, directives] of [
        ["source", ["bind :4000 accept-proxy", "balance source", "timeout tunnel", "default-server init-addr", "retry-on conn-failure"]],
        ["session", ["balance leastconn", "use-server realtime-1 if", "timeout check"]],
      ] as const) {
        const cfgLines = haproxyConfig(model({ topology: "multi-node", realtime: { stickiness } })).split("\n");
        for (const directive of directives) {
          // The directive itself (a line that is not a comment), then the comment lines right above it.
          const index = cfgLines.findIndex((line) => !line.trim().startsWith("#") && line.trim().startsWith(directive));
          assert.ok(index > 0, `${stickiness}: no ${directive} directive`);
          assert.ok(cfgLines[index - 1]!.trim().startsWith("#"), `${stickiness}: no comment right above ${directive}`);
        }
      }
    });

    it("a directive left out on purpose is explained where it would be (no on-marked-down shutdown-sessions)", () => {
      const cfg = haproxyConfig(model({ topology: "multi-node" }));
      assert.ok(!cfg.split("\n").some((line) => !line.trim().startsWith("#") && line.includes("on-marked-down")), "on-marked-down is not set");
      assert.match(cfg, /# No on-marked-down shutdown-sessions: /);
    });
  });

  describe("nginx", () => {
    const cfg = nginxConfig(model({ topology: "ssl-split", ports: { https: 8443 } }));

    it("passes WebSocket upgrades to the second stack with HTTP/1.1 and the Upgrade/Connection mapping", () => {
      assert.match(cfg, /map \$http_upgrade \$connection_upgrade \{\s+default upgrade;\s+'' close;\s+\}/);
      assert.equal(cfg.match(/proxy_http_version 1\.1;/g)?.length, 2);
      assert.equal(cfg.match(/proxy_set_header Connection \$connection_upgrade;/g)?.length, 2);
    });

    it("never cuts idle upgraded connections before Socket.IO's heartbeat", () => {
      assert.match(cfg, /proxy_read_timeout 1m;/);
    });

    it("serves static assets itself and resolves the second stack at request time", () => {
      assert.match(cfg, /location \/static\/ \{\s+alias \/srv\/static\/;/);
      assert.match(cfg, /resolver 127\.0\.0\.11/);
      assert.match(cfg, /set \$app_upstream http:\/\/app-1:3000;/);
    });

    it("sends plain-http realtime requests to https on the public listener only", () => {
      const [publicServer, internalServer] = cfg.split(/\n {4}server \{/).slice(1);
      assert.match(publicServer!, /location \/socket\.io\/ \{[^}]*return 308 https:\/\/localhost:8443\$request_uri;/);
      assert.doesNotMatch(internalServer!, /socket\.io/);
      assert.match(internalServer!, /listen 8082;/);
    });
  });

  describe("stunnel", () => {
    const cfg = stunnelConfig(model({ topology: "multi-node" }));
    it("hands decrypted traffic to HAProxy with the client's address (PROXY protocol)", () => {
      assert.ok(lines(cfg).includes("protocol = proxy"));
      assert.ok(lines(cfg).includes(`connect = haproxy:${INTERNAL_PORTS.haproxyFromTls}`));
      assert.ok(lines(cfg).includes("delay = yes"));
    });
    it("accepts TLS 1.2+ only and drops root after reading the key", () => {
      assert.ok(lines(cfg).includes("sslVersionMin = TLSv1.2"));
      assert.ok(lines(cfg).includes("setuid = stunnel4"));
    });
    it("is not generated where it is not needed", () => {
      assert.throws(() => stunnelConfig(model({ topology: "multi-node", tls: { terminator: "haproxy" } })), /does not run stunnel/);
    });
  });

  describe("deployment plan", () => {
    it("publishes only the public entry ports; the second stack and Redis publish nothing", () => {
      for (const input of [
        { topology: "single" },
        { topology: "node-proxy" },
        { topology: "node-proxy", front: "haproxy", ports: { realtime: 9000 } },
        { topology: "ssl-split" },
        { topology: "multi-node" },
        { topology: "multi-node", tls: { terminator: "haproxy" } },
      ] as ConfigInput[]) {
        const deployment = plan(input);
        const published = deployment.services.flatMap((service) => service.publish.map((p) => `${service.role}:${p.name}:${p.hostPort}`)).sort();
        const m = deployment.model;
        const expected = [`${m.topology === "single" || m.front === "node" ? "realtime" : m.topology === "ssl-split" ? "nginx" : "haproxy"}:http:${m.ports.http}`];
        if (m.tls) expected.push(`${m.tls.terminator}:https:${m.tls.httpsPort}`);
        if (m.ports.realtime) expected.push(`${m.front === "haproxy" ? "haproxy" : "realtime"}:realtime:${m.ports.realtime}`);
        assert.deepEqual(published, expected.sort(), JSON.stringify(input));
        for (const service of deployment.services.filter((s) => s.role === "app" || s.role === "redis")) assert.deepEqual(service.publish, []);
      }
    });

    it("admin UI: every realtime node is instrumented; realtime-1 alone publishes its admin listener, on 127.0.0.1", () => {
      const deployment = plan({ topology: "multi-node", adminUi: { enabled: true, port: 9411, username: "ops", readonly: false } });
      const nodes = deployment.services.filter((s) => s.role === "realtime");
      for (const node of nodes) assert.deepEqual([node.env.ADMIN_UI_PORT, node.env.ADMIN_UI_USERNAME, node.env.ADMIN_UI_READONLY], [String(INTERNAL_PORTS.adminUi), "ops", "0"], node.name);
      assert.ok(nodes.every((node) => node.env.ADMIN_UI_PASSWORD_HASH === undefined), "the hash is a secret added at deploy time, never in the plan");
      assert.deepEqual(
        deployment.services.flatMap((s) => s.publish.filter((p) => p.name === "admin-ui").map((p) => [s.name, p.hostIp, p.hostPort, p.containerPort])),
        [["realtime-1", "127.0.0.1", 9411, INTERNAL_PORTS.adminUi]],
      );
      assert.deepEqual(deployment.entrypoints.filter((e) => e.name === "admin-ui").map((e) => e.url), ["http://127.0.0.1:9411/"]);
      assert.ok(plan({ topology: "multi-node" }).services.every((s) => s.env.ADMIN_UI_PORT === undefined && s.publish.every((p) => p.name !== "admin-ui")), "off by default");
    });

    it("starts dependencies first and gives each node its id", () => {
      const deployment = plan({ topology: "multi-node", realtime: { nodes: 3 } });
      assert.deepEqual(
        deployment.services.map((service) => service.name),
        ["redis", "app-1", "app-2", "realtime-1", "realtime-2", "realtime-3", "haproxy", "stunnel"],
      );
      assert.deepEqual(
        deployment.services.filter((s) => s.role === "realtime").map((s) => [s.env.NODE_ID, s.env.REDIS_URL]),
        [1, 2, 3].map((n) => [`realtime-${n}`, "redis://redis:6379"]),
      );
    });

    it("TLS terminators mount the key and start as root; nothing else does", () => {
      const deployment = plan({ topology: "multi-node" });
      assert.deepEqual(
        deployment.services.filter((s) => s.mountsTls).map((s) => [s.name, s.user]),
        [["stunnel", "root"]],
      );
      assert.ok(deployment.services.filter((s) => !s.mountsTls).every((s) => s.user === null));
    });

    it("node-proxy: Node forwards to the second stack, which is only reachable inside the network", () => {
      const deployment = plan({ topology: "node-proxy", app: { port: 4567 } });
      const realtime = deployment.services.find((s) => s.role === "realtime")!;
      assert.equal(realtime.env.APP_UPSTREAM, "http://app-1:4567");
      assert.equal(deployment.services.find((s) => s.role === "app")!.env.PORT, "4567");
    });

    it("the node limits each address's connection rate only where it is the front door", () => {
      const rateOf = (config: ConfigInput) => plan(config).services.find((s) => s.role === "realtime")!.env.CONNECTION_RATE_PER_CLIENT;
      assert.equal(rateOf({ topology: "single", limits: { connectionRatePerClient: 40 } }), "40");
      assert.equal(rateOf({ topology: "node-proxy" }), "500");
      assert.equal(rateOf({ topology: "node-proxy", front: "haproxy" }), undefined);
      assert.equal(rateOf({ topology: "ssl-split" }), undefined);
      assert.equal(rateOf({ topology: "multi-node" }), undefined);
    });

    it("split-port in front: the node splits its own ports and tells the page where to connect", () => {
      const deployment = plan({ topology: "single", ports: { http: 8080, realtime: 8081 } });
      const realtime = deployment.services[0]!;
      assert.equal(realtime.env.REALTIME_PORT, String(INTERNAL_PORTS.realtimeSplit));
      assert.equal(realtime.env.PUBLIC_REALTIME_PORT, "8081");
      assert.equal(realtime.env.CORS_ORIGINS, "http://localhost:8080");
      assert.deepEqual(
        deployment.entrypoints.map((e) => e.url),
        ["http://localhost:8080/chat/", "http://localhost:8081"],
      );
    });

    it("writes a README saying what runs where", () => {
      const readme = plan({ topology: "ssl-split" }).files["README.md"]!;
      assert.match(readme, /^# realtime-kit: ssl-split/);
      assert.match(readme, /\| stunnel \| realtime-kit\/stunnel:latest \| 8443 \| 443 -> 8443 \(https\)/);
      assert.match(readme, /\| app-1 \| realtime-kit\/app:latest \| 3000 \| nothing \|/);
    });
  });
});
