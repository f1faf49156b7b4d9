import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { Deployment, ServiceSpec } from "../../configs/deployment";
import { CONTAINER_PATHS, KIT_LABEL } from "../../model/layout";
import type { TlsMaterial } from "../config";
import type { DeploymentHost } from "./host";

/** How long `pulumi up` waits for a container's HEALTHCHECK to report healthy. */
const HEALTHY_WITHIN_SECONDS = 180;
/** Graceful stop before removal: the realtime server drains, HAProxy and nginx finish open requests. */
const STOP_GRACE_SECONDS = 15;

/** What every group of services shares: the stack, its plan, its TLS material and its machines. */
export interface ServiceContext {
  /** Stack name: container names are `<stack>-<service>`, and every container carries it as KIT_LABEL. */
  stack: string;
  plan: Deployment;
  tls: TlsMaterial | null;
  /** The machine a service runs on (its provider, network and images). */
  hostOf(spec: ServiceSpec): DeploymentHost;
}

/** The args of every component that runs a group of services. */
export interface ServiceGroupArgs {
  context: ServiceContext;
  /** Services of the plan this group runs, in start order. */
  services: ServiceSpec[];
}

/** A group of containers run from the plan's ServiceSpecs: RealtimePool, AppPool, EdgeProxies and SharedRedis are groups. */
export abstract class ServiceGroup extends pulumi.ComponentResource {
  readonly containers: Record<string, docker.Container> = {};

  protected constructor(type: string, name: string, args: ServiceGroupArgs, opts?: pulumi.ComponentResourceOptions) {
    super(type, name, {}, opts);
    // Each container depends on what the group depends on, so the state records it container by
    // container (and `pulumi destroy` removes the front door before the pools, the pools before Redis).
    for (const spec of args.services) this.containers[spec.name] = serviceContainer(args.context, spec, this, opts?.dependsOn);
    this.registerOutputs({ containers: Object.fromEntries(Object.entries(this.containers).map(([service, container]) => [service, container.name])) });
  }
}

/**
 * One container from its ServiceSpec: the plan decides name, image, environment, files and
 * published ports; this only translates them into @pulumi/docker's arguments.
 */
export function serviceContainer(
  context: ServiceContext,
  spec: ServiceSpec,
  parent: pulumi.Resource,
  dependsOn?: pulumi.Input<pulumi.Input<pulumi.Resource>[]> | pulumi.Input<pulumi.Resource>,
): docker.Container {
  const host = context.hostOf(spec);
  const healthcheck = host.hasHealthcheck(spec);
  return new docker.Container(
    spec.name,
    {
      name: `${context.stack}-${spec.name}`,
      image: host.imageFor(spec),
      envs: Object.entries(spec.env).map(([key, value]) => `${key}=${value}`),
      user: spec.user ?? undefined,
      networksAdvanced: [{ name: host.network.name, aliases: [spec.name] }],
      ports: spec.publish.map((port) => ({ internal: port.containerPort, external: port.hostPort, ...(port.hostIp ? { ip: port.hostIp } : {}) })),
      uploads: [...configUploads(context.plan, spec), ...tlsUploads(context.tls, spec), ...staticUploads(spec)],
      // The plan's confinement. Uploads land in anonymous volumes: a read-only root refuses them elsewhere.
      readOnly: spec.readOnlyRootFs,
      tmpfs: Object.keys(spec.tmpfs).length > 0 ? spec.tmpfs : undefined,
      volumes: spec.uploadDirs.map((containerPath) => ({ containerPath })),
      capabilities: spec.capabilities ? { drops: ["ALL"], adds: spec.capabilities } : undefined,
      securityOpts: spec.noNewPrivileges ? ["no-new-privileges:true"] : undefined,
      labels: [{ label: KIT_LABEL, value: context.stack }],
      restart: "unless-stopped",
      destroyGraceSeconds: STOP_GRACE_SECONDS,
      // The images' own HEALTHCHECKs: `pulumi up` returns once every container with one reports healthy.
      wait: healthcheck,
      waitTimeout: healthcheck ? HEALTHY_WITHIN_SECONDS : undefined,
    },
    { parent, provider: host.provider, dependsOn },
  );
}

/** The generated files exactly as `realtime-kit generate` writes them: the plan holds the one copy. */
function configUploads(plan: Deployment, spec: ServiceSpec): docker.types.input.ContainerUpload[] {
  return spec.configFiles.map(({ file, containerPath }) => {
    const content = plan.files[file];
    if (content === undefined) throw new Error(`the plan has no ${file} for ${spec.name}`);
    return { file: containerPath, content, permissions: "0644" };
  });
}

/** The certificate and key from the stack's secrets; the key root-owned and 0600, as the terminators expect. */
function tlsUploads(tls: TlsMaterial | null, spec: ServiceSpec): docker.types.input.ContainerUpload[] {
  if (!spec.mountsTls) return [];
  if (!tls) throw new Error(`${spec.name} needs the TLS certificate and key, but the stack has none`);
  return [
    { file: CONTAINER_PATHS.tlsCert, content: tls.cert, permissions: "0644" },
    { file: CONTAINER_PATHS.tlsKey, content: tls.key, permissions: "0600", owner: "0", group: "0" },
  ];
}

/** Every file of the static assets folder, uploaded from disk (not stored in state); its hash replaces the container when it changes. */
function staticUploads(spec: ServiceSpec): docker.types.input.ContainerUpload[] {
  if (!spec.staticDir) return [];
  return filesUnder(spec.staticDir).map((relative) => {
    const source = path.join(spec.staticDir!, relative);
    return {
      file: path.posix.join(CONTAINER_PATHS.staticDir, relative.split(path.sep).join("/")),
      source,
      sourceHash: createHash("sha256").update(fs.readFileSync(source)).digest("hex"),
      permissions: "0644",
    };
  });
}

/** Paths of the regular files under a folder (following links), relative to it, sorted. */
export function filesUnder(folder: string, prefix = ""): string[] {
  const found: string[] = [];
  for (const entry of fs.readdirSync(path.join(folder, prefix)).sort()) {
    const relative = path.join(prefix, entry);
    const stat = fs.statSync(path.join(folder, relative));
    if (stat.isDirectory()) found.push(...filesUnder(folder, relative));
    else if (stat.isFile()) found.push(relative);
  }
  return found;
}
