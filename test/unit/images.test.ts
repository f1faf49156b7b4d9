import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { shellCommand } from "../../driver/health";
import { DEFAULT_HEALTH_PATH, isEchoPath, isOwnPath, isSocketIoPath } from "../../images/realtime/src/paths";
import { CONTAINER_PATHS, HEALTH_PATHS, INTERNAL_PORTS, REALTIME_ROUTES } from "../../model/layout";

const IMAGES = path.resolve(__dirname, "../../images");

/**
 * Each image folder is the build context of its image (the realtime image's is the repository
 * root, for server/, but it takes only its own folder's files besides), so the health-check
 * script is copied into every image that uses it. The copies must not drift apart.
 */
describe("images' health checks", () => {
  const folders = fs.readdirSync(IMAGES).filter((name) => fs.existsSync(path.join(IMAGES, name, "Dockerfile")));

  it("use one health-check script, identical in every image that copies it", () => {
    const users = folders.filter((name) => /COPY (images\/realtime\/)?healthcheck\.sh /.test(fs.readFileSync(path.join(IMAGES, name, "Dockerfile"), "utf8")));
    assert.deepEqual(users.sort(), ["app", "haproxy", "nginx", "prometheus", "realtime"]);
    const [first, ...rest] = users.map((name) => ({ name, text: fs.readFileSync(path.join(IMAGES, name, "healthcheck.sh"), "utf8") }));
    for (const other of rest) assert.equal(other.text, first!.text, `images/${other.name}/healthcheck.sh differs from images/${first!.name}/healthcheck.sh`);
  });

  it("the edge images and Prometheus share one reload-on-change.sh, identical in each, and run their program through it", () => {
    const users = folders.filter((name) => /COPY [^\n]*reload-on-change\.sh /.test(fs.readFileSync(path.join(IMAGES, name, "Dockerfile"), "utf8")));
    assert.deepEqual(users.sort(), ["haproxy", "nginx", "prometheus", "stunnel"]);
    const [first, ...rest] = users.map((name) => ({ name, text: fs.readFileSync(path.join(IMAGES, name, "reload-on-change.sh"), "utf8") }));
    for (const other of rest) assert.equal(other.text, first!.text, `images/${other.name}/reload-on-change.sh differs from images/${first!.name}/reload-on-change.sh`);
    for (const name of users) {
      assert.match(fs.readFileSync(path.join(IMAGES, name, "Dockerfile"), "utf8"), /^CMD \[[^\n]*"--", "bash", "\/usr\/local\/lib\/realtime-kit\/reload-on-change\.sh", "--signal"/m, `images/${name}: CMD`);
    }
  });

  it("every image runs its program under one run-with-json-logs, identical in each, as PID 1", () => {
    const texts = folders.map((name) => ({ name, text: fs.readFileSync(path.join(IMAGES, name, "run-with-json-logs"), "utf8") }));
    for (const other of texts.slice(1)) assert.equal(other.text, texts[0]!.text, `images/${other.name}/run-with-json-logs differs from images/${texts[0]!.name}/run-with-json-logs`);
    const runner = /"perl", "\/usr\/local\/lib\/realtime-kit\/run-with-json-logs", "--program", "\w+", "--"/;
    for (const name of folders) {
      const dockerfile = fs.readFileSync(path.join(IMAGES, name, "Dockerfile"), "utf8");
      assert.match(dockerfile, /^COPY [^\n]*run-with-json-logs /m, `images/${name}: COPY`);
      // Redis is started by its script, which execs the runner once the TLS key left the environment.
      const start = name === "redis" ? fs.readFileSync(path.join(IMAGES, name, "start-redis.sh"), "utf8") : /^CMD (.*)$/m.exec(dockerfile)?.[1] ?? "";
      assert.match(start, name === "redis" ? /^exec perl \/usr\/local\/lib\/realtime-kit\/run-with-json-logs --program redis -- redis-server /m : new RegExp(`^\\[${runner.source}`), `images/${name}: start`);
    }
  });

  it("start no interpreter per check (each check runs every few seconds on the serving machine)", () => {
    for (const name of folders) {
      const dockerfile = fs.readFileSync(path.join(IMAGES, name, "Dockerfile"), "utf8");
      const check = /^HEALTHCHECK[^\n]*\\\n\s*CMD (.*)$/m.exec(dockerfile)?.[1] ?? "";
      assert.ok(check, `images/${name}/Dockerfile has a HEALTHCHECK`);
      assert.doesNotMatch(check, /\b(node|ruby|python3?)\b/, `images/${name}: ${check}`);
    }
  });
});

describe("image health checks run from the harness", () => {
  it("turns an image's exec-form check into one shell command with the same arguments", () => {
    const args = ["bash", "-c", `printf '%s|' "$0" "$@"`, "it's", "a b", "$HOME"];
    const command = shellCommand(["CMD", ...args] as ["CMD", ...string[]]);
    const run = spawnSync("/bin/sh", ["-c", command], { encoding: "utf8" });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, "it's|a b|$HOME|");
    assert.equal(shellCommand(["CMD-SHELL", "exec true"]), "exec true");
  });
});

