// A Pulumi program of one's own: it manages its own resources (here a volume for user uploads)
// and adds a realtime-kit deployment beside them as one component. In a project of its own it
// needs `npm install realtime-kit @pulumi/pulumi @pulumi/docker`; inside this repository the
// import resolves to the kit's library build (npm run build).
//
//   pulumi config set --secret tlsCert -- "$(cat cert.pem)"
//   pulumi config set --secret tlsKey -- "$(cat key.pem)"
//   pulumi up
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { RealtimeDeployment } from "realtime-kit";

const config = new pulumi.Config();

// The program's own resource: the deployment does not know about it.
const uploads = new docker.Volume("uploads", { name: `${pulumi.getStack()}-uploads` });

const chat = new RealtimeDeployment("chat", {
  options: {
    topology: "multi-node",
    hostname: config.get("hostname") ?? "localhost",
    ports: { http: config.getNumber("httpPort") ?? 80, https: config.getNumber("httpsPort") ?? 443 },
    realtime: { nodes: config.getNumber("realtimeNodes") ?? 2 },
  },
  tls: { cert: config.require("tlsCert"), key: config.require("tlsKey") },
});

export const urls = chat.urls;
export const nodes = chat.nodes;
export const network = chat.network;
export const uploadsVolume = uploads.name;
