import { CONTAINER_PATHS } from "../model/layout";
import type { Model, Placement } from "../model/model";
import { TOPOLOGIES } from "../model/topologies";
import type { Entrypoint, ServiceSpec } from "../plan/services";

/** The short README written next to generated configs: what runs where, on which port. */
export function deploymentReadme(model: Model, services: ServiceSpec[], entrypoints: Entrypoint[]): string {
  const lines = [
    `# realtime-kit: ${model.topology}`,
    "",
    `${TOPOLOGIES[model.topology].summary}.`,
    "",
    "Generated from the topology model; regenerate instead of editing.",
    "",
    "## What runs where",
    "",
    "| service | image | listens on (in its network) | published on the host | reads |",
    "|---|---|---|---|---|",
    ...services.map((service) => {
      const published = service.publish.map((p) => `${p.hostIp ? `${p.hostIp}:` : ""}${p.hostPort} -> ${p.containerPort} (${p.name})`).join(", ") || "nothing";
      const reads = [
        ...service.configFiles.map((file) => `${file.file} at ${file.containerPath}`),
        ...(service.mountsTls ? [`TLS cert/key at ${CONTAINER_PATHS.tlsCert}(.key)`] : []),
        ...(service.staticDir ? [`static assets at ${CONTAINER_PATHS.staticDir}`] : []),
        ...(service.role === "realtime" ? ["realtime.env (+ NODE_ID)"] : []),
      ].join("; ");
      return `| ${service.name} | ${service.image} | ${service.port} | ${published} | ${reads || "-"} |`;
    }),
    "",
    ...(model.placement ? machinesSection(model.placement, services) : [
      "All services share one private Docker network and reach each other by service name.",
      "Only the ports in the \"published\" column are reachable from outside.",
    ]),
    "",
    "## Entry points",
    "",
    ...entrypoints.map((entry) => `- ${entry.name}: ${entry.url} (${entry.what})`),
    "",
  ];
  return lines.join("\n");
}

/** multi-node over several hosts: which machine runs what, and how they reach each other. */
function machinesSection(placement: Placement, services: ServiceSpec[]): string[] {
  return [
    "## Machines",
    "",
    "| host | docker | address | runs |",
    "|---|---|---|---|",
    ...placement.hosts.map((host) => {
      const runs = services.filter((service) => service.host === host.name).map((service) => service.name).join(", ") || "nothing";
      return `| ${host.name} | ${host.docker} | ${host.address} | ${runs} |`;
    }),
    "",
    `Services on the same machine share a private Docker network and reach each other by service name. The edge host (${placement.hosts[0].name})`,
    "reaches a pool member on another machine at the cross-host port it publishes on that machine's private address,",
    "and realtime nodes elsewhere reach Redis over TLS at the port the edge host publishes on its own private address",
    "(Redis's certificate is signed by a CA made for the deployment; the nodes trust that CA only, and still send Redis's password).",
    "Only the entry ports are published on every interface; keep cross-host ports reachable from the other hosts only.",
    "A rolling restart (`realtime-kit restart-realtime`) starts a remote realtime node's new instance on the other port of its pair",
    "(18180 + i instead of 18080 + i, metrics 19564 + i instead of 19464 + i, and back the next time): keep both open between the hosts.",
  ];
}
