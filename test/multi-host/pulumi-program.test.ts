import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createTestCertificates } from "../../driver/certs";
import { DeploymentEngines } from "../../driver/hosts";
import { IMAGE_NAMES } from "../../model/layout";
import { loadModel, readConfigFile } from "../../model/load";
import { runCli } from "../cli-process";
import { client, closeClients, connectedClient, measure } from "../integration/clients";
import { nextChat } from "../integration/checks";
import { request, whoami } from "../../driver/socket-client";
import { StackOnEngine } from "../pulumi-engine/stack";
import { CLIENT_ADDRESSES, EDGE_ADDRESS, leftovers, THREE_HOSTS_CONFIG, useTestHosts } from "./hosts";

/**
 * The Pulumi program (stacks/) over three Docker engines: its resources applied to the test hosts'
 * engines with the docker provider's own API calls (test/pulumi-engine/provider/: explicit
 * providers over tcp:// with certPath and ssh://, images built on the first host and pushed to a
 * registry, pulled by digest on the others). Not `pulumi up`: see ProviderEngine.
 */
describe("the Pulumi program's resources over three Docker engines (test hosts), with a registry", function () {
  useTestHosts();

  it("edge builds the kit's images and pushes them, node2 and node3 pull theirs by digest; every service publishes what the plan says; `check` passes; clients from 8 addresses reach both realtime hosts and a chat crosses them; deleting leaves nothing on any host", async function () {
    this.timeout(900_000);
    // The same placement as `up --config three-hosts.yaml`, as stack settings.
    const { hosts, realtime, app } = readConfigFile(THREE_HOSTS_CONFIG);
    const registry = process.env.REGISTRY_SERVER!;
    const stack = `pe-hosts-${crypto.randomBytes(3).toString("hex")}`;
    const certificates = await createTestCertificates([EDGE_ADDRESS]);
    const caFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "rk-pe-hosts-")), "ca.pem");
    fs.writeFileSync(caFile, certificates.caCert);
    const onEngine = new StackOnEngine(stack, certificates.caCert);
    const settings = { topology: "multi-node", hosts, realtime, app, hostname: EDGE_ADDRESS, registry: { server: registry, username: process.env.REGISTRY_USERNAME } };
    const engines = new DeploymentEngines(loadModel({ topology: "multi-node", configFile: THREE_HOSTS_CONFIG }).placement!.hosts);
    try {
      const up = await onEngine.upOnHosts(settings, { tlsCert: certificates.cert, tlsKey: certificates.key, registryPassword: process.env.REGISTRY_PASSWORD! },
      );
      measure("pulumi-engine-three-hosts-up", up.durationMs, "ms", "the program's resources applied over three engines: edge builds and pushes the kit's images, the others pull");

      // Where each image came from: built on edge (the first host) and pushed, pulled by digest elsewhere.
      const images = onEngine.engine.resources().filter((resource) => resource.type === "docker:index/image:Image" || resource.type === "docker:index/remoteImage:RemoteImage");
      const built = images.filter((image) => image.type === "docker:index/image:Image");
      assert.ok(built.every((image) => image.name.startsWith("edge-")), `only edge builds: ${built.map((image) => image.name).join(", ")}`);
      for (const role of ["haproxy", "stunnel", "redis", "realtime", "app"] as const) {
        const image = built.find((candidate) => candidate.name === `edge-${role}-image`);
        assert.ok(image, `edge builds ${role}`);
        assert.match(image.outputs.repoDigest, new RegExp(`^${registry.replace(/\./g, "\\.")}/${IMAGE_NAMES[role]}@sha256:[0-9a-f]{64}$`), `${role} is pushed and pinned by digest`);
      }
      for (const host of ["node2", "node3"]) {
        for (const role of ["realtime", "app"] as const) {
          const pulled = images.find((image) => image.name === `${host}-${role}-image`);
          assert.equal(pulled?.type, "docker:index/remoteImage:RemoteImage", `${host} pulls ${role}`);
          assert.equal(pulled!.inputs.name, built.find((image) => image.name === `edge-${role}-image`)!.outputs.repoDigest);
        }
      }
      // Each service runs on the engine of its host and publishes exactly what the plan says: the entry
      // ports on every interface of edge (the provider's default ip), Redis and the nodes on their host's private address only.
      for (const service of onEngine.plan(settings).services) {
        const info = await engines.of(service.host).getContainer(`${stack}-${service.name}`).inspect();
        assert.equal(info.State.Running, true, `${service.name} runs on ${service.host}`);
        const published = Object.entries(info.HostConfig.PortBindings ?? {}).flatMap(([port, bindings]) =>
          ((bindings ?? []) as { HostIp: string; HostPort: string }[]).map((binding) => `${binding.HostIp}:${binding.HostPort}->${port}`),
        );
        const planned = service.publish.map((port) => `${port.hostIp ?? "0.0.0.0"}:${port.hostPort}->${port.containerPort}/tcp`);
        assert.deepEqual(published.sort(), planned.sort(), `${service.name} on ${service.host}`);
      }

      const check = await runCli(["check", `https://${EDGE_ADDRESS}`, "--ca", caFile], { timeoutMs: 120_000 });
      assert.equal(check.code, 0, check.stdout + check.stderr);
      assert.match(check.stdout, /all checks passed/);
      assert.match(check.stdout, /realtime-1/);
      assert.match(check.stdout, /realtime-2/);

      // Clients from 8 source addresses through the edge land on both realtime hosts; a chat from
      // one host's client reaches the other's through Redis on edge, and a late joiner's history holds it.
      const url = `https://${EDGE_ADDRESS}`;
      const byNode = new Map<string, Awaited<ReturnType<typeof connectedClient>>>();
      for (const localAddress of CLIENT_ADDRESSES) {
        const socket = await connectedClient({ url, ca: certificates.caCert, localAddress });
        const { node } = await whoami(socket);
        if (!byNode.has(node)) byNode.set(node, socket);
      }
      assert.deepEqual([...byNode.keys()].sort(), ["realtime-1", "realtime-2"], "both realtime hosts serve clients");
      const text = `across hosts ${Date.now()}`;
      const received = nextChat(byNode.get("realtime-2")!, text);
      const ack = await request<{ ok: boolean; id: string; node: string }>(byNode.get("realtime-1")!, "chat", text);
      assert.equal(ack.ok, true);
      assert.equal((await received).id, ack.id);
      const late = client({ url, ca: certificates.caCert, localAddress: CLIENT_ADDRESSES[0] });
      const entries = await new Promise<{ id: string; text: string }[]>((resolve) => late.once("history", resolve));
      assert.ok(entries.some((entry) => entry.id === ack.id && entry.text === text), "the late joiner's history holds the message");
    } finally {
      await closeClients();
      await onEngine.engine.idle();
      await onEngine.engine.destroy();
    }
    assert.deepEqual(await leftovers(engines, stack), { edge: 0, node2: 0, node3: 0 }, "deleting the applied resources leaves nothing with the stack's label on any host");
  });
});
