import { CONTAINER_PATHS } from "../model/layout";
import { TOPOLOGY_SUMMARIES } from "../model/schema";
import type { Deployment } from "./deployment";

/** The short README written next to generated configs: what runs where, on which port. */
export function deploymentReadme(deployment: Deployment): string {
  const { model, services } = deployment;
  const lines = [
    `# realtime-kit: ${model.topology}`,
    "",
    `${TOPOLOGY_SUMMARIES[model.topology]}.`,
    "",
    "Generated from the topology model; regenerate instead of editing.",
    "",
    "## What runs where",
    "",
    "| service | image | listens on (in its network) | published on the host | reads |",
    "|---|---|---|---|---|",
    ...services.map((service) => {
      const published = service.publish.map((p) => `${p.hostPort} -> ${p.containerPort} (${p.name})`).join(", ") || "nothing";
      const reads = [
        ...service.configFiles.map((file) => `${file.file} at ${file.containerPath}`),
        ...(service.mountsTls ? [`TLS cert/key at ${CONTAINER_PATHS.tlsCert}(.key)`] : []),
        ...(service.staticDir ? [`static assets at ${CONTAINER_PATHS.staticDir}`] : []),
        ...(service.role === "realtime" ? ["realtime.env (+ NODE_ID)"] : []),
      ].join("; ");
      return `| ${service.name} | ${service.image} | ${service.port} | ${published} | ${reads || "-"} |`;
    }),
    "",
    "All services share one private Docker network and reach each other by service name.",
    "Only the ports in the \"published\" column are reachable from outside.",
    "",
    "## Entry points",
    "",
    ...deployment.entrypoints.map((entry) => `- ${entry.name}: ${entry.url} (${entry.what})`),
    "",
  ];
  return lines.join("\n");
}
