import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import tls from "node:tls";
import os from "node:os";
import path from "node:path";
import Docker from "dockerode";
import { DeploymentEngines } from "../../driver/hosts";
import type { RunningTopology } from "../../driver/running";
import { request, whoami } from "../../driver/socket-client";
import { startTopology } from "../../driver/start";
import { waitFor } from "../../driver/wait";
import { DRIVER_LABEL, LOCAL_DRIVER } from "../../model/labels";
import { CROSS_HOST_PORTS } from "../../model/layout";
import { REDIS_PASSWORD_VARIABLE, REDIS_TLS_CA_VARIABLE } from "../../plan/secrets";
import { loadModel } from "../../model/load";
import { runCli, spawnCli } from "../cli-process";
import { client, closeClients, connectedClient, measure } from "../integration/clients";
import { nextChat, redisRequiresPassword } from "../integration/checks";
import { useTempDir } from "../temp-dir";
import { CLIENT_ADDRESSES, EDGE_ADDRESS, leftovers, TEST_HOSTS_STATE, THREE_HOSTS_CONFIG, testHosts, useTestHosts } from "./hosts";

/**
 * multi-node over three Docker engines: test hosts in network namespaces of this machine, each
 * with its own address and its own dockerd (test-hosts.sh), reached over tcp:// with TLS and over
 * ssh://, as a user reaches the machines of `hosts`.
 */
const CONFIG = THREE_HOSTS_CONFIG;
const EDGE = EDGE_ADDRESS;

