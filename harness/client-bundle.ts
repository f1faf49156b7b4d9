import path from "node:path";
import { buildSync } from "esbuild";

let cached: string | null = null;

/**
 * The client agent (harness/client/agent-main.ts + socket.io-client) as one CommonJS file that
 * runs on the node of the realtime image, so client containers need no npm install.
 */
export function clientAgentBundle(): string {
  if (cached !== null) return cached;
  const result = buildSync({
    entryPoints: [path.join(__dirname, "client", "agent-main.ts")],
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    write: false,
    // ws loads these optional native helpers inside try/catch.
    external: ["bufferutil", "utf-8-validate"],
    logLevel: "silent",
  });
  cached = result.outputFiles[0]!.text;
  return cached;
}
