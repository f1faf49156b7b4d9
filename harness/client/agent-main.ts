import { runHold, runRoundtrips, type AgentSpec } from "./agent";

/**
 * Entry point of the client agent inside client containers:
 *   node /kit/agent.js '<AgentSpec as JSON>'
 * roundtrips: prints one JSON report line and exits 0 (1 on an internal failure).
 * hold: prints one JSON line per event and runs until killed.
 */
async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? "{}") as AgentSpec;
  const print = (line: object, flushed?: () => void) => process.stdout.write(`${JSON.stringify(line)}\n`, flushed);
  if (spec.mode === "roundtrips") {
    // Exit once the report is flushed: a report longer than the pipe's 64 KB would be cut short.
    print({ report: await runRoundtrips(spec) }, () => process.exit(0));
  } else if (spec.mode === "hold") {
    await runHold(spec, print);
  } else {
    throw new Error(`unknown agent mode ${JSON.stringify((spec as { mode?: unknown }).mode)}`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`agent failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