/**
 * The images are build contexts of their own and cannot import model/layout.ts, so the ports and
 * routes they write down again are checked against it here: the plan, the generators and the
 * images must agree on where each program listens and what it answers.
 */
describe("images agree with model/layout.ts", () => {
  const dockerfile = (name: string) => fs.readFileSync(path.join(IMAGES, name, "Dockerfile"), "utf8");
  const exposed = (name: string) => (/^EXPOSE (.*)$/m.exec(dockerfile(name))?.[1] ?? "").split(/\s+/).map(Number);
  const healthCheck = (name: string) => /^HEALTHCHECK[^\n]*\\\n\s*CMD (.*)$/m.exec(dockerfile(name))?.[1] ?? "";

  it("each image exposes the ports the plan connects to", () => {
    assert.deepEqual(exposed("realtime"), [INTERNAL_PORTS.realtime, INTERNAL_PORTS.realtimeMetrics]);
    assert.deepEqual(exposed("nginx"), [INTERNAL_PORTS.nginx]);
    assert.deepEqual(exposed("stunnel"), [INTERNAL_PORTS.stunnel]);
    assert.deepEqual(exposed("redis"), [INTERNAL_PORTS.redis, INTERNAL_PORTS.redisTls]);
    assert.deepEqual(exposed("prometheus"), [INTERNAL_PORTS.prometheus]);
    const haproxy = [INTERNAL_PORTS.haproxyHttp, INTERNAL_PORTS.haproxyRealtimeSplit, INTERNAL_PORTS.haproxyFromTls, INTERNAL_PORTS.haproxyTls, INTERNAL_PORTS.haproxyMonitor];
    assert.deepEqual(exposed("haproxy").sort(), haproxy.sort());
  });

  it("Redis serves TLS on the port the plan publishes across machines, from the tmpfs the plan mounts", () => {
    const script = fs.readFileSync(path.join(IMAGES, "redis", "start-redis.sh"), "utf8");
    assert.match(script, new RegExp(`--tls-port ${INTERNAL_PORTS.redisTls} `));
    assert.match(script, new RegExp(`^  dir=${CONTAINER_PATHS.redisTlsDir}$`, "m"));
  });

  it("each image's HEALTHCHECK asks the health path the load balancer checks, on its own port", () => {
    assert.match(healthCheck("realtime"), new RegExp(`"\\$\\{PORT:-${INTERNAL_PORTS.realtime}\\}" "\\$\\{HEALTH_PATH:-${HEALTH_PATHS.realtime}\\}"$`));
    assert.match(healthCheck("haproxy"), new RegExp(`"${INTERNAL_PORTS.haproxyMonitor}", "${HEALTH_PATHS.haproxy}"\\]$`));
    assert.match(healthCheck("nginx"), new RegExp(`"${INTERNAL_PORTS.nginx}", "${HEALTH_PATHS.nginx}"\\]$`));
    assert.match(healthCheck("prometheus"), new RegExp(`"${INTERNAL_PORTS.prometheus}", "${HEALTH_PATHS.prometheus}"\\]$`));
  });

  it("the realtime server answers the routes the proxies send it", () => {
    assert.ok(isSocketIoPath(`${REALTIME_ROUTES.socketIo}?EIO=4&transport=polling`), REALTIME_ROUTES.socketIo);
    assert.ok(isEchoPath(REALTIME_ROUTES.echo), REALTIME_ROUTES.echo);
    assert.ok(isOwnPath(REALTIME_ROUTES.chatPage, DEFAULT_HEALTH_PATH), REALTIME_ROUTES.chatPage);
    assert.equal(DEFAULT_HEALTH_PATH, HEALTH_PATHS.realtime);
    assert.ok(!isOwnPath("/ping", DEFAULT_HEALTH_PATH), "a path of the second stack is not the node's own");
  });
});
