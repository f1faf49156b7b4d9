import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { planDeployment } from "../../render/deployment";
import { CONTAINER_PATHS, CROSS_HOST_PORTS, INTERNAL_PORTS } from "../../model/layout";
import { REDIS_TLS_CA_VARIABLE, REDIS_TLS_CERT_VARIABLE, REDIS_TLS_KEY_VARIABLE } from "../../plan/secrets";
import { resolveModel } from "../../model/model";
import { withRealtimeNodeOnOtherPorts } from "../../plan/names";
import { PROJECT_ROOT } from "../../stacks/config";
import { isSecret, mockPem, reveal, runProgram, TLS_SECRETS, TYPES, type Registered, type Run } from "./harness";

/** The tcp:// engine's TLS client files (only their PEM markers are checked before deploying). */
const ENGINE_C_TLS = fs.mkdtempSync(path.join(os.tmpdir(), "rk-engine-c-tls-"));
for (const [file, block] of [["ca.pem", "CERTIFICATE"], ["cert.pem", "CERTIFICATE"], ["key.pem", "PRIVATE KEY"]]) {
  fs.writeFileSync(path.join(ENGINE_C_TLS, file!), `-----BEGIN ${block}-----\nTUlJ\n-----END ${block}-----\n`);
}

const HOSTS = [
  { name: "edge", docker: "unix:///var/run/docker.sock", address: "10.0.0.11" },
  { name: "b", docker: "ssh://deploy@10.0.0.12", address: "10.0.0.12" },
  { name: "c", docker: "tcp://10.0.0.13:2376", address: "10.0.0.13", certPath: ENGINE_C_TLS },
];
/** realtime-1 edge, realtime-2 b, realtime-3 edge; app-1 b, app-2 c. */
const SPREAD = {
  topology: "multi-node",
  hosts: HOSTS,
  realtime: { nodes: 3, hosts: ["edge", "b"] },
  app: { nodes: 2, hosts: ["b", "c"] },
};

/** Name of the host whose provider a resource was registered with (the mock gives provider `<name>` the id `<name>-id`). */
function hostOf(resource: Registered): string | undefined {
  return resource.provider?.match(/::([\w-]+)-id$/)?.[1];
}

function published(run: Run, service: string): string[] {
  const ports = (run.container(service).inputs.ports ?? []) as { internal: number; external: number; ip?: string }[];
  return ports.map((port) => `${port.ip ? `${port.ip}:` : ""}${port.external}->${port.internal}`);
}

function haproxyCfg(run: Run): string {
  return run.uploads("haproxy").find((upload) => upload.file === CONTAINER_PATHS.haproxyConfig)!.content!;
}

function serverLines(cfg: string): string[] {
  return cfg.split("\n").map((line) => line.trim()).filter((line) => line.startsWith("server ")).map((line) => line.split(" ").slice(1, 3).join(" "));
}

