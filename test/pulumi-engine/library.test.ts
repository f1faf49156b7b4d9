import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { docker } from "../../driver/engine";
import { freePorts } from "../../driver/ports";
import { closeClients, everyContainerHealthy } from "../integration/clients";
import { checkCommandPasses } from "../integration/checks";
import { crossNodeBroadcast } from "./checks";
import { destroyLeavingNothing, stackCertificates, StackOnEngine, type UpResult } from "./stack";

const EXAMPLE = path.resolve(__dirname, "..", "..", "examples", "pulumi-program", "index.ts");

/**
 * examples/pulumi-program, a Pulumi program of its own with a volume of its own and a
 * RealtimeDeployment from the kit's library, its resources applied with the docker provider's own
 * API calls (not `pulumi up`, which cannot run here) and driven through the published ports.
 */
describe("a program of one's own with RealtimeDeployment, applied to the Docker engine (the provider's Docker calls, not `pulumi up`)", function () {
  this.timeout(600_000);
  const stack = `pe-lib-${crypto.randomBytes(3).toString("hex")}`;
  let onEngine: StackOnEngine;
  let up: UpResult;
  let caFile: string;

  before(async function () {
    const [http, https] = await freePorts(2);
    const options = { topology: "multi-node", hostname: "localhost", ports: { http, https }, realtime: { nodes: 2 } };
    const certificates = await stackCertificates(options);
    caFile = certificates.caFile;
    onEngine = new StackOnEngine(stack, certificates.caCert);
    const config = { hostname: "localhost", httpPort: String(http), httpsPort: String(https), realtimeNodes: "2", tlsCert: certificates.cert, tlsKey: certificates.key };
    up = await onEngine.upProgram("chat-platform", EXAMPLE, config, ["tlsCert", "tlsKey"], options);
    process.stdout.write(`      applied ${up.steps.length} resources in ${(up.durationMs / 1000).toFixed(1)} s\n`);
  });

  afterEach(closeClients);

  after(async function () {
    await closeClients();
    await destroyLeavingNothing(onEngine, stack);
    await assert.rejects(docker.getVolume(`${stack}-uploads`).inspect(), "the program's own volume is deleted with the rest");
    fs.rmSync(path.dirname(caFile), { recursive: true, force: true });
  });

  it("the program's own volume and every planned service, healthy", async () => {
    await docker.getVolume(`${stack}-uploads`).inspect();
    assert.ok(up.steps.some((step) => step.op === "create" && step.name === "uploads"));
    assert.deepEqual(Object.keys(up.outputs.nodes).sort(), up.topology.deployment.services.map((service) => service.name).sort());
    await everyContainerHealthy(up.topology);
  });

  it("`realtime-kit check` passes through the published ports", async () => {
    await checkCommandPasses({ t: up.topology, caFile });
  });

  it("a message sent on one realtime node reaches a client on the other (Redis adapter)", async () => {
    await crossNodeBroadcast(up.topology);
  });
});