describe("multi-node over three Docker engines (test hosts in network namespaces)", function () {
  useTestHosts((ms) => measure("test-hosts-start", ms, "ms", "test-hosts.sh start: three namespaces, three dockerds, images loaded, sshd"));

  describe("`up --config three-hosts.yaml`, `check`, `down`", function () {
    const cwd = useTempDir("rk-three-hosts-", "describe");

    it("places the edge and Redis on edge and the pools on node2 and node3; `check` passes; `logs` reads every host; `down` leaves nothing on any host", async function () {
      const started = Date.now();
      const up = spawnCli(["up", "multi-node", "--config", CONFIG, "--set", `hostname=${EDGE}`, "--listen", EDGE], { cwd: cwd() });
      try {
        await waitFor(() => /is up \(run/.test(up.output()) || /^error|Error:/m.test(up.output()), { timeoutMs: 180_000, intervalMs: 250, what: "`up` over three hosts" });
        const output = up.output();
        measure("three-hosts-up", Date.now() - started, "ms", "`up multi-node` over three engines until it printed the URLs (CLI start included)");
        assert.match(output, /is up \(run/, output);
        assert.match(output, /started redis on edge /);
        assert.match(output, /started realtime-1 on node2, realtime-2 on node3 /);
        assert.match(output, /started app-1 on node2, app-2 on node3 /);
        assert.match(output, /started haproxy on edge /);
        assert.match(output, /started stunnel on edge /);
        const runId = /is up \(run (up-[0-9a-f]+)\)/.exec(output)![1]!;
        const caFile = path.join(cwd(), ".realtime-kit", "runs", runId, "ca.pem");

        const check = await runCli(["check", `https://${EDGE}`, "--ca", caFile], { cwd: cwd(), timeoutMs: 120_000 });
        assert.equal(check.code, 0, check.stdout + check.stderr);
        assert.match(check.stdout, /all checks passed/);
        // Both realtime hosts served the probe's sessions.
        assert.match(check.stdout, /realtime-1/);
        assert.match(check.stdout, /realtime-2/);

        // `logs` reads the run from every host: the edge's HAProxy and a node on each of the other two.
        const logs = await runCli(["logs", "--json"], { cwd: cwd(), timeoutMs: 60_000 });
        assert.equal(logs.code, 0, logs.stderr);
        const services = new Set(logs.stdout.trim().split("\n").map((line) => (JSON.parse(line) as { service: string }).service));
        for (const service of ["haproxy", "realtime-1", "realtime-2", "app-1", "app-2", "redis"]) assert.ok(services.has(service), `logs has ${service}'s lines (got ${[...services].join(", ")})`);
        // The rolling restart across hosts, from the run `up` recorded: each node's new instance on the other port of its pair.
        const restart = await runCli(["restart-realtime"], { cwd: cwd(), timeoutMs: 240_000 });
        assert.equal(restart.code, 0, restart.stdout + restart.stderr);
        assert.match(restart.stdout, new RegExp(`restarted realtime-1, realtime-2 of ${runId} in \\d+\\.\\d s`));
        assert.match(restart.stdout, new RegExp(`realtime-2: new instance [0-9a-f]{12} healthy in \\d+ ms at 10\\.213\\.0\\.13:${CROSS_HOST_PORTS.realtimeAlternateBase + 2}`));
        const again = await runCli(["check", `https://${EDGE}`, "--ca", caFile], { cwd: cwd(), timeoutMs: 120_000 });
        assert.equal(again.code, 0, again.stdout + again.stderr);

        const down = await runCli(["down"], { cwd: cwd(), timeoutMs: 120_000 });
        assert.equal(down.code, 0, down.stdout + down.stderr);
        assert.equal(await up.stop(), 0, up.output());
        const hosts = loadModel({ topology: "multi-node", configFile: CONFIG }).placement!.hosts;
        assert.deepEqual(await leftovers(new DeploymentEngines(hosts), runId), { edge: 0, node2: 0, node3: 0 });
      } finally {
        await up.stop();
      }
    });
  });

  describe("started in-process, source stickiness through stunnel's PROXY header", function () {
    let t: RunningTopology;

    before(async function () {
      this.timeout(300_000);
      const model = loadModel({ topology: "multi-node", configFile: CONFIG, sets: [`hostname=${EDGE}`, "realtime.stickiness=source"] });
      t = await startTopology(model, { publishAddress: EDGE });
    });

    afterEach(closeClients);

    after(async function () {
      this.timeout(120_000);
      if (!t) return;
      const hosts = t.model.placement!.hosts;
      await t.stop();
      assert.deepEqual(await leftovers(new DeploymentEngines(hosts), t.runId), { edge: 0, node2: 0, node3: 0 }, "stop() removes the run from every host");
    });

    it("every service runs on its host's engine and publishes exactly what the plan says (Redis and the nodes on their private address only)", async function () {
      for (const service of t.deployment.services) {
        const container = await t.engineContainer(service.name);
        const info = await container.inspect();
        const published = Object.entries(info.HostConfig.PortBindings ?? {}).flatMap(([port, bindings]) =>
          ((bindings ?? []) as { HostIp: string; HostPort: string }[]).map((binding) => `${binding.HostIp}:${binding.HostPort}->${port}`),
        );
        const planned = service.publish.map((port) => `${port.hostIp ?? EDGE}:${port.hostPort}->${port.containerPort}/tcp`);
        assert.deepEqual(published.sort(), planned.sort(), `${service.name} on ${service.host}`);
      }
      const redis = t.deployment.services.find((service) => service.name === "redis")!;
      assert.deepEqual(redis.publish.map((port) => `${port.hostIp}:${port.hostPort}`), [`${EDGE}:${CROSS_HOST_PORTS.redis}`]);
      for (const app of t.services("app")) assert.ok(app.publish.every((port) => port.name === "cross-host" && port.hostIp !== EDGE), `${app.name} publishes only on its own host's address`);
    });

    it("clients from 8 source addresses land on both realtime hosts, each address kept on its node", async function () {
      const nodeOf = new Map<string, string>();
      for (const localAddress of CLIENT_ADDRESSES) {
        const socket = await connectedClient({ url: t.urls.realtime, ca: t.ca!, localAddress });
        nodeOf.set(localAddress, (await whoami(socket)).node);
        socket.disconnect();
      }
      const nodes = new Set(nodeOf.values());
      assert.deepEqual([...nodes].sort(), ["realtime-1", "realtime-2"], `both realtime hosts serve clients: ${JSON.stringify(Object.fromEntries(nodeOf))}`);
      for (const localAddress of CLIENT_ADDRESSES) {
        const again = await connectedClient({ url: t.urls.realtime, ca: t.ca!, localAddress });
        assert.equal((await whoami(again)).node, nodeOf.get(localAddress), `${localAddress} comes back to its node`);
      }
      measure("three-hosts-clients-on-realtime-1", [...nodeOf.values()].filter((node) => node === "realtime-1").length, "clients", "of 8 source addresses");
    });

    it("a chat from a client on node2 reaches a client on node3 through Redis on edge; a late joiner gets it in its history", async function () {
      const byNode = new Map<string, Awaited<ReturnType<typeof connectedClient>>>();
      for (const localAddress of CLIENT_ADDRESSES) {
        const socket = await connectedClient({ url: t.urls.realtime, ca: t.ca!, localAddress });
        const { node } = await whoami(socket);
        if (!byNode.has(node)) byNode.set(node, socket);
        if (byNode.size === 2) break;
      }
      const sender = byNode.get("realtime-1")!;
      const receiver = byNode.get("realtime-2")!;
      assert.ok(sender && receiver, "a client on each realtime host");
      const text = `across hosts ${Date.now()}`;
      const received = nextChat(receiver, text);
      const ack = await request<{ ok: boolean; id: string; node: string }>(sender, "chat", text);
      assert.equal(ack.ok, true);
      assert.equal(ack.node, "realtime-1");
      assert.equal((await received).id, ack.id);
      const late = client({ url: t.urls.realtime, ca: t.ca!, localAddress: CLIENT_ADDRESSES[0] });
      const entries = await new Promise<{ id: string; text: string }[]>((resolve) => late.once("history", resolve));
      assert.ok(entries.some((entry) => entry.id === ack.id && entry.text === text), "the late joiner's history holds the message");
    });

    it("Redis, published on the edge's private address for the other hosts, speaks only TLS there, with a certificate from the deployment's own CA, and still asks for the password", async function () {
      const envOf = async (service: string) => ((await (await t.engineContainer(service)).inspect()).Config.Env ?? []);
      const valueOf = (env: string[], name: string) => env.find((entry) => entry.startsWith(`${name}=`))?.slice(name.length + 1);
      const ca = valueOf(await envOf("realtime-2"), REDIS_TLS_CA_VARIABLE);
      const password = valueOf(await envOf("redis"), REDIS_PASSWORD_VARIABLE);
      assert.ok(ca?.includes("BEGIN CERTIFICATE") && password, "the remote node is given the deployment's CA");

      // In clear, Redis's cross-host port answers no command: a stranger reads nothing and writes nothing.
      const inClear = await new Promise<string>((resolve, reject) => {
        const socket = net.connect({ host: EDGE, port: CROSS_HOST_PORTS.redis }, () => socket.write("PUBLISH socket.io#/# from-a-stranger\r\n"));
        let got = "";
        socket.setTimeout(5000, () => reject(new Error("Redis held a plaintext connection open for 5 s")));
        socket.on("data", (data) => (got += data.toString("latin1")));
        socket.once("close", () => resolve(got));
        socket.once("error", () => resolve(got));
      });
      assert.doesNotMatch(inClear, /^[+\-:]/, `a plaintext client got a Redis reply: ${JSON.stringify(inClear)}`);

      // Only a client that does not check who answers would talk to it without the CA: Node's default trust refuses it.
      await assert.rejects(redisOverTls({ host: EDGE, port: CROSS_HOST_PORTS.redis }, ["PING"]), /self-signed certificate|unable to verify|unable to get local issuer/);

      // With the CA, the certificate verifies for the edge's address; Redis still wants the password.
      assert.deepEqual(await redisOverTls({ host: EDGE, port: CROSS_HOST_PORTS.redis, ca }, ["PUBLISH socket.io#/# from-a-stranger"]), ["-NOAUTH Authentication required."]);
      assert.deepEqual(await redisOverTls({ host: EDGE, port: CROSS_HOST_PORTS.redis, ca }, [`AUTH ${password}`, "PING"]), ["+OK", "+PONG"]);
      // The remote nodes' adapters are connected through it (the chat above crossed it); each logged so.
      for (const node of ["realtime-1", "realtime-2"]) assert.match(await t.logs(node), /redis ready/, `${node}'s adapter is connected over TLS`);

      // The key is written to Redis's tmpfs, readable by Redis's user alone, and gone from its process's environment.
      const files = await t.exec("redis", ["stat", "-c", "%n %a %U", "/run/redis-tls/redis.key"]);
      assert.equal(files.output.trim(), "/run/redis-tls/redis.key 600 redis");
      const environ = await t.exec("redis", ["bash", "-c", "tr '\\0' '\\n' < /proc/1/environ | cut -d= -f1"]);
      assert.doesNotMatch(environ.output, /REDIS_TLS_KEY/, "Redis's process environment holds no key");
      for (const service of t.deployment.services) assert.doesNotMatch(await t.logs(service.name), /PRIVATE KEY/, `${service.name}'s log shows no key`);
      await redisRequiresPassword(t);
    });
  });

  describe("reaching the engines", function () {
    const cwd = useTempDir("rk-three-hosts-", "test");

    it("an ssh:// engine whose host key is not in known_hosts is refused (the ssh client checks it, as the Docker CLI's does)", async function () {
      const stranger = new DeploymentEngines([{ name: "node3", docker: "ssh://root@10.213.0.23", address: "10.213.0.23", certPath: null }]);
      await assert.rejects(stranger.edge.info(), /Host key verification failed/);
      const known = new DeploymentEngines([{ name: "node3", docker: "ssh://root@10.213.0.13", address: "10.213.0.13", certPath: null }]);
      assert.equal(((await known.edge.info()) as { DockerRootDir: string }).DockerRootDir, path.join(TEST_HOSTS_STATE, "node3", "docker"), "the machine's own engine answers");
    });

    it("`up` with a machine whose engine does not answer fails before anything is created, naming that host's engine, and keeps the run recorded for `down`", async function () {
      const config = path.join(cwd(), "unreachable-node2.yaml");
      // node2 at an address nothing answers on: the rest of the config as the test hosts have it.
      fs.writeFileSync(config, fs.readFileSync(CONFIG, "utf8").replace('docker: "tcp://10.213.0.12:2376"', 'docker: "tcp://10.213.0.99:2376"'));
      const up = await runCli(["up", "multi-node", "--config", config, "--set", `hostname=${EDGE}`, "--listen", EDGE], { cwd: cwd(), timeoutMs: 120_000 });
      assert.equal(up.code, 1, up.stdout + up.stderr);
      assert.match(up.stderr, /^realtime-kit: host node2's Docker engine \(hosts\.1\.docker: tcp:\/\/10\.213\.0\.99:2376\) did not answer: connect EHOSTUNREACH/m);
      assert.match(up.stderr, /could not remove up-[0-9a-f]+ from node2 .*run `realtime-kit down` again when the host answers/);
      assert.doesNotMatch(up.stderr, /\n\s+at /, "no stack trace");
      assert.equal(fs.readdirSync(path.join(cwd(), ".realtime-kit", "runs")).filter((name) => name.endsWith(".json")).length, 1, "the run stays recorded");
      const hosts = loadModel({ topology: "multi-node", configFile: CONFIG }).placement!.hosts;
      for (const { name, engine } of new DeploymentEngines(hosts).all()) {
        const filters = JSON.stringify({ label: [`${DRIVER_LABEL}=${LOCAL_DRIVER}`] });
        assert.deepEqual((await engine.listNetworks({ filters })).map((network) => network.Name), [], `nothing was created on ${name}`);
      }
    });

    it("a tcp:// engine refuses a client without the TLS client certificate", async function () {
      const anonymous = new Docker({ protocol: "https", host: "10.213.0.12", port: 2376, ca: fs.readFileSync(path.join(TEST_HOSTS_STATE, "client", "ca.pem")) });
      await assert.rejects(anonymous.info());
    });
  });

  describe("teardown", function () {
    it("test-hosts.sh stop leaves no namespace, link, daemon, registry, firewall rule or file behind", function () {
      this.timeout(120_000);
      testHosts("stop");
      const netns = spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout;
      assert.doesNotMatch(netns, /rkth-/);
      assert.notEqual(spawnSync("ip", ["link", "show", "rkth0"]).status, 0, "the bridge is gone");
      assert.doesNotMatch(spawnSync("iptables", ["-S", "FORWARD"], { encoding: "utf8" }).stdout, /rkth0/);
      assert.doesNotMatch(spawnSync("iptables", ["-t", "nat", "-S", "POSTROUTING"], { encoding: "utf8" }).stdout, /10\.213\.0\./, "edge's way out is closed");
      const processes = spawnSync("ps", ["-eo", "args"], { encoding: "utf8" }).stdout;
      assert.doesNotMatch(processes, /\/run\/rkth\//);
      assert.ok(!processes.includes(TEST_HOSTS_STATE), "no process (the registry among them) runs from the hosts' files");
      assert.equal(fs.existsSync("/etc/docker/certs.d/10.213.0.1:5000"), false, "the engines' trust in the test registry is gone");
      assert.equal(fs.existsSync(TEST_HOSTS_STATE), false);
      assert.equal(fs.existsSync("/run/rkth"), false);
      const knownHosts = path.join(os.userInfo().homedir, ".ssh", "known_hosts");
      if (fs.existsSync(knownHosts)) assert.doesNotMatch(fs.readFileSync(knownHosts, "utf8"), /realtime-kit-test-hosts/);
    });
  });
});

/** Sends Redis commands (inline form) one after another over TLS and returns each reply's first line. */
function redisOverTls(options: tls.ConnectionOptions, commands: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const replies: string[] = [];
    let buffered = "";
    const socket = tls.connect(options, () => socket.write(`${commands[0]}\r\n`));
    socket.setTimeout(5000, () => socket.destroy(new Error(`no answer from Redis after ${JSON.stringify(replies)}`)));
    socket.on("data", (data) => {
      buffered += data.toString();
      let end: number;
      while ((end = buffered.indexOf("\r\n")) >= 0) {
        replies.push(buffered.slice(0, end));
        buffered = buffered.slice(end + 2);
        if (replies.length === commands.length) {
          socket.end();
          resolve(replies);
          return;
        }
        socket.write(`${commands[replies.length]}\r\n`);
      }
    });
    socket.once("error", reject);
  });
}
