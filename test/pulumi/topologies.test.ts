import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { planDeployment, type Deployment } from "../../render/deployment";
import type { ServiceSpec } from "../../plan/services";
import { haproxyConfig } from "../../render/haproxy";
import { nginxConfig } from "../../render/nginx";
import { stunnelConfig } from "../../render/stunnel";
import { CONTAINER_PATHS } from "../../model/layout";
import { KIT_LABEL, SERVICE_LABEL } from "../../model/labels";
import { DEFAULT_STATIC_DIR, resolveModel } from "../../model/model";
import { PROJECT_ROOT } from "../../stacks/config";
import { isSecret, mockBcryptHash, reveal, runProgram, TLS_SECRETS, TYPES, type Run, type Upload } from "./harness";
import { ADMIN_UI_PASSWORD_HASH_VARIABLE, needsAdminUiHash, needsRedisPassword, REDIS_PASSWORD_VARIABLE } from "../../plan/secrets";

const REPO = path.resolve(__dirname, "..", "..");

/** The plan the CLI would make from the same options: what the program must deploy, exactly. */
function planFor(config: Record<string, unknown>): Deployment {
  return planDeployment(resolveModel(config, { baseDir: PROJECT_ROOT }));
}

/** What a container publishes, as (ip:)host->container strings. */
function published(run: Run, service: string): string[] {
  const ports = (run.container(service).inputs.ports ?? []) as { internal: number; external: number; ip?: string }[];
  return ports.map((port) => `${port.ip ? `${port.ip}:` : ""}${port.external}->${port.internal}`);
}

function uploads(run: Run, service: string): Upload[] {
  return run.uploads(service);
}

/** The password the mocks gave the deployment's Redis RandomPassword (harness.ts), or none without Redis. */
function redisPasswordOf(run: Run): string | undefined {
  const generated = run.ofType(TYPES.randomPassword).find((resource) => resource.name.endsWith("-redis-password"));
  return generated ? `mock-password-of-${generated.name}` : undefined;
}

/** The bcrypt hash the mocks gave the admin UI's RandomPassword, or none without the admin UI. */
function adminUiHashOf(run: Run): string | undefined {
  const generated = run.ofType(TYPES.randomPassword).find((resource) => resource.name.endsWith("-admin-ui-password"));
  return generated ? mockBcryptHash(generated.name) : undefined;
}

/** Checks every plan service is one container, set up exactly as its ServiceSpec says. */

function assertMatchesPlan(run: Run, plan: Deployment, stack: string): void {
  const containers = run.services();
  assert.deepEqual(containers.map((container) => container.name).sort(), plan.services.map((spec) => spec.name).sort(), "one container per plan service");
  for (const spec of plan.services) {
    const { inputs } = run.container(spec.name);
    assert.equal(inputs.name, `${stack}-${spec.name}`);
    assert.deepEqual(inputs.networksAdvanced, [{ name: `${stack}-net`, aliases: [spec.name] }], `${spec.name}: network alias`);
    // The plan's environment, and the secrets (the Redis password, the admin UI's hash) exactly where the plan says they are needed.
    const secretEnv = [
      ...(needsRedisPassword(spec) ? [`${REDIS_PASSWORD_VARIABLE}=${redisPasswordOf(run)}`] : []),
      ...(needsAdminUiHash(spec) ? [`${ADMIN_UI_PASSWORD_HASH_VARIABLE}=${adminUiHashOf(run)}`] : []),
    ];
    assert.deepEqual([...reveal<string[]>(inputs.envs)].sort(), [...Object.entries(spec.env).map(([key, value]) => `${key}=${value}`), ...secretEnv].sort(), `${spec.name}: environment`);
    assert.equal(isSecret(inputs.envs), secretEnv.length > 0, `${spec.name}: its environment is secret exactly when it holds a secret`);
    assert.deepEqual(inputs.labels, [{ label: KIT_LABEL, value: stack }, { label: SERVICE_LABEL, value: spec.name }]);
    assert.equal(inputs.restart, "unless-stopped");
    assert.equal(inputs.user, spec.user ?? undefined, `${spec.name}: user`);
    // Ports come from the plan's publish list and nothing else.
    assert.deepEqual(
      published(run, spec.name),
      spec.publish.map((port) => `${port.hostIp ? `${port.hostIp}:` : ""}${port.hostPort}->${port.containerPort}`),
      `${spec.name}: published ports`,
    );
    // Generated files are uploaded with exactly the generator's text, at the plan's path.
    for (const { file, containerPath } of spec.configFiles) {
      const upload = uploads(run, spec.name).find((candidate) => candidate.file === containerPath);
      assert.ok(upload, `${spec.name}: ${file} uploaded to ${containerPath}`);
      assert.equal(upload.content, plan.files[file], `${spec.name}: ${file} is the generator's text`);
    }
  }
}

