import fs from "node:fs";
import path from "node:path";
import type { Topology } from "../../model/topologies";
import { ARTIFACTS, useTopology } from "../integration/helpers";
import { confinement, corsDefaults, garbageOnEveryPort, handshakeFlood, onlyEntryPortsFromOutside, requestLimits, tlsPolicy } from "./checks";

/**
 * Hardening of every topology, live: each describe brings one deployment up (real images, real
 * traffic from this machine through the published ports, and from client containers on the
 * deployment's network) and checks the items of issue 7. Figures go to
 * test/artifacts/hardening.json.
 */

interface Case {
  title: string;
  topology: Topology;
  sets: string[];
  /** Whether this case floods handshakes from one address and checks the per-address bound. */
  flood: boolean;
  /** Only the flood: a low per-address rate makes the bound show even on a slow machine (and would throttle the other checks, sent from this machine). */
  floodOnly?: boolean;
}

// A small message limit keeps the oversized payloads quick to send; slower health checks keep a
// busy machine (the CI box runs other workloads) from taking healthy nodes out of the pools.
const BASE = ["limits.maxMessageBytes=65536", "timeouts.healthCheckInterval=3s"];
const FLOOD_RATE = 20;

const CASES: Case[] = [
  { title: "single (Node in front)", topology: "single", sets: BASE, flood: false },
  { title: "node-proxy (Node in front of the second stack)", topology: "node-proxy", sets: BASE, flood: false },
  { title: "node-proxy (HAProxy in front, split realtime port)", topology: "node-proxy", sets: [...BASE, "front=haproxy", "ports.realtime=auto"], flood: false },
  { title: "ssl-split (stunnel -> HAProxy -> realtime | nginx)", topology: "ssl-split", sets: BASE, flood: false },
  { title: "ssl-split (TLS in HAProxy)", topology: "ssl-split", sets: [...BASE, "tls.terminator=haproxy"], flood: false },
  {
    title: "multi-node (stunnel, cookie stickiness, 2 realtime + 1 app, Prometheus)",
    topology: "multi-node",
    sets: [...BASE, "realtime.stickiness=cookie", "app.nodes=1", "metrics.prometheus=true", "metrics.port=auto"],
    flood: false,
  },
  { title: `handshake flood: single, Node in front (${FLOOD_RATE} connections / 10 s per address)`, topology: "single", sets: [...BASE, `limits.connectionRatePerClient=${FLOOD_RATE}`], flood: true, floodOnly: true },
  { title: `handshake flood: node-proxy, HAProxy in front (${FLOOD_RATE} connections / 10 s per address)`, topology: "node-proxy", sets: [...BASE, "front=haproxy", `limits.connectionRatePerClient=${FLOOD_RATE}`], flood: true, floodOnly: true },
  { title: `handshake flood: ssl-split, TLS by stunnel (${FLOOD_RATE} connections / 10 s per address)`, topology: "ssl-split", sets: [...BASE, `limits.connectionRatePerClient=${FLOOD_RATE}`], flood: true, floodOnly: true },
];

const figures: Record<string, Record<string, unknown>> = {};
after(() => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  fs.writeFileSync(path.join(ARTIFACTS, "hardening.json"), `${JSON.stringify(figures, null, 2)}\n`);
});

for (const testCase of CASES) {
  describe(`hardening: ${testCase.title}`, function () {
    const handle = useTopology(testCase.topology, testCase.sets);
    const record = (key: string, value: unknown) => ((figures[testCase.title] ??= {})[key] = value);

    if (!testCase.floodOnly) {
      it("containers run unprivileged with a read-only root, the plan's tmpfs, capabilities dropped (docker inspect, /proc)", async function () {
        record("confinement", await confinement(handle.t));
      });

      it("from outside only the entry ports answer; every internal port (second stack, Redis, HAProxy stats, nodes behind a proxy) refuses on localhost", async function () {
        record("ports", await onlyEntryPortsFromOutside(handle.t));
      });

      it("CORS: only the deployment's own origin by default; a foreign Origin is refused on polling and WebSocket", async function () {
        await corsDefaults(handle.t);
      });

      it("oversized Socket.IO messages (WebSocket, polling) and HTTP bodies to the second stack are refused; the node stays healthy and serves", async function () {
        record("limits", await requestLimits(handle.t));
      });

      if (testCase.topology === "ssl-split" || testCase.topology === "multi-node") {
        it("TLS: openssl s_client per version: 1.0/1.1 refused by the server, 1.2/1.3 with the kit's ciphers only; HSTS on https responses", async function () {
          record("tls", await tlsPolicy(handle.t));
        });
      }
    }

    if (testCase.flood) {
      it("a handshake flood from one address is bounded by the per-address rate limit; another address is still served", async function () {
        this.timeout(240_000);
        record("flood", await handshakeFlood(handle.t));
      });
    }

    if (!testCase.floodOnly) {
      it("garbage on every public port (random bytes, malformed HTTP, WebSocket frames, Engine.IO packets, TLS) crashes nothing", async function () {
        this.timeout(300_000);
        record("garbage", await garbageOnEveryPort(handle.t));
      });
    }
  });
}
