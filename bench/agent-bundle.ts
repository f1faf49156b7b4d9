import path from "node:path";
import { nodeBundle } from "../harness/client-bundle";

/** bench/agent/main.ts with socket.io-client and hdr-histogram-js as one file for the realtime image's node. */
export function benchAgentBundle(): string {
  return nodeBundle(path.join(__dirname, "agent", "main.ts"));
}
