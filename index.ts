/**
 * realtime-kit as a library for a Pulumi program of your own:
 *
 *   import { RealtimeDeployment } from "realtime-kit";
 *   const chat = new RealtimeDeployment("chat", { options: { topology: "multi-node" }, tls: { cert, key } });
 *   export const urls = chat.urls;
 *
 * The same component the kit's own program (stacks/) deploys, with the same options and errors.
 */
export { RealtimeDeployment, type NodeInfo, type RealtimeDeploymentArgs } from "./stacks/components/deployment";
export { StackConfigError, type RegistrySettings } from "./stacks/config";
export type { ConfigInput as DeploymentOptions } from "./model/schema";
