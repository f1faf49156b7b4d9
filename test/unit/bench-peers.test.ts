import assert from "node:assert/strict";
import type Docker from "dockerode";
import { CpuSampler } from "../../bench/measure/edge-cpu";
import type { PeerComparison, PeerRow } from "../../bench/measure/peers";
import { evaluateTargets, type BenchResults } from "../../bench/results";
import type { LatencyReport } from "../../bench/agent/latency";

/** A container (of no engine: its counter comes through the stats API) whose cgroup has used `nsPerMs` of CPU for every millisecond since `since`. */
function burning(nsPerMs: number, since: number): Docker.Container {
  return {
    inspect: async () => ({ Id: `not-a-container-${nsPerMs}` }),
    stats: async () => ({ cpu_stats: { cpu_usage: { total_usage: Math.round((Date.now() - since) * nsPerMs) } } }),
  } as unknown as Docker.Container;
}

function window(startedAt: number, elapsedMs: number, events: number): LatencyReport {
  return { histogram: "", events, errors: [], startedAt, elapsedMs, nodes: [] };
}

function row(key: string, follows: string | null, values: Partial<PeerRow>): PeerRow {
  const latency = { count: 1, p50: 1, p90: 1, p99: 1, max: 1 };
  return { key, title: key, follows, paced: latency, p99Ratio: null, p99RatioInterval: null, eps: 1, cpu: null, handshakesPerS: null, handshake: null, idle: null, failover: null, nodes: [], errors: [], ...values };
}

function targetsOf(rows: PeerRow[]) {
  const comparison: PeerComparison = { kit: "multi-node", direct: { count: 1, p50: 1, p90: 1, p99: 1, max: 1 }, rows };
  const results = { roundtrip: [], capacity: null, ramps: [], tls: null, peers: [comparison], config: {} } as unknown as Omit<BenchResults, "targets">;
  return evaluateTargets(results);
}

describe("bench peers: edge CPU per event and the targets against the peers", () => {
  it("takes each window's CPU between its own start and end, from samples around it (two containers summed)", async function () {
    this.timeout(10_000);
    const since = Date.now();
    // 0.3 ms and 0.2 ms of CPU per ms of wall time: 500,000 ns per ms together.
    const sampler = await CpuSampler.start([
      { name: "a", container: burning(300_000, since) },
      { name: "b", container: burning(200_000, since) },
    ], 50);
    await new Promise((resolve) => setTimeout(resolve, 700));
    await sampler.stop();
    // Two slices: 200 ms with 100 events, 300 ms with 300 events -> 100 ms + 150 ms of CPU = 250,000 us over 400 events.
    const cpu = sampler.perEvent({ paced: [window(since + 100, 200, 100), window(since + 350, 300, 300)], load: [] })!;
    assert.deepEqual(cpu.services, ["a", "b"]);
    assert.equal(cpu.events, 400);
    assert.ok(Math.abs(cpu.usPerEvent - 625) < 40, `${cpu.usPerEvent} us/event, expected about 625`);
    assert.ok(cpu.interval && cpu.interval[0] <= cpu.usPerEvent && cpu.usPerEvent <= cpu.interval[1], JSON.stringify(cpu.interval));
    const none = await CpuSampler.start([]);
    await none.stop();
    assert.equal(none.perEvent({ paced: [window(since, 100, 10)], load: [] }), null, "no edge (the entry is a node): no figure");
  });

  it("calls a target met or missed against the best peer only when the intervals do not overlap; failover must be 2x the best peer that got every client back", () => {
    const kit = row("multi-node", null, {
      cpu: { services: ["haproxy"], usPerEvent: 30, interval: [28, 32], events: 1 },
      p99Ratio: 1.5,
      p99RatioInterval: [1.2, 1.8],
      idle: { held: 1000, bytesPerConnection: 20_000, processBytesPerConnection: 15_000, range: [19_500, 20_500], steps: 4 },
      failover: { clients: 5, worstMs: 2000, medianMs: 1500, notBack: 0 },
    });
    const nginx = row("peer-nginx", "docs", {
      cpu: { services: ["peer-nginx"], usPerEvent: 40, interval: [35, 45], events: 1 },
      p99Ratio: 1.4,
      p99RatioInterval: [1.1, 1.7],
      idle: { held: 1000, bytesPerConnection: 50_000, processBytesPerConnection: 45_000, range: [48_000, 52_000], steps: 4 },
      failover: { clients: 5, worstMs: null, medianMs: null, notBack: 5 },
    });
    const haproxy = row("peer-haproxy", "docs", {
      cpu: { services: ["peer-haproxy"], usPerEvent: 36, interval: [33, 39], events: 1 },
      idle: { held: 1000, bytesPerConnection: 18_000, processBytesPerConnection: 14_000, range: [17_500, 18_500], steps: 4 },
      failover: { clients: 5, worstMs: 4300, medianMs: 3000, notBack: 0 },
    });
    const verdicts = Object.fromEntries(targetsOf([kit, nginx, haproxy]).map((target) => [target.what.split(":")[0], target]));
    assert.equal(verdicts["edge CPU per event"]!.met, true, "30 (28-32) wholly below the best peer's 36 (33-39)");
    assert.match(verdicts["edge CPU per event"]!.target, /peer-haproxy/);
    assert.equal(verdicts["p99 over direct"]!.met, "undecided", "1.2-1.8 overlaps the best peer's 1.1-1.7");
    assert.equal(verdicts["edge memory per idle connection"]!.met, false, "20 KB against the best peer's 18 KB");
    assert.equal(verdicts["failover (a node killed, every client back)"]!.met, true, "2,000 ms against half of peer-haproxy's 4,300 ms; nginx, which lost clients, is not the yardstick");
    assert.match(verdicts["failover (a node killed, every client back)"]!.measured, /not every client back through peer-nginx/);

    const slower = targetsOf([{ ...kit, cpu: { ...kit.cpu!, usPerEvent: 50, interval: [46, 54] }, failover: { ...kit.failover!, worstMs: 2500 } }, haproxy]);
    assert.equal(slower.find((target) => target.what.startsWith("edge CPU"))!.met, false);
    assert.equal(slower.find((target) => target.what.startsWith("failover"))!.met, false, "2,500 ms is more than half of 4,300 ms");
    const close = targetsOf([{ ...kit, idle: { held: 1000, bytesPerConnection: 19_000, processBytesPerConnection: 15_000, range: null, steps: 1 } }, { ...haproxy, idle: { ...haproxy.idle!, range: null, steps: 1 } }]);
    assert.equal(close.find((target) => target.what.startsWith("edge memory"))!.met, "undecided", "runs recorded with one reading each: 19 KB within 10% of 18 KB");

    const stepped = (bytes: number, range: [number, number]) => ({ held: 1000, bytesPerConnection: bytes, processBytesPerConnection: bytes, range, steps: 4 });
    const overlapping = targetsOf([{ ...kit, idle: stepped(19_000, [17_500, 20_500]) }, { ...haproxy, idle: stepped(18_000, [17_000, 19_000]) }]);
    assert.equal(overlapping.find((target) => target.what.startsWith("edge memory"))!.met, "undecided", "the steps' ranges overlap");
    const below = targetsOf([{ ...kit, idle: stepped(15_000, [14_000, 16_000]) }, { ...haproxy, idle: stepped(18_000, [17_000, 19_000]) }]);
    assert.equal(below.find((target) => target.what.startsWith("edge memory"))!.met, true, "every step of the kit below every step of the peer");
  });
});
