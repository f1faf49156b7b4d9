import type { ServiceSpec } from "../plan/services";
import type { ImageName } from "../model/layout";

/**
 * The parts of a deployment, in start order: Redis before the realtime nodes (they connect to it
 * at start), the pools, the front door, so that when it answers every backend is up, and the
 * optional Prometheus server last, once every target it scrapes exists.
 */
const DEPLOYMENT_PARTS = ["redis", "realtime", "app", "edge", "monitoring"] as const;
export type DeploymentPart = (typeof DEPLOYMENT_PARTS)[number];

/**
 * Which part each role of the plan belongs to. Both drivers (the Pulumi stacks and the local
 * driver) place services through this table, so a role the plan gains is placed by both or by
 * neither: the type makes a missing role a compile error, the lookup below a run-time one.
 */
const PART_OF_ROLE: Record<ImageName, DeploymentPart> = {
  redis: "redis",
  realtime: "realtime",
  app: "app",
  haproxy: "edge",
  nginx: "edge",
  stunnel: "edge",
  prometheus: "monitoring",
};

/** The plan's services grouped by part (keys in start order), each part in plan order. */
export function deploymentParts(services: ServiceSpec[]): Record<DeploymentPart, ServiceSpec[]> {
  const parts = Object.fromEntries(DEPLOYMENT_PARTS.map((part) => [part, [] as ServiceSpec[]])) as Record<DeploymentPart, ServiceSpec[]>;
  for (const service of services) {
    const part = Object.hasOwn(PART_OF_ROLE, service.role) ? PART_OF_ROLE[service.role] : undefined;
    if (!part) throw new Error(`planned service ${service.name} has role ${service.role}, which no driver can place; add it to plan/roles.ts`);
    parts[part].push(service);
  }
  return parts;
}
