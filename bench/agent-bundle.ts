import path from "node:path";
import { buildSync } from "esbuild";

let cached: string | null = null;

/** bench/agent/main.ts with socket.io-client and hdr-histogram-js as one file for the realtime image's node. */
export function benchAgentBundle(): string {
  if (cached !== null) return cached;
  const result = buildSync({
    entryPoints: [path.join(__dirname, "agent", "main.ts")],
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    write: false,
    external: ["bufferutil", "utf-8-validate"],
    logLevel: "silent",
  });
  cached = result.outputFiles[0]!.text;
  return cached;
}
