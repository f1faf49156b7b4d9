import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { docker } from "../../driver/engine";
import { freePorts } from "../../driver/ports";
import { closeClients, everyContainerHealthy } from "../integration/clients";
import { checkPassesForOwnImages, voteAcrossNodes, voteOverBothTransports } from "../integration/own-images/checks";
import { buildExamples, LIVE_POLL, OWN_IMAGES, STATUS_API } from "../integration/own-images/images";
import { destroyLeavingNothing, stackCertificates, StackOnEngine, type UpResult } from "./stack";

/**
 * The Pulumi program with images of one's own (the examples: a Socket.IO poll and a Python API),
 * its resources applied with the docker provider's own API calls (not `pulumi up`, which cannot
 * run here): the program pulls them as RemoteImages, waits on their HEALTHCHECKs, and the
 * deployment answers real clients.
 */
describe("Pulumi program with your own images applied to the Docker engine (the provider's Docker calls, not `pulumi up`)", function () {
  this.timeout(600_000);

  before(async function () {
    this.timeout(900_000);
    await buildExamples();
  });

  for (const topology of ["multi-node", "ssl-split"] as const) {
    describe(`${topology}: live-poll and status-api`, () => {
      const stack = `pe-own-${crypto.randomBytes(3).toString("hex")}`;
      let onEngine: StackOnEngine;
      let up: UpResult;
      let caFile: string;

      before(async function () {
        const [http, https] = await freePorts(2);
        const settings = { topology, ...OWN_IMAGES, ports: { http, https } };
        const certificates = await stackCertificates(settings);
        caFile = certificates.caFile;
        onEngine = new StackOnEngine(stack, certificates.caCert);
        up = await onEngine.up(settings, { tlsCert: certificates.cert, tlsKey: certificates.key });
        process.stdout.write(`      applied ${up.steps.length} resources in ${(up.durationMs / 1000).toFixed(1)} s\n`);
      });

      afterEach(closeClients);

      after(async function () {
        await closeClients();
        await destroyLeavingNothing(onEngine, stack);
        // keepLocally: the program never deletes an image it did not build.
        for (const image of [LIVE_POLL, STATUS_API]) await docker.getImage(image).inspect();
        fs.rmSync(path.dirname(caFile), { recursive: true, force: true });
      });

      it("runs the images as they are, waited on by their own HEALTHCHECKs", async () => {
        const t = up.topology;
        await everyContainerHealthy(t);
        for (const service of t.deployment.services.filter((spec) => spec.role === "realtime" || spec.role === "app")) {
          const info = await docker.getContainer(t.container(service.name).getId()).inspect();
          assert.equal(info.Image, (await docker.getImage(service.image).inspect()).Id, `${service.name} runs ${service.image}`);
          assert.equal(info.State.Health?.Status, "healthy", `${service.name}`);
        }
      });

      it("`realtime-kit check` passes through the published ports", async () => {
        await checkPassesForOwnImages(up.topology, caFile);
      });

      it(topology === "multi-node" ? "a vote on one node reaches the other; voters counted across nodes" : "votes over wss and over https long-polling", async () => {
        if (topology === "multi-node") await voteAcrossNodes(up.topology);
        else await voteOverBothTransports(up.topology);
      });
    });
  }
});