/** Public entry ports of a plan (never cross-host ones). */
function entryPorts(spec: ServiceSpec): number[] {
  return spec.publish.filter((port) => port.name !== "cross-host").map((port) => port.hostPort);
}

describe("Pulumi program (mocked engine): one stack per topology", () => {
  describe("single", () => {
    const config = { topology: "single", ports: { http: 8080 } };

    it("runs one realtime node on the stack's network, publishing only the http port", async () => {
      const run = await runProgram(config, {}, "single");
      const plan = planFor(config);
      assertMatchesPlan(run, plan, "single");
      assert.deepEqual(run.ofType(TYPES.container).map((container) => container.name), ["realtime-1"], "no files to deliver: no seed");
      assert.deepEqual(published(run, "realtime-1"), ["8080->8080"]);
      assert.equal(run.ofType(TYPES.network).length, 1);
      assert.deepEqual(run.ofType(TYPES.network)[0]!.inputs, { name: "single-net", labels: [{ label: KIT_LABEL, value: "single" }] });
      assert.equal(run.ofType(TYPES.provider).length, 0, "one machine: the default Docker provider");
    });

    it("builds the realtime image from images/realtime/Dockerfile (context: the repository root, for server/) with the classic builder, tagged as the kit names it, without pushing", async () => {
      const saved = process.env.BUILD_CA_CERTS;
      delete process.env.BUILD_CA_CERTS;
      const run = await runProgram(config, {}, "single").finally(() => {
        if (saved !== undefined) process.env.BUILD_CA_CERTS = saved;
      });
      const images = run.ofType(TYPES.image);
      assert.equal(images.length, 1);
      assert.deepEqual(images[0]!.inputs.build, { context: ".", dockerfile: "images/realtime/Dockerfile", builderVersion: "BuilderV1" }, "the builder npm run setup uses, so both share the layer cache");
      assert.equal(images[0]!.inputs.imageName, "realtime-kit/realtime:latest");
      assert.equal(images[0]!.inputs.skipPush, true);
      assert.equal(run.container("realtime-1").inputs.image, "sha256:built-local-realtime-image", "the container runs the built image by digest");
    });

    it("passes the machine's extra CA certificates (BUILD_CA_CERTS) to the image builds, as npm run setup does", async () => {
      const saved = process.env.BUILD_CA_CERTS;
      process.env.BUILD_CA_CERTS = "-----BEGIN CERTIFICATE-----\nTUlJ\n-----END CERTIFICATE-----\n";
      try {
        const run = await runProgram(config, {}, "single");
        assert.deepEqual(run.ofType(TYPES.image)[0]!.inputs.build.args, { BUILD_CA_CERTS: process.env.BUILD_CA_CERTS });
      } finally {
        if (saved === undefined) delete process.env.BUILD_CA_CERTS;
        else process.env.BUILD_CA_CERTS = saved;
      }
    });

    it("waits for the image's HEALTHCHECK during `pulumi up`", async () => {
      const { inputs } = (await runProgram(config, {}, "single")).container("realtime-1");
      assert.equal(inputs.wait, true);
      assert.ok(inputs.waitTimeout >= 60);
    });

    it("with the split-port option publishes the realtime port too", async () => {
      const split = { topology: "single", ports: { http: 8080, realtime: 8090 } };
      const run = await runProgram(split, {}, "single");
      assertMatchesPlan(run, planFor(split), "single");
      assert.deepEqual(published(run, "realtime-1"), ["8080->8080", "8090->8081"]);
    });

    it("outputs the URLs, where each service runs, the topology and the network", async () => {
      const run = await runProgram(config, {}, "single");
      assert.deepEqual(run.outputs, {
        topology: "single",
        urls: Object.fromEntries(planFor(config).entrypoints.map((entry) => [entry.name, entry.url])),
        nodes: { "realtime-1": { role: "realtime", host: "local", container: "single-realtime-1" } },
        network: "single-net",
        adminUiPassword: null,
      });
      assert.equal(run.outputs.urls.chat, "http://localhost:8080/chat/");
    });
  });

  describe("node-proxy", () => {
    it("front node: the realtime node publishes http, the app publishes nothing", async () => {
      const config = { topology: "node-proxy", ports: { http: 8080 } };
      const run = await runProgram(config, {}, "node-proxy");
      assertMatchesPlan(run, planFor(config), "node-proxy");
      assert.deepEqual(published(run, "realtime-1"), ["8080->8080"]);
      assert.deepEqual(published(run, "app-1"), []);
      assert.ok(run.container("realtime-1").inputs.envs.includes("APP_UPSTREAM=http://app-1:3000"));
    });

    it("front haproxy: HAProxy publishes the entry ports with the generated haproxy.cfg; nodes publish nothing", async () => {
      const config = { topology: "node-proxy", front: "haproxy", ports: { http: 8080, realtime: 8090 } };
      const run = await runProgram(config, {}, "node-proxy");
      assertMatchesPlan(run, planFor(config), "node-proxy");
      assert.deepEqual(published(run, "haproxy"), ["8080->8080", "8090->8081"]);
      assert.deepEqual(published(run, "realtime-1"), []);
      assert.deepEqual(published(run, "app-1"), []);
      const cfg = uploads(run, "haproxy").find((upload) => upload.file === CONTAINER_PATHS.haproxyConfig)!;
      assert.equal(cfg.content, haproxyConfig(resolveModel(config, { baseDir: PROJECT_ROOT })));
    });
  });

  describe("ssl-split", () => {
    const config = { topology: "ssl-split", ports: { http: 8080, https: 8443 } };

    it("nginx publishes http, stunnel https; HAProxy, the realtime node and the app publish nothing", async () => {
      const run = await runProgram(config, TLS_SECRETS, "ssl-split");
      const plan = planFor(config);
      assertMatchesPlan(run, plan, "ssl-split");
      assert.deepEqual(published(run, "nginx"), ["8080->8080"]);
      assert.deepEqual(published(run, "stunnel"), ["8443->8443"]);
      for (const service of ["haproxy", "realtime-1", "app-1"]) assert.deepEqual(published(run, service), [], service);
      assert.deepEqual(plan.services.flatMap(entryPorts).sort(), [8080, 8443]);
    });

    it("uploads nginx.conf, haproxy.cfg and stunnel.conf exactly as the generators write them", async () => {
      const run = await runProgram(config, TLS_SECRETS, "ssl-split");
      const model = resolveModel(config, { baseDir: PROJECT_ROOT });
      const text = (service: string, file: string) => uploads(run, service).find((upload) => upload.file === file)?.content;
      assert.equal(text("nginx", CONTAINER_PATHS.nginxConfig), nginxConfig(model));
      assert.equal(text("haproxy", CONTAINER_PATHS.haproxyConfig), haproxyConfig(model));
      assert.equal(text("stunnel", CONTAINER_PATHS.stunnelConfig), stunnelConfig(model));
    });

    it("gives stunnel the certificate and key from the stack secrets: key root-owned 0600, kept secret", async () => {
      const run = await runProgram(config, TLS_SECRETS, "ssl-split");
      const stunnel = run.container("stunnel");
      const tls = uploads(run, "stunnel").filter((upload) => upload.file.startsWith(`${CONTAINER_PATHS.tlsCert}`));
      assert.deepEqual(tls, [
        { file: CONTAINER_PATHS.tlsCert, content: TLS_SECRETS.tlsCert, permissions: "0644", owner: "0", group: "0" },
        { file: CONTAINER_PATHS.tlsKey, content: TLS_SECRETS.tlsKey, permissions: "0600", owner: "0", group: "0" },
      ]);
      assert.ok(JSON.stringify(run.container("stunnel-config-seed").inputs.uploads).includes("4dabf18193072939515e22adb298388d"), "uploads carrying the key are a secret in state");
      assert.equal(stunnel.inputs.user, "root", "starts as root to read the key, then drops privileges (setuid in stunnel.conf)");
      for (const service of ["nginx", "haproxy", "realtime-1", "app-1"]) {
        assert.ok(!uploads(run, service).some((upload) => upload.file.startsWith(CONTAINER_PATHS.tlsCert)), `${service} gets no TLS material`);
      }
    });

    it("with terminator haproxy, HAProxy gets the TLS material and publishes https", async () => {
      const native = { ...config, tls: { terminator: "haproxy" } };
      const run = await runProgram(native, TLS_SECRETS, "ssl-split");
      assertMatchesPlan(run, planFor(native), "ssl-split");
      assert.deepEqual(published(run, "haproxy"), ["8443->8443"]);
      assert.equal(run.services().some((container) => container.name === "stunnel"), false);
      assert.ok(uploads(run, "haproxy").some((upload) => upload.file === CONTAINER_PATHS.tlsKey && upload.permissions === "0600"));
    });

    it("uploads every file of the static folder to nginx from disk, with a content hash", async () => {
      const folder = fs.mkdtempSync(path.join(os.tmpdir(), "rk-static-"));
      fs.mkdirSync(path.join(folder, "img"));
      fs.writeFileSync(path.join(folder, "index.css"), "body {}\n");
      fs.writeFileSync(path.join(folder, "img", "logo.svg"), "<svg/>\n");
      try {
        const run = await runProgram({ ...config, staticDir: folder }, TLS_SECRETS, "ssl-split");
        const files = uploads(run, "nginx").filter((upload) => upload.file.startsWith(CONTAINER_PATHS.staticDir));
        assert.deepEqual(
          files.map(({ file, source }) => ({ file, source })),
          [
            { file: `${CONTAINER_PATHS.staticDir}/img/logo.svg`, source: path.join(folder, "img", "logo.svg") },
            { file: `${CONTAINER_PATHS.staticDir}/index.css`, source: path.join(folder, "index.css") },
          ],
        );
        assert.ok(files.every((upload) => /^[0-9a-f]{64}$/.test(upload.sourceHash ?? "")));
        assert.ok(files.every((upload) => upload.content === undefined), "static files are read from disk, not stored in state");
      } finally {
        fs.rmSync(folder, { recursive: true, force: true });
      }
    });

    it("defaults the static folder to the kit's examples/static; a relative staticDir resolves against the project", async () => {
      for (const staticDir of [undefined, "examples/static"]) {
        const run = await runProgram({ ...config, ...(staticDir ? { staticDir } : {}) }, TLS_SECRETS, "ssl-split");
        const sources = uploads(run, "nginx").flatMap((upload) => (upload.source ? [upload.source] : []));
        assert.deepEqual(sources, fs.readdirSync(DEFAULT_STATIC_DIR).sort().map((file) => path.join(DEFAULT_STATIC_DIR, file)));
      }
    });
  });

  describe("multi-node", () => {
    const config = { topology: "multi-node", ports: { http: 8080, https: 8443 }, realtime: { nodes: 3 }, app: { nodes: 4 } };

    it("runs as many realtime and app nodes as configured; only HAProxy and stunnel publish", async () => {
      const run = await runProgram(config, TLS_SECRETS, "multi-node");
      const plan = planFor(config);
      assertMatchesPlan(run, plan, "multi-node");
      const names = run.services().map((container) => container.name);
      assert.deepEqual(names.filter((name) => name.startsWith("realtime-")).sort(), ["realtime-1", "realtime-2", "realtime-3"]);
      assert.deepEqual(names.filter((name) => name.startsWith("app-")).sort(), ["app-1", "app-2", "app-3", "app-4"]);
      assert.deepEqual(published(run, "haproxy"), ["8080->8080"]);
      assert.deepEqual(published(run, "stunnel"), ["8443->8443"]);
      for (const name of names.filter((name) => name !== "haproxy" && name !== "stunnel")) assert.deepEqual(published(run, name), [], `${name} publishes nothing`);
    });

    it("HAProxy's uploaded config balances over exactly those nodes, by name", async () => {
      const run = await runProgram(config, TLS_SECRETS, "multi-node");
      const cfg = uploads(run, "haproxy").find((upload) => upload.file === CONTAINER_PATHS.haproxyConfig)!.content!;
      assert.equal(cfg, planFor(config).files["haproxy.cfg"]);
      const servers = cfg.split("\n").filter((line) => line.trim().startsWith("server ")).map((line) => line.trim().split(" ").slice(1, 3).join(" "));
      assert.deepEqual(servers, ["realtime-1 realtime-1:8080", "realtime-2 realtime-2:8080", "realtime-3 realtime-3:8080", "app-1 app-1:3000", "app-2 app-2:3000", "app-3 app-3:3000", "app-4 app-4:3000"]);
    });

    it("Redis requires a password made for the deployment (a RandomPassword, secret), given to Redis and the realtime nodes only, in no upload or output", async () => {
      const run = await runProgram(config, TLS_SECRETS, "multi-node");
      const generated = run.ofType(TYPES.randomPassword);
      assert.deepEqual(generated.map((resource) => [resource.name, resource.inputs]), [["realtime-kit-redis-password", { length: 32, special: false }]]);
      const password = redisPasswordOf(run)!;
      const holders = run.services().filter((container) => reveal<string[]>(container.inputs.envs).includes(`REDIS_PASSWORD=${password}`)).map((container) => container.name);
      assert.deepEqual(holders.sort(), ["realtime-1", "realtime-2", "realtime-3", "redis"]);
      for (const container of run.services()) assert.equal(isSecret(container.inputs.envs), holders.includes(container.name), container.name);
      for (const container of run.services()) {
        for (const upload of run.uploads(container.name)) assert.ok(!upload.content?.includes(password), `${upload.file} of ${container.name}`);
      }
      assert.ok(!JSON.stringify(run.outputs).includes(password), "no stack output carries it");
      const single = await runProgram({ topology: "single" }, {}, "single");
      assert.equal(single.ofType(TYPES.randomPassword).length, 0, "no Redis, no password");
    });

    it("admin UI: a password made for the deployment, output as a secret; the nodes hold only its bcrypt hash; realtime-1 publishes it on 127.0.0.1", async () => {
      const withAdminUi = { ...config, adminUi: { enabled: true, port: 9411 } };
      const run = await runProgram(withAdminUi, TLS_SECRETS, "multi-node");
      assertMatchesPlan(run, planFor(withAdminUi), "multi-node");
      const generated = run.ofType(TYPES.randomPassword).find((resource) => resource.name === "realtime-kit-admin-ui-password");
      assert.deepEqual(generated?.inputs, { length: 24, special: false });
      const password = `mock-password-of-${generated!.name}`;
      assert.deepEqual(run.outputs.adminUiPassword, { value: password, secret: true });
      const hash = `${ADMIN_UI_PASSWORD_HASH_VARIABLE}=${adminUiHashOf(run)}`;
      const holders = run.services().filter((container) => reveal<string[]>(container.inputs.envs).includes(hash)).map((container) => container.name);
      assert.deepEqual(holders.sort(), ["realtime-1", "realtime-2", "realtime-3"]);
      for (const container of run.services()) {
        assert.ok(!JSON.stringify(reveal(container.inputs)).includes(password), `${container.name} never gets the password itself`);
        for (const upload of run.uploads(container.name)) assert.ok(!upload.content?.includes(password), `${upload.file} of ${container.name}`);
      }
      assert.deepEqual(published(run, "realtime-1"), ["127.0.0.1:9411->9400"]);
      assert.deepEqual(published(run, "realtime-2"), []);
      assert.equal(run.outputs.urls["admin-ui"], "http://127.0.0.1:9411/");
      assert.equal((await runProgram(config, TLS_SECRETS, "multi-node")).outputs.adminUiPassword, null, "off by default");
    });

    it("the realtime nodes share the unpublished Redis by name", async () => {
      const run = await runProgram(config, TLS_SECRETS, "multi-node");
      assert.deepEqual(published(run, "redis"), []);
      for (const node of ["realtime-1", "realtime-2", "realtime-3"]) {
        assert.ok(reveal<string[]>(run.container(node).inputs.envs).includes("REDIS_URL=redis://redis:6379"), node);
        assert.ok(reveal<string[]>(run.container(node).inputs.envs).includes(`NODE_ID=${node}`), node);
      }
    });

    it("creates Redis before the realtime nodes, and the front door only once every pool member is up", async () => {
      // A slow Redis and a slow app node: whoever depends on them must wait for them to be created.
      const run = await runProgram(config, TLS_SECRETS, "multi-node", { redis: 300, "app-4": 300 });
      const at = (event: string) => run.events.indexOf(event);
      for (const node of ["realtime-1", "realtime-2", "realtime-3"]) assert.ok(at(`create ${node}`) > at("created redis"), `${node} waits for Redis`);
      for (const proxy of ["haproxy", "stunnel"]) {
        for (const member of ["realtime-3", "app-4"]) assert.ok(at(`create ${proxy}`) > at(`created ${member}`), `${proxy} waits for ${member}`);
      }
      assert.ok(at("create app-1") < at("created redis"), "the app pool does not wait for Redis");
    });

    it("builds each kit image once, from images/<role> (the realtime image from the repository root)", async () => {
      const run = await runProgram(config, TLS_SECRETS, "multi-node");
      const built = run.ofType(TYPES.image).map((image) => [image.inputs.imageName, image.inputs.build.context]).sort();
      assert.deepEqual(built, [
        ["realtime-kit/app:latest", "images/app"],
        ["realtime-kit/haproxy:latest", "images/haproxy"],
        ["realtime-kit/realtime:latest", "."],
        ["realtime-kit/redis:latest", "images/redis"],
        ["realtime-kit/stunnel:latest", "images/stunnel"],
      ]);
    });

    it("runs someone else's app image as it is: pulled, never rebuilt or deleted, waited on by its HEALTHCHECK like the kit's", async () => {
      const custom = { ...config, app: { nodes: 2, image: "ghcr.io/acme/shop:1.2" } };
      const run = await runProgram(custom, TLS_SECRETS, "multi-node");
      const pulled = run.ofType(TYPES.remoteImage);
      assert.deepEqual(pulled.map((image) => image.inputs), [{ name: "ghcr.io/acme/shop:1.2", keepLocally: true }]);
      assert.ok(!run.ofType(TYPES.image).some((image) => image.inputs.build.context === "images/app"));
      assert.equal(run.container("app-1").inputs.image, `sha256:pulled-${pulled[0]!.name}`);
      assert.equal(run.container("app-1").inputs.wait, true, "the contract asks every image for a HEALTHCHECK; both drivers wait on it");
    });
  });

  describe("the same files as `realtime-kit generate`", () => {
    for (const [topology, sets] of [["ssl-split", []], ["multi-node", ["realtime.nodes=3", "realtime.stickiness=cookie"]]] as const) {
      it(`${topology}: every uploaded config equals the file generate writes`, async () => {
        const out = fs.mkdtempSync(path.join(os.tmpdir(), "rk-generate-"));
        try {
          const cli = spawnSync(process.execPath, [path.join(REPO, "bin", "realtime-kit.js"), "generate", topology, "--out", out, ...sets.flatMap((set) => ["--set", set])], { encoding: "utf8" });
          assert.equal(cli.status, 0, cli.stderr);
          const config: Record<string, unknown> = { topology };
          if (sets.length > 0) config.realtime = { nodes: 3, stickiness: "cookie" };
          const run = await runProgram(config, TLS_SECRETS, topology);
          const plan = planFor(config);
          for (const spec of plan.services) {
            for (const { file, containerPath } of spec.configFiles) {
              const uploaded = uploads(run, spec.name).find((upload) => upload.file === containerPath)!.content;
              assert.equal(uploaded, fs.readFileSync(path.join(out, file), "utf8"), `${spec.name}: ${file}`);
            }
          }
        } finally {
          fs.rmSync(out, { recursive: true, force: true });
        }
      });
    }
  });
});
