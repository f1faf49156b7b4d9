import { deploy } from "./deploy";

// Reads the stack's `realtime-kit:*` config, deploys the topology it describes, and tells the user where it is.
const deployment = deploy();

export const topology = deployment.topology;
export const urls = deployment.urls;
export const nodes = deployment.nodes;
export const network = deployment.network;
export const adminUiPassword = deployment.adminUiPassword ?? undefined;
