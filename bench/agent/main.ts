import { cacheLookups } from "./dns-cache";
import { runBroadcast, type BroadcastSpec } from "./broadcast";
import { runFailover, type FailoverSpec } from "./failover";
import { runHandshakes, type HandshakeSpec } from "./handshakes";
import { runHoldMany, type HoldManySpec } from "./hold";
import { runCompare, runLatency, type CompareSpec, type LatencySpec } from "./latency";

/**
 * Entry point of the benchmark agent inside client containers (bundled by bench/agent-bundle.ts):
 *   node /kit/bench.js '<spec as JSON>'
 * latency, compare, handshakes, broadcast, failover: print one JSON line {"report": ...} and exit.
 * hold-many: serves its control port until the container is removed.
 */
export type BenchSpec = LatencySpec | CompareSpec | HandshakeSpec | BroadcastSpec | HoldManySpec | FailoverSpec;

async function main(): Promise<void> {
  cacheLookups();
  const spec = JSON.parse(process.argv[2] ?? "{}") as BenchSpec;
  if (spec.mode === "hold-many") return runHoldMany(spec);
  const report =
    spec.mode === "latency" ? await runLatency(spec) : spec.mode === "compare" ? await runCompare(spec) : spec.mode === "handshakes" ? await runHandshakes(spec) : spec.mode === "broadcast" ? await runBroadcast(spec) : spec.mode === "failover" ? await runFailover(spec) : null;
  if (!report) throw new Error(`unknown bench agent mode ${JSON.stringify((spec as { mode?: unknown }).mode)}`);
  // Exit only once the line is flushed: stdout is a pipe here, and exiting right after a write
  // longer than the pipe's 64 KB buffer would cut the report short.
  process.stdout.write(`${JSON.stringify({ report })}\n`, () => process.exit(0));
}

main().catch((error: unknown) => {
  process.stderr.write(`bench agent failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
