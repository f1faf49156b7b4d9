import type { BenchConfig } from "./config";
import { BENCH_SETS, entryEdge, Lab, restartFresh, VARIANTS, type Deployed } from "./lab";
import { machineInfo } from "./machine";
import { compareBroadcast } from "./measure/broadcast";
import { measureBuilds } from "./measure/builds";
import { rampConnections } from "./measure/connections";
import { comparePeers } from "./measure/peers";
import { measureRoundtrip } from "./measure/roundtrip";
import { buildPeerImages, PEERS, startPeer, type RunningPeer } from "./peers";
import { compareTls } from "./measure/tls";
import { evaluateTargets, type BenchResults } from "./results";

/** Deployments up at the same time: the ones compared with each other. */
const PHASES = [["single", "multi-node"], ["node-proxy", "multi-node-haproxy-tls"], ["ssl-split", "ssl-split-haproxy-tls"]];

/**
 * Phase by phase: brings the phase's topologies up (timed), measures them (comparisons
 * interleaved while both are up), tears them down (timed); then times the image builds. A
 * section that fails is recorded and the others still run.
 */
export async function runSuite(lab: Lab, config: BenchConfig, log: (line: string) => void): Promise<BenchResults> {
  const started = Date.now();
  const results: Omit<BenchResults, "targets"> = {
    mode: config.mode,
    config,
    startedAt: new Date(started).toISOString(),
    durationS: 0,
    machine: null,
    settings: BENCH_SETS,
    startup: [],
    builds: null,
    roundtrip: [],
    capacity: null,
    ramps: [],
    tls: null,
    broadcast: null,
    peers: [],
    failures: [],
  };
  const section = async (name: string, body: () => Promise<void>) => {
    try {
      await body();
    } catch (error) {
      const message = `${name}: ${(error as Error).message.split("\n").slice(0, 6).join(" ")}`;
      results.failures.push(message);
      log(`FAILED ${message}`);
    }
  };
  let peerImagesBuilt = false;
  // At most two deployments up at once: every running container's health checks cost CPU on
  // this small machine. The deployments compared with each other are up together.
  for (const phase of PHASES) {
    const up = new Map<string, Deployed>();
    for (const key of phase) {
      const variant = VARIANTS.find((v) => v.key === key)!;
      await section(`bring up ${key}`, async () => {
        const d = await lab.up(variant, log);
        up.set(key, d);
        results.startup.push({ key, title: variant.title, upMs: d.upMs, downMs: null });
      });
    }
    const single = up.get("single");
    if (single && !results.machine) await section("machine", async () => void (results.machine = await machineInfo(single)));
    for (const d of up.values()) await section(`round trips ${d.variant.key}`, async () => void results.roundtrip.push(await measureRoundtrip(d, config.roundtrip, log)));
    // The peers in front of each multi-node deployment's nodes, measured beside its own entry point.
    for (const d of [...up.values()].filter((one) => one.variant.topology === "multi-node")) {
      await section(`peers beside ${d.variant.key}`, async () => {
        if (!peerImagesBuilt) {
          await buildPeerImages(log);
          peerImagesBuilt = true;
        }
        const peers: RunningPeer[] = [];
        try {
          for (const peer of PEERS) peers.push(await startPeer(d, peer));
          results.peers.push(await comparePeers(d, peers, await entryEdge(d.t), config, log));
        } finally {
          await Promise.all(peers.map((running) => running.container.stop({ remove: true, removeVolumes: true }).catch(() => undefined)));
        }
      });
    }
    const stunnel = up.get("ssl-split");
    const haproxyTls = up.get("ssl-split-haproxy-tls");
    if (stunnel && haproxyTls) await section("tls", async () => void (results.tls = await compareTls(stunnel, haproxyTls, results.roundtrip, config.tls, log)));
    const multi = up.get("multi-node");
    if (single && multi) await section("broadcast", async () => void (results.broadcast = await compareBroadcast(single, multi, config.broadcast, log)));
    for (const d of up.values()) {
      if (d === single) {
        await section("connections on one node", async () => {
          // The round trips above grew the node's heap; capacity is measured from a fresh start.
          await restartFresh(d.t, "realtime-1");
          results.capacity = await rampConnections(d, d.direct, config.connections.nodeSteps, config.connections.holders, config.connections, log);
        });
      } else {
        await section(`connections through ${d.variant.key}`, async () => void results.ramps.push(await rampConnections(d, d.entry, config.connections.proxiedSteps, config.connections.proxiedHolders, config.connections, log)));
      }
    }
    for (const d of up.values()) {
      await section(`tear down ${d.variant.key}`, async () => {
        const ms = await lab.down(d);
        const entry = results.startup.find((x) => x.key === d.variant.key);
        if (entry) entry.downMs = ms;
      });
    }
  }
  await section("builds", async () => void (results.builds = await measureBuilds(config.builds.cold, log)));
  results.durationS = (Date.now() - started) / 1000;
  return { ...results, targets: evaluateTargets(results) };
}
