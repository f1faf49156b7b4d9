import path from "node:path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { IMAGE_NAMES, type ImageName } from "../../model/layout";
import { kitImageBuild } from "../../model/kit-root";
import { KIT_LABEL } from "../../model/labels";
import { kitImage, type ServiceSpec } from "../../plan/services";
import type { HostSpec } from "../../model/model";
import type { RegistrySettings } from "../config";

/** Name of the machine when the stack has no `hosts`: the default Docker engine (DOCKER_HOST or the local socket). */
export const DEFAULT_HOST = "local";

export interface DeploymentHostArgs {
  stack: string;
  /** The machine; null deploys through the default Docker provider. */
  machine: HostSpec | null;
  /** Images of the services it runs (ServiceSpec role and image): the kit's own are built here, any other is pulled. */
  images: Pick<ServiceSpec, "role" | "image">[];
  registry: RegistrySettings | null;
  /** With a registry, the kit images another host built and pushed: pulled here by digest instead of rebuilt. */
  pushedImages?: Partial<Record<ImageName, docker.Image>>;
}

/**
 * One machine of the deployment: the connection to its Docker engine, the stack's private network
 * on it, and the images its services run.
 */
export class DeploymentHost extends pulumi.ComponentResource {
  readonly name: string;
  readonly provider: docker.Provider | undefined;
  readonly network: docker.Network;
  /** Kit images built on this machine, by role. */
  readonly builtImages: Partial<Record<ImageName, docker.Image>> = {};
  private readonly images = new Map<string, pulumi.Output<string>>();

  constructor(name: string, args: DeploymentHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("realtime-kit:index:DeploymentHost", name, {}, opts);
    this.name = args.machine?.name ?? DEFAULT_HOST;
    const registry = args.registry;
    this.provider = args.machine
      ? new docker.Provider(
          this.name,
          {
            host: args.machine.docker,
            // Each tcp:// engine's own TLS client files; ssh:// and unix:// need none.
            certPath: args.machine.certPath ?? undefined,
            registryAuth: registry ? [{ address: registry.server, username: registry.username, password: registry.password }] : undefined,
          },
          { parent: this },
        )
      : undefined;
    const options = { parent: this, provider: this.provider };

    this.network = new docker.Network(`${this.name}-network`, { name: `${args.stack}-net`, labels: [{ label: KIT_LABEL, value: args.stack }] }, options);

    for (const spec of args.images) {
      if (this.images.has(spec.image)) continue;
      const resourceName = `${this.name}-${spec.role}-image`;
      if (spec.image !== kitImage(spec.role)) {
        // Someone else's image (app.image, realtime.image): used as it is, pulled if missing, never deleted.
        this.images.set(spec.image, new docker.RemoteImage(resourceName, { name: spec.image, keepLocally: true }, options).imageId);
        continue;
      }
      const pushed = args.pushedImages?.[spec.role];
      if (pushed) {
        this.images.set(spec.image, new docker.RemoteImage(resourceName, { name: pushed.repoDigest, keepLocally: true }, options).imageId);
        continue;
      }
      const image = new docker.Image(
        resourceName,
        {
          imageName: registry ? `${registry.server}/${IMAGE_NAMES[spec.role]}:latest` : spec.image,
          build: {
            ...buildLocation(spec.role),
            // The classic builder, as `npm run setup` builds: the provider's default (BuildKit)
            // would use another cache and, with a `# syntax` line, pull a frontend image.
            builderVersion: "BuilderV1",
            args: buildArgs(),
          },
          skipPush: registry === null,
          registry: registry ? { server: registry.server, username: registry.username, password: registry.password } : undefined,
        },
        options,
      );
      this.builtImages[spec.role] = image;
      // The digest (the image ID for local builds) changes with every rebuild, so containers follow new images.
      this.images.set(spec.image, image.repoDigest);
    }
    this.registerOutputs({ network: this.network.name });
  }

  /** The image reference a service's container runs on this machine. */
  imageFor(spec: ServiceSpec): pulumi.Output<string> {
    const image = this.images.get(spec.image);
    if (!image) throw new Error(`${spec.name} runs ${spec.image}, which host ${this.name} was not given`);
    return image;
  }
}

/**
 * images/<role>'s build context (and its Dockerfile when the context is another folder, as the
 * realtime image's is: it takes @realtime-kit/server from server/), relative to where Pulumi runs
 * the program, so that the state does not depend on the checkout's location.
 */
function buildLocation(role: ImageName): { context: string; dockerfile?: string } {
  const { context, dockerfile } = kitImageBuild(role);
  const relative = (to: string) => path.relative(process.cwd(), to) || ".";
  return path.dirname(dockerfile) === context ? { context: relative(context) } : { context: relative(context), dockerfile: relative(dockerfile) };
}

/**
 * Build arguments from the machine that runs `pulumi up`: BUILD_CA_CERTS carries extra CA
 * certificates for build stages behind a TLS-intercepting proxy (images/realtime/Dockerfile), the
 * same value `npm run setup` passes, so both builds share the layer cache.
 */
function buildArgs(): Record<string, string> | undefined {
  const caCerts = process.env.BUILD_CA_CERTS;
  return caCerts ? { BUILD_CA_CERTS: caCerts } : undefined;
}
