import { errorMessage, jsonLogger, type Logger } from "@realtime-kit/server";

/** The node's JSON-lines log; every line names the node once its configuration is read. */
let nodeId = "";

export function setLogNode(id: string): void {
  nodeId = id;
}

export const log: Logger = jsonLogger(() => nodeId);

export { errorMessage as errMessage };
