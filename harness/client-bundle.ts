import path from "node:path";
import { buildSync } from "esbuild";

const bundles = new Map<string, string>();

/**
 * A TypeScript entry point and everything it imports (socket.io-client, ...) as one CommonJS file
 * that runs on the node of the realtime image, so client containers need no npm install.
 * Built once per process and entry point.
 */
export function nodeBundle(entryPoint: string): string {
  const cached = bundles.get(entryPoint);
  if (cached !== undefined) return cached;
  const result = buildSync({
    entryPoints: [entryPoint],
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    write: false,
    // ws loads these optional native helpers inside try/catch.
    external: ["bufferutil", "utf-8-validate"],
    logLevel: "silent",
  });
  const text = result.outputFiles[0]!.text;
  bundles.set(entryPoint, text);
  return text;
}

/** The harness's client agent (harness/client/agent-main.ts). */
export function clientAgentBundle(): string {
  return nodeBundle(path.join(__dirname, "client", "agent-main.ts"));
}
