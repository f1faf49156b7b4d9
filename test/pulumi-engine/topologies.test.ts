import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { docker } from "../../driver/engine";
import { freePorts } from "../../driver/ports";
import type { RunningTopology } from "../../driver/running";
import { closeClients, everyContainerHealthy } from "../integration/clients";
import {
  checkCommandPasses,
  pollingManyRoundTrips,
  prometheusScrapesEveryNode,
  redisRequiresPassword,
  secondStackBehindFrontDoor,
  tlsChecks,
  upgradesToWebsocket,
  websocketOnlyRoundTrip,
} from "../integration/checks";
import { crossNodeBroadcast } from "./checks";
import { destroyLeavingNothing, stackCertificates, StackOnEngine, type UpResult } from "./stack";

/**
 * The Pulumi program's resources applied to this machine's Docker engine with the docker
 * provider's own API calls (ProviderEngine: not `pulumi up`, which cannot run here), then driven
 * through the published ports like any deployment: `realtime-kit check` and the topology's live
 * checks. Every topology, both TLS terminators, every stickiness mode.
 */

/** Entry ports the program publishes on every interface (the provider's `ip` default), as a deployment on a server does. */
const EVERY_INTERFACE = "0.0.0.0";

interface Case {
  what: string;
  config: Record<string, unknown>;
}

const CASES: Case[] = [
  { what: "single", config: { topology: "single" } },
  { what: "node-proxy, the realtime node in front", config: { topology: "node-proxy" } },
  { what: "node-proxy, HAProxy in front", config: { topology: "node-proxy", front: "haproxy" } },
  { what: "ssl-split, stunnel", config: { topology: "ssl-split", tls: { terminator: "stunnel" } } },
  { what: "ssl-split, HAProxy TLS", config: { topology: "ssl-split", tls: { terminator: "haproxy" } } },
  { what: "multi-node, stunnel, source stickiness", config: { topology: "multi-node", tls: { terminator: "stunnel" }, realtime: { stickiness: "source" } } },
  { what: "multi-node, HAProxy TLS, cookie stickiness", config: { topology: "multi-node", tls: { terminator: "haproxy" }, realtime: { stickiness: "cookie" } } },
  {
    what: "multi-node, HAProxy TLS, session stickiness (the default), Prometheus",
    config: { topology: "multi-node", tls: { terminator: "haproxy" }, metrics: { prometheus: true, scrapeInterval: "1s" } },
  },
];

describe("Pulumi program applied to the Docker engine (the provider's Docker calls, not `pulumi up`)", function () {
  this.timeout(600_000);

  for (const { what, config } of CASES) {
    describe(what, () => {
      const stack = `pe-${crypto.randomBytes(3).toString("hex")}`;
      let onEngine: StackOnEngine;
      let up: UpResult;
      let caFile: string | null = null;
      const t = (): RunningTopology => up.topology;

      before(async function () {
        const tls = config.topology === "ssl-split" || config.topology === "multi-node";
        const [http, https, prometheus] = await freePorts(3);
        const settings: Record<string, unknown> = { ...config, ports: { http, ...(tls ? { https } : {}) } };
        if (config.metrics) settings.metrics = { ...config.metrics, port: prometheus };
        const secrets: Record<string, string> = {};
        let ca: string | null = null;
        if (tls) {
          const certificates = await stackCertificates(settings);
          Object.assign(secrets, { tlsCert: certificates.cert, tlsKey: certificates.key });
          ca = certificates.caCert;
          caFile = certificates.caFile;
        }
        onEngine = new StackOnEngine(stack, ca);
        up = await onEngine.up(settings, secrets);
        process.stdout.write(`      applied ${up.steps.length} resources in ${(up.durationMs / 1000).toFixed(1)} s\n`);
      });

      afterEach(closeClients);

      after(async function () {
        await closeClients();
        await destroyLeavingNothing(onEngine, stack);
        if (caFile) fs.rmSync(path.dirname(caFile), { recursive: true, force: true });
      });

      it("every planned service runs, healthy, from the program's own resources; files come through never-started seeds", async () => {
        const plan = t().deployment;
        assert.deepEqual(Object.keys(up.outputs.nodes).sort(), plan.services.map((service) => service.name).sort());
        await everyContainerHealthy(t());
        for (const service of plan.services) {
          const info = await docker.getContainer(t().container(service.name).getId()).inspect();
          assert.equal(info.Name, `/${stack}-${service.name}`);
          assert.equal(info.HostConfig.ReadonlyRootfs, service.readOnlyRootFs, `${service.name}: read-only root`);
          assert.equal(info.RestartCount, 0, `${service.name} never restarted`);
        }
        const seeds = up.steps.filter((step) => step.op === "create" && /-seed$/.test(step.name));
        for (const seed of seeds) {
          const info = await docker.getContainer(`${stack}-${seed.name}`).inspect();
          assert.equal(info.State.Status, "created", `${seed.name} was never started`);
        }
      });

      it("`realtime-kit check` passes through the published ports", async () => {
        await checkCommandPasses({ t: t(), caFile });
      });

      it("websocket-only, polling-only and upgrading clients", async () => {
        await websocketOnlyRoundTrip(t());
        await pollingManyRoundTrips(t());
        // Cookie stickiness needs clients that keep the cookie (the README says so).
        await upgradesToWebsocket(t(), t().urls.realtime, t().model.realtime.stickiness === "cookie");
      });

      if (config.topology !== "single") {
        it("the second stack answers through the front door; only the entry ports are published", async () => {
          await secondStackBehindFrontDoor(t(), EVERY_INTERFACE);
        });
      }

      if (config.topology === "ssl-split" || config.topology === "multi-node") {
        it("TLS: verified https with HSTS, TLS 1.0/1.1 refused, plain-http realtime redirected", async () => {
          await tlsChecks(t());
        });
      }

      if (config.topology === "multi-node") {
        it("a message sent on one realtime node reaches a client on the other (Redis adapter)", async () => {
          await crossNodeBroadcast(t());
        });

        it("Redis refuses a client without the stack's password (the RandomPassword); no log shows it", async () => {
          await redisRequiresPassword(t());
        });
      }

      if (config.metrics) {
        it("Prometheus (PrometheusServer) scrapes every node and HAProxy, counts a client, keeps its series in the stack's volume", async () => {
          await prometheusScrapesEveryNode(t());
        });
      }
    });
  }
});