describe("Pulumi program: multi-node over several hosts", () => {
  after(() => fs.rmSync(ENGINE_C_TLS, { recursive: true, force: true }));

  it("connects to every host's Docker engine through its own provider, a tcp:// engine with its own TLS client files", async () => {
    const run = await runProgram(SPREAD, TLS_SECRETS, "prod");
    const providers = run.ofType(TYPES.provider);
    assert.deepEqual(
      providers.map((provider) => [provider.name, provider.inputs.host, provider.inputs.certPath]),
      HOSTS.map((host) => [host.name, host.docker, host.certPath]),
    );
  });

  it("a tcp:// engine without TLS client files, or files that are not PEM, fail before anything is deployed", async () => {
    const withoutCerts = { ...SPREAD, hosts: HOSTS.map(({ certPath: _omitted, ...host }) => host) };
    await assert.rejects(runProgram(withoutCerts, TLS_SECRETS, "prod"), (error: Error) => {
      assert.match(error.message, /^hosts\.2\.certPath: is required for tcp:\/\/10\.0\.0\.13:2376: a tcp:\/\/ engine is reached with TLS/);
      return true;
    });
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), "rk-engine-no-tls-"));
    try {
      const withEmptyFolder = { ...SPREAD, hosts: HOSTS.map((host) => (host.certPath ? { ...host, certPath: empty } : host)) };
      await assert.rejects(runProgram(withEmptyFolder, TLS_SECRETS, "prod"), /^StackConfigError: hosts\.2\.certPath: cannot read .*ca\.pem/);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });

  it("places each service on its host: the edge and Redis on the first, the pools round-robin", async () => {
    const run = await runProgram(SPREAD, TLS_SECRETS, "prod");
    const placed = Object.fromEntries(run.services().map((container) => [container.name, hostOf(container)]));
    assert.deepEqual(placed, {
      redis: "edge",
      "app-1": "b",
      "app-2": "c",
      "realtime-1": "edge",
      "realtime-2": "b",
      "realtime-3": "edge",
      haproxy: "edge",
      stunnel: "edge",
    });
    assert.deepEqual(
      Object.fromEntries(Object.entries(run.outputs.nodes).map(([service, node]) => [service, node.host])),
      placed,
      "the nodes output says which service runs on which host",
    );
  });

  it("creates the stack's network on every host, and builds on each host the kit images it runs", async () => {
    const run = await runProgram(SPREAD, TLS_SECRETS, "prod");
    assert.deepEqual(run.ofType(TYPES.network).map((network) => [hostOf(network), network.inputs.name]), [["edge", "prod-net"], ["b", "prod-net"], ["c", "prod-net"]]);
    const built = run.ofType(TYPES.image).map((image) => `${hostOf(image)}: ${image.inputs.build.context}`).sort();
    assert.deepEqual(built, [
      "b: .",
      "b: images/app",
      "c: images/app",
      "edge: .",
      "edge: images/haproxy",
      "edge: images/redis",
      "edge: images/stunnel",
    ]);
    for (const container of run.ofType(TYPES.container)) {
      assert.match(container.inputs.image, new RegExp(`^sha256:built-${hostOf(container)}-`), `${container.name} runs the image built on its own host`);
    }
  });

  it("HAProxy reaches members on other hosts at address:port, local members by name", async () => {
    const run = await runProgram(SPREAD, TLS_SECRETS, "prod");
    const cfg = haproxyCfg(run);
    assert.deepEqual(serverLines(cfg), [
      "realtime-1 realtime-1:8080",
      `realtime-2 10.0.0.12:${CROSS_HOST_PORTS.realtimeBase + 2}`,
      "realtime-3 realtime-3:8080",
      `app-1 10.0.0.12:${CROSS_HOST_PORTS.appBase + 1}`,
      `app-2 10.0.0.13:${CROSS_HOST_PORTS.appBase + 2}`,
    ]);
    assert.equal(cfg, planDeployment(resolveModel(SPREAD, { baseDir: PROJECT_ROOT })).files["haproxy.cfg"], "still exactly the generator's text");
  });

  it("a realtime node moved to the other port of its pair (a rolling restart across hosts) is published and reached there, its metrics too; moved again it is back", () => {
    const model = resolveModel({ ...SPREAD, metrics: { prometheus: true } }, { baseDir: PROJECT_ROOT });
    const moved = withRealtimeNodeOnOtherPorts(model, "realtime-2");
    const plan = planDeployment(moved);
    assert.deepEqual(
      plan.services.find((service) => service.name === "realtime-2")!.publish.map((port) => `${port.hostIp}:${port.hostPort}->${port.containerPort}`),
      [`10.0.0.12:${CROSS_HOST_PORTS.realtimeAlternateBase + 2}->8080`, `10.0.0.12:${CROSS_HOST_PORTS.realtimeMetricsAlternateBase + 2}->9464`],
    );
    assert.ok(serverLines(plan.files["haproxy.cfg"]!).includes(`realtime-2 10.0.0.12:${CROSS_HOST_PORTS.realtimeAlternateBase + 2}`));
    assert.match(plan.files["prometheus.yml"]!, new RegExp(`targets: \\["10\\.0\\.0\\.12:${CROSS_HOST_PORTS.realtimeMetricsAlternateBase + 2}"\\]`));
    const [before, after] = [planDeployment(model).files, plan.files];
    assert.deepEqual(Object.keys(after).filter((file) => after[file as keyof typeof after] !== before[file as keyof typeof before]).sort(), ["README.md", "haproxy.cfg", "prometheus.yml"], "only the files that name the ports change (the README lists what each service publishes)");
    assert.deepEqual(withRealtimeNodeOnOtherPorts(moved, "realtime-2"), model, "moved twice: as configured");
    assert.throws(() => withRealtimeNodeOnOtherPorts(resolveModel({ topology: "multi-node" }, { baseDir: PROJECT_ROOT }), "realtime-2"), /several hosts/);
  });

  it("a member on another host publishes its port on that host's private address only", async () => {
    const run = await runProgram(SPREAD, TLS_SECRETS, "prod");
    assert.deepEqual(published(run, "realtime-2"), ["10.0.0.12:18082->8080"]);
    assert.deepEqual(published(run, "app-1"), ["10.0.0.12:13001->3000"]);
    assert.deepEqual(published(run, "app-2"), ["10.0.0.13:13002->3000"]);
    assert.deepEqual(published(run, "realtime-1"), [], "members beside the edge publish nothing");
    assert.deepEqual(published(run, "realtime-3"), []);
    assert.deepEqual(published(run, "haproxy"), ["80->8080"]);
    assert.deepEqual(published(run, "stunnel"), ["443->8443"]);
  });

  it("Redis is published on the edge host's address, TLS only, for remote realtime nodes, which use it by address over TLS", async () => {
    const run = await runProgram(SPREAD, TLS_SECRETS, "prod");
    assert.deepEqual(published(run, "redis"), [`10.0.0.11:6379->${INTERNAL_PORTS.redisTls}`]);
    assert.ok(reveal<string[]>(run.container("realtime-2").inputs.envs).includes("REDIS_URL=rediss://10.0.0.11:6379"));
    assert.ok(reveal<string[]>(run.container("realtime-1").inputs.envs).includes("REDIS_URL=redis://redis:6379"));
    assert.ok(reveal<string[]>(run.container("realtime-3").inputs.envs).includes("REDIS_URL=redis://redis:6379"));
  });

  it("Redis's TLS: a CA of the deployment's own (@pulumi/tls) signs a certificate for the edge address; Redis gets it and its key, remote nodes the CA, all secret", async () => {
    const run = await runProgram(SPREAD, TLS_SECRETS, "prod");
    const named = (type: string) => run.ofType(type).map((resource) => resource.name).sort();
    assert.deepEqual(named(TYPES.tlsPrivateKey), ["realtime-kit-redis-tls-ca-key", "realtime-kit-redis-tls-key"]);
    const ca = run.ofType(TYPES.tlsSelfSignedCert);
    assert.equal(ca.length, 1);
    assert.equal(ca[0]!.inputs.isCaCertificate, true);
    assert.equal(reveal(ca[0]!.inputs.privateKeyPem), mockPem("PRIVATE KEY", "realtime-kit-redis-tls-ca-key"));
    const request = run.ofType(TYPES.tlsCertRequest)[0]!;
    assert.deepEqual(request.inputs.ipAddresses, ["10.0.0.11"], "the certificate names the address the nodes dial");
    assert.equal(reveal(request.inputs.privateKeyPem), mockPem("PRIVATE KEY", "realtime-kit-redis-tls-key"));
    const signed = run.ofType(TYPES.tlsLocallySignedCert)[0]!;
    assert.equal(reveal(signed.inputs.caCertPem), mockPem("CERTIFICATE", "realtime-kit-redis-tls-ca"));
    assert.ok(signed.inputs.earlyRenewalHours > 0 && signed.inputs.earlyRenewalHours < signed.inputs.validityPeriodHours, "renewed by an up before it expires");

    const env = (service: string) => reveal<string[]>(run.container(service).inputs.envs);
    assert.ok(env("redis").includes(`${REDIS_TLS_CERT_VARIABLE}=${mockPem("CERTIFICATE", "realtime-kit-redis-tls-cert")}`));
    assert.ok(env("redis").includes(`${REDIS_TLS_KEY_VARIABLE}=${mockPem("PRIVATE KEY", "realtime-kit-redis-tls-key")}`));
    assert.ok(!env("redis").some((entry) => entry.startsWith(`${REDIS_TLS_CA_VARIABLE}=`)));
    assert.ok(env("realtime-2").includes(`${REDIS_TLS_CA_VARIABLE}=${mockPem("CERTIFICATE", "realtime-kit-redis-tls-ca")}`), "the remote node trusts the deployment's CA");
    for (const beside of ["realtime-1", "realtime-3", "haproxy", "app-1"]) {
      assert.ok(!env(beside).some((entry) => /^REDIS_TLS_/.test(entry)), `${beside} gets no Redis TLS material`);
    }
    assert.ok(isSecret(run.container("redis").inputs.envs) && isSecret(run.container("realtime-2").inputs.envs));
    // Redis writes the files to a tmpfs only its user reads.
    assert.match(String(run.container("redis").inputs.tmpfs[CONTAINER_PATHS.redisTlsDir]), /mode=0700/);
  });

  it("metrics.prometheus: Prometheus runs on the edge host on its loopback address; a remote realtime node publishes its metrics port on its private address, where Prometheus scrapes it", async () => {
    const run = await runProgram({ ...SPREAD, metrics: { prometheus: true } }, TLS_SECRETS, "prod");
    assert.equal(hostOf(run.container("prometheus")), "edge");
    assert.deepEqual(published(run, "prometheus"), ["127.0.0.1:9090->9090"]);
    assert.deepEqual(published(run, "realtime-2"), ["10.0.0.12:18082->8080", `10.0.0.12:${CROSS_HOST_PORTS.realtimeMetricsBase + 2}->9464`]);
    assert.deepEqual(published(run, "realtime-1"), [], "nodes beside Prometheus are scraped by name");
    const scrape = run.uploads("prometheus").find((upload) => upload.file === CONTAINER_PATHS.prometheusConfig)!.content!;
    assert.deepEqual([...scrape.matchAll(/targets: \["([^"]+)"\]/g)].map((match) => match[1]), [
      "realtime-1:9464",
      `10.0.0.12:${CROSS_HOST_PORTS.realtimeMetricsBase + 2}`,
      "realtime-3:9464",
      "haproxy:8404",
      "localhost:9090",
    ]);
    assert.equal(run.outputs.urls.prometheus, "http://127.0.0.1:9090/");
    // Without it nothing extra is published.
    const without = await runProgram(SPREAD, TLS_SECRETS, "prod");
    assert.deepEqual(published(without, "realtime-2"), ["10.0.0.12:18082->8080"]);
  });

  it("with only the app spread out, Redis stays unpublished, without TLS", async () => {
    const run = await runProgram({ ...SPREAD, realtime: { nodes: 2 } }, TLS_SECRETS, "prod");
    assert.deepEqual(published(run, "redis"), []);
    assert.equal(run.ofType(TYPES.tlsPrivateKey).length, 0);
    assert.equal(run.container("redis").inputs.tmpfs, undefined);
    assert.deepEqual(published(run, "realtime-1"), []);
    assert.deepEqual(published(run, "realtime-2"), []);
  });

  it("one host listed: the same configs as on a single engine", async () => {
    const oneHost = await runProgram({ topology: "multi-node", hosts: [HOSTS[0]] }, TLS_SECRETS, "prod");
    const noHosts = await runProgram({ topology: "multi-node" }, TLS_SECRETS, "prod");
    assert.equal(haproxyCfg(oneHost), haproxyCfg(noHosts));
    for (const container of oneHost.services()) {
      assert.equal(hostOf(container), "edge");
      assert.deepEqual(published(oneHost, container.name), published(noHosts, container.name), container.name);
    }
  });

  it("with a registry, the first host builds and pushes; the other hosts pull by digest", async () => {
    const run = await runProgram(
      { ...SPREAD, registry: { server: "registry.example.com:5000", username: "ci" } },
      { ...TLS_SECRETS, registryPassword: "hunter2" },
      "prod",
    );
    const built = run.ofType(TYPES.image);
    assert.ok(built.every((image) => hostOf(image) === "edge" && image.inputs.skipPush === false));
    assert.deepEqual(built.map((image) => image.inputs.imageName).sort(), [
      "registry.example.com:5000/realtime-kit/app:latest",
      "registry.example.com:5000/realtime-kit/haproxy:latest",
      "registry.example.com:5000/realtime-kit/realtime:latest",
      "registry.example.com:5000/realtime-kit/redis:latest",
      "registry.example.com:5000/realtime-kit/stunnel:latest",
    ]);
    const pulled = run.ofType(TYPES.remoteImage).map((image) => `${hostOf(image)}: ${image.inputs.name}`).sort();
    assert.deepEqual(pulled, ["b: sha256:built-edge-app-image", "b: sha256:built-edge-realtime-image", "c: sha256:built-edge-app-image"]);
    const provider = run.ofType(TYPES.provider).find((candidate) => candidate.name === "b")!;
    assert.ok(isSecret(provider.inputs.registryAuth), "the provider's registry credentials are secret");
    // Provider settings reach the engine as JSON text.
    assert.deepEqual(JSON.parse(reveal(provider.inputs.registryAuth)), [{ address: "registry.example.com:5000", username: "ci", password: "hunter2" }]);
  });

  it("`realtime-kit generate` writes the same multi-host haproxy.cfg and documents the machines", () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "rk-generate-"));
    const file = path.join(out, "config.json");
    try {
      fs.writeFileSync(file, JSON.stringify(SPREAD));
      const cli = spawnSync(process.execPath, [path.join(PROJECT_ROOT, "bin", "realtime-kit.js"), "generate", "multi-node", "--config", file, "--out", path.join(out, "files")], { encoding: "utf8" });
      assert.equal(cli.status, 0, cli.stderr);
      const plan = planDeployment(resolveModel(SPREAD, { baseDir: out }));
      assert.equal(fs.readFileSync(path.join(out, "files", "haproxy.cfg"), "utf8"), plan.files["haproxy.cfg"]);
      const readme = fs.readFileSync(path.join(out, "files", "README.md"), "utf8");
      assert.match(readme, /\| b \| ssh:\/\/deploy@10\.0\.0\.12 \| 10\.0\.0\.12 \| app-1, realtime-2 \|/);
      assert.match(readme, /10\.0\.0\.12:18082 -> 8080 \(cross-host\)/);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });

  describe("the hosts option", () => {
    const reject = (config: Record<string, unknown>, message: string) => assert.throws(() => resolveModel(config, { baseDir: "/srv" }), { message });
    const h = (index: number, change: Record<string, unknown> = {}) => ({ ...HOSTS[index], ...change });

    it("only multi-node takes hosts", () => {
      reject({ topology: "ssl-split", hosts: [h(0)] }, "hosts: does not apply to topology ssl-split: only multi-node has pools to spread over several machines; remove it or choose topology multi-node");
      reject({ topology: "node-proxy", app: { hosts: ["edge"] } }, "app.hosts: does not apply to topology node-proxy: only multi-node has pools to spread over several machines; remove it or choose topology multi-node");
    });

    it("pools may only name declared hosts", () => {
      reject({ topology: "multi-node", realtime: { hosts: ["edge"] } }, "realtime.hosts: names hosts but none are declared; list the machines under hosts (each with name, docker and address)");
      reject({ topology: "multi-node", hosts: [h(0), h(1)], app: { hosts: ["b", "x"] } }, 'app.hosts.1: unknown host "x"; the hosts are edge, b');
    });

    it("every host needs its own name, engine and address", () => {
      reject({ topology: "multi-node", hosts: [h(0), h(1, { name: "edge" })] }, 'hosts.1.name: "edge" is already the name of hosts.0; every host needs its own name');
      reject({ topology: "multi-node", hosts: [h(0), h(1, { docker: h(0).docker })] }, 'hosts.1.docker: "unix:///var/run/docker.sock" is already the docker of hosts.0; every host needs its own docker');
      reject({ topology: "multi-node", hosts: [h(0), h(1, { address: "10.0.0.11" })] }, 'hosts.1.address: "10.0.0.11" is already the address of hosts.0; every host needs its own address');
    });

    it("docker must be an engine URL, address a reachable IPv4 address", () => {
      reject(
        { topology: "multi-node", hosts: [h(0, { docker: "https://10.0.0.11" })] },
        'hosts.0.docker: expected a Docker engine URL: ssh://user@host, tcp://host:2376 or unix:///var/run/docker.sock (got "https://10.0.0.11")',
      );
      reject(
        { topology: "multi-node", hosts: [h(0, { address: "edge.internal" })] },
        'hosts.0.address: expected the machine\'s private IPv4 address, such as 10.0.0.12 (ports are published on it, and Docker binds published ports to IP addresses, not names) (got "edge.internal")',
      );
      reject({ topology: "multi-node", hosts: [h(0, { address: "127.0.0.1" })] }, "hosts.0.address: 127.0.0.1 cannot be reached from the other hosts; give the machine's private address (such as 10.0.0.12)");
      reject({ topology: "multi-node", hosts: [h(0, { name: "Edge 1" })] }, 'hosts.0.name: expected a short name of lowercase letters, digits and - such as "edge" or "node-2" (got "Edge 1")');
      reject({ topology: "multi-node", hosts: [] }, "hosts: list at least one host, or leave hosts out to deploy everything on one Docker engine (got [])");
    });

    it("keeps the Redis port free on the edge when Redis is published there", () => {
      reject({ ...SPREAD, ports: { http: 6379 } }, "ports.http: 6379 is where the edge host publishes Redis for realtime nodes on other hosts; choose another public port");
    });

    it("spreads each pool round-robin, all on the first host by default", () => {
      const model = resolveModel({ topology: "multi-node", hosts: HOSTS, realtime: { nodes: 5, hosts: ["b", "c"] } }, { baseDir: "/srv" });
      assert.deepEqual(model.placement, { hosts: HOSTS.map((host) => ({ certPath: null, ...host })), realtime: ["b", "c", "b", "c", "b"], app: ["edge", "edge"], realtimeOnAlternatePorts: [] });
      assert.equal(resolveModel({ topology: "multi-node" }, { baseDir: "/srv" }).placement, null);
    });
  });
});
