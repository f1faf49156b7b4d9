import type { Deployment } from "../render/deployment";
import { KIT_LABEL, SERVICE_LABEL } from "../model/labels";
import { docker } from "./engine";
import { serviceContainerOf, type ServiceContainer } from "./exec";
import { RunningTopology } from "./running";
import { internalUrlsOf, urlsOf } from "./urls";

/**
 * A deployment another driver made (the Pulumi program's resources on this engine), taken over
 * for inspection and checks: its containers are found by KIT_LABEL=<label> and SERVICE_LABEL.
 * `stop()` removes by label what is left, the deployment's own driver deletes the rest first.
 */
export async function adoptDeployment(deployment: Deployment, options: { label: string; networkName: string; ca: string | null }): Promise<RunningTopology> {
  const containers = new Map<string, ServiceContainer>();
  for (const service of deployment.services) {
    const filters = JSON.stringify({ label: [`${KIT_LABEL}=${options.label}`, `${SERVICE_LABEL}=${service.name}`] });
    const found = await docker.listContainers({ all: true, filters });
    if (found.length !== 1) throw new Error(`expected one container of ${service.name} labelled ${KIT_LABEL}=${options.label}, found ${found.length}`);
    containers.set(service.name, serviceContainerOf(docker.getContainer(found[0]!.Id)));
  }
  return new RunningTopology(options.label, deployment, options.networkName, options.ca, urlsOf(deployment.model), internalUrlsOf(deployment), containers);
}
