import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { KIT_LABEL, SEED_LABEL, SERVICE_LABEL } from "../../model/labels";
import type { Deployment } from "../../render/deployment";
import { needsSecrets, secretEnvOf, type DeploymentSecrets } from "../../plan/secrets";
import type { ServiceSpec } from "../../plan/services";
import { dataVolumeName, fileVolumesOf, volumeNames, type Upload } from "../../plan/volumes";
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
  /** The Redis password, across machines Redis's TLS material, and the admin UI's password (secret), added to the environment of the services that need them; null without any. */
  secrets: pulumi.Output<DeploymentSecrets> | null;
}

/** The args of every component that runs a group of services. */
export interface ServiceGroupArgs {
  context: ServiceContext;
  /** Services of the plan this group runs, in start order. */
  services: ServiceSpec[];
}

/** Component options whose dependencies are plain resources, so each container can add its own. */
export type ServiceGroupOptions = Omit<pulumi.ComponentResourceOptions, "dependsOn"> & { dependsOn?: pulumi.Resource[] };

/** A group of containers run from the plan's ServiceSpecs: RealtimePool, AppPool, EdgeProxies, SharedRedis and PrometheusServer are groups. */
export abstract class ServiceGroup extends pulumi.ComponentResource {
  readonly containers: Record<string, docker.Container> = {};

  protected constructor(type: string, name: string, args: ServiceGroupArgs, opts?: ServiceGroupOptions) {
    super(type, name, {}, opts);
    // Each container depends on what the group depends on, so the state records it container by
    // container (and `pulumi destroy` removes the front door before the pools, the pools before Redis).
    for (const spec of args.services) this.containers[spec.name] = serviceContainer(args.context, spec, this, opts?.dependsOn);
    this.registerOutputs({ containers: Object.fromEntries(Object.entries(this.containers).map(([service, container]) => [service, container.name])) });
  }
}

/**
 * One service: the volumes holding its files, each with the seed container that fills it (see
 * plan/volumes.ts for why), its data volume where it keeps state, and the service's container,
 * which mounts the files read-only. The plan
 * decides name, image, environment, files and published ports; this only translates them into
 * @pulumi/docker's arguments.
 */
export function serviceContainer(
  context: ServiceContext,
  spec: ServiceSpec,
  parent: pulumi.Resource,
  dependsOn: pulumi.Resource[] = [],
): docker.Container {
  const host = context.hostOf(spec);
  const options = { parent, provider: host.provider };
  const labels = [{ label: KIT_LABEL, value: context.stack }];
  const mounts: docker.types.input.ContainerMount[] = [];
  const seeds: docker.Container[] = [];
  for (const files of fileVolumesOf(context.plan, spec)) {
    const names = volumeNames(context.stack, spec, files);
    const volume = new docker.Volume(`${spec.name}-${files.name}`, { name: names.volume, labels }, options);
    seeds.push(
      new docker.Container(
        `${spec.name}-${files.name}-seed`,
        {
          name: names.seed,
          image: host.imageFor(spec),
          // Created so that the provider copies `uploads` into the volume, never started: it runs nothing.
          start: false,
          mustRun: false,
          networkMode: "none",
          mounts: [{ type: "volume", source: volume.name, target: files.target }],
          uploads: files.uploads.map((upload) => providerUpload(upload, context.tls, spec)),
          labels: [...labels, { label: SEED_LABEL, value: spec.name }],
        },
        options,
      ),
    );
    mounts.push({ type: "volume", source: volume.name, target: files.target, readOnly: true });
  }
  if (spec.dataDir) {
    // Kept when the container is replaced (a new image, a new environment); removed by `pulumi destroy`.
    const data = new docker.Volume(`${spec.name}-data`, { name: dataVolumeName(context.stack, spec), labels }, options);
    mounts.push({ type: "volume", source: data.name, target: spec.dataDir });
  }
  return new docker.Container(
    spec.name,
    {
      name: `${context.stack}-${spec.name}`,
      image: host.imageFor(spec),
      envs: containerEnv(context, spec),
      user: spec.user ?? undefined,
      networksAdvanced: [{ name: host.network.name, aliases: [spec.name] }],
      ports: spec.publish.map((port) => ({ internal: port.containerPort, external: port.hostPort, ...(port.hostIp ? { ip: port.hostIp } : {}) })),
      mounts: mounts.length > 0 ? mounts : undefined,
      // The plan's confinement.
      readOnly: spec.readOnlyRootFs,
      tmpfs: Object.keys(spec.tmpfs).length > 0 ? spec.tmpfs : undefined,
      capabilities: spec.capabilities ? { drops: ["ALL"], adds: spec.capabilities } : undefined,
      securityOpts: spec.noNewPrivileges ? ["no-new-privileges:true"] : undefined,
      labels: [...labels, { label: SERVICE_LABEL, value: spec.name }],
      restart: spec.restart,
      destroyGraceSeconds: STOP_GRACE_SECONDS,
      // The images' own HEALTHCHECKs: `pulumi up` returns once every container reports healthy. An
      // image of one's own must have one too (README: Your own images), as the local driver requires.
      wait: true,
      waitTimeout: HEALTHY_WITHIN_SECONDS,
    },
    // After its seeds: the files are in place when the service starts. A seed replaced later (new
    // config, renewed certificate) does not replace the service: it only depends on it by order.
    { ...options, dependsOn: [...dependsOn, ...seeds] },
  );
}

/** The planned environment, plus the deployment's secrets where the service needs them (kept secret in the state). */
function containerEnv(context: ServiceContext, spec: ServiceSpec): pulumi.Input<string[]> {
  const planned = Object.entries(spec.env).map(([key, value]) => `${key}=${value}`);
  if (!context.secrets || !needsSecrets(spec)) return planned;
  return pulumi.secret(context.secrets.apply((secrets) => [...planned, ...Object.entries(secretEnvOf(spec, secrets)).map(([key, value]) => `${key}=${value}`)]));
}

/**
 * A planned upload as the provider's `uploads` entry: generated text, the stack's TLS secrets, or
 * a static file read from disk at upload time (not stored in state; its hash is). Every upload is
 * root-owned; the key alone is 0600.
 */
function providerUpload(upload: Upload, tls: TlsMaterial | null, spec: ServiceSpec): docker.types.input.ContainerUpload {
  const owned = { permissions: upload.permissions, owner: "0", group: "0" };
  if ("source" in upload) return { file: upload.file, source: upload.source, sourceHash: upload.sourceHash, ...owned };
  if ("text" in upload.content) return { file: upload.file, content: upload.content.text, ...owned };
  if (!tls) throw new Error(`${spec.name} needs the TLS certificate and key, but the stack has none`);
  return { file: upload.file, content: tls[upload.content.tls], ...owned };
}
