import type * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { planDeployment, type Deployment } from "../../render/deployment";
import { kitImage, type ServiceSpec } from "../../plan/services";
import type { ImageName } from "../../model/layout";
import type { Model } from "../../model/model";
import { deploymentParts } from "../../plan/roles";
import { hasRedis, needsAdminUiHash, redisTlsAddresses, type DeploymentSecrets } from "../../plan/secrets";
import { resolveDeploymentArgs, type RegistrySettings } from "../config";
import type { ConfigInput } from "../../model/schema";
import { EdgeProxies } from "./edge";
import { DEFAULT_HOST, DeploymentHost } from "./host";
import { PrometheusServer } from "./monitoring";
import { AppPool, RealtimePool } from "./pools";
import { RedisCertificates, SharedRedis } from "./redis";
import type { ServiceContext } from "./service";

export interface RealtimeDeploymentArgs {
  /**
   * The kit's options, as in a `realtime-kit` config file or a stack's `realtime-kit:*` settings
   * (`npx realtime-kit options` lists them): checked by the same schema, bad input fails with the
   * same error naming the field.
   */
  options: ConfigInput;
  /** PEM text of the certificate chain and private key, for the topologies that serve https (kept secret in state). */
  tls?: { cert: string; key: string };
  /** A registry the kit's images are pushed to after building and pulled from on every host. */
  registry?: RegistrySettings;
  /** Names and labels every container and network the deployment makes; default the Pulumi stack's name. */
  stack?: string;
  /** Folder relative paths in `options` (staticDir) resolve against; default the program's working directory. */
  baseDir?: string;
}
/** Where one service runs, for the `nodes` output. */
export interface NodeInfo {
  role: ImageName;
  host: string;
  container: string;
}

/**
 * A whole realtime-kit topology: the plan `planDeployment` derives from the model (the same one
 * `realtime-kit generate` writes out), run on one Docker engine or spread over several hosts.
 */
export class RealtimeDeployment extends pulumi.ComponentResource {
  /** The model the options resolve to: what `realtime-kit generate` would build from them. */
  readonly model: Model;
  readonly plan: Deployment;
  readonly hosts: DeploymentHost[];
  readonly redis: SharedRedis | undefined;
  readonly realtime: RealtimePool;
  readonly app: AppPool | undefined;
  readonly edge: EdgeProxies | undefined;
  readonly prometheus: PrometheusServer | undefined;
  /** Entry points by name (chat, realtime, site, site-tls, and prometheus with metrics.prometheus). */
  readonly urls: Record<string, string>;
  /** Which service runs on which machine, in which container. */
  readonly nodes: pulumi.Output<Record<string, NodeInfo>>;
  /** Name of the deployment's private Docker network (the same on every host). */
  readonly network: pulumi.Output<string>;
  /** The password Redis requires (a secret), for programs that reach the deployment's Redis themselves; null without Redis. */
  readonly redisPassword: pulumi.Output<string> | null;
  /** The CA that signed Redis's certificate, for programs on other machines that reach Redis over TLS; null where Redis is not reached across machines. */
  readonly redisCaCert: pulumi.Output<string> | null;
  /** The admin UI's password (a secret), with adminUi.enabled; null without it. */
  readonly adminUiPassword: pulumi.Output<string> | null;

  constructor(name: string, args: RealtimeDeploymentArgs, opts?: pulumi.ComponentResourceOptions) {
    super("realtime-kit:index:RealtimeDeployment", name, {}, opts);
    const { model, tls } = resolveDeploymentArgs(args.options, args.tls ?? null, args.baseDir ?? process.cwd());
    const stack = args.stack ?? pulumi.getStack();
    const registry = args.registry ?? null;
    this.model = model;
    const plan = (this.plan = planDeployment(model));
    const machines = model.placement?.hosts ?? [null];

    // Each host builds the kit's images it runs. With a registry the first host builds them all and
    // pushes them, and the others pull them by digest.
    const hosts: DeploymentHost[] = [];
    for (const machine of machines) {
      const pushedImages = registry && hosts[0] ? hosts[0].builtImages : undefined;
      const first = hosts.length === 0;
      const images = plan.services.filter((spec) => spec.host === (machine?.name ?? null) || (first && registry && spec.image === kitImage(spec.role)));
      hosts.push(
        new DeploymentHost(machine?.name ?? DEFAULT_HOST, { stack, machine, images, registry, pushedImages }, { parent: this }),
      );
    }
    this.hosts = hosts;
    const hostOf = (spec: ServiceSpec): DeploymentHost => {
      const host = spec.host === null ? hosts[0] : hosts.find((candidate) => candidate.name === spec.host);
      if (!host) throw new Error(`${spec.name} is placed on unknown host ${spec.host}`);
      return host;
    };
    // Redis requires a password: made once and kept secret in the state (the same across updates),
    // given only to Redis and the realtime nodes (plan/secrets.ts).
    this.redisPassword = hasRedis(plan.services) ? new random.RandomPassword(`${name}-redis-password`, { length: 32, special: false }, { parent: this }).result : null;
    // Across machines Redis's port is on the hosts' network: TLS with a CA of the deployment's own.
    const redisTlsAt = redisTlsAddresses(plan.services);
    const redisCertificates = redisTlsAt ? new RedisCertificates(`${name}-redis-tls`, { addresses: redisTlsAt }, { parent: this }) : null;
    const redisTls = redisCertificates?.material ?? null;
    this.redisCaCert = redisCertificates?.caCert ?? null;
    // The admin UI's password: made once, kept secret; the nodes get only its bcrypt hash.
    const adminUi = plan.services.some(needsAdminUiHash) ? new random.RandomPassword(`${name}-admin-ui-password`, { length: 24, special: false }, { parent: this }) : null;
    // random marks `result` secret through the engine (additionalSecretOutputs); said here too, for a stack output.
    this.adminUiPassword = adminUi ? pulumi.secret(adminUi.result) : null;
    const secrets: pulumi.Output<DeploymentSecrets> | null =
      this.redisPassword || adminUi
        ? pulumi
            .all([this.redisPassword, redisTls, adminUi?.result ?? null, adminUi?.bcryptHash ?? null])
            .apply(([redisPassword, material, password, passwordHash]) => ({
              redisPassword: redisPassword ?? null,
              redisTls: material ?? null,
              adminUi: password && passwordHash ? { password, passwordHash } : null,
            }))
        : null;
    const context: ServiceContext = { stack, plan, tls, hostOf, secrets };
    const { redis, realtime, app, edge, monitoring } = deploymentParts(plan.services);

    // Redis before the realtime nodes (they connect at start); the front door last, so that when
    // `pulumi up` returns every backend is up and the entry points answer.
    this.redis = redis.length > 0 ? new SharedRedis("redis", { context, services: redis }, { parent: this }) : undefined;
    this.realtime = new RealtimePool("realtime", { context, services: realtime }, { parent: this, dependsOn: this.redis ? [this.redis] : [] });
    this.app = app.length > 0 ? new AppPool("app", { context, services: app }, { parent: this }) : undefined;
    const backends = [this.realtime, ...(this.app ? [this.app] : [])];
    this.edge = edge.length > 0 ? new EdgeProxies("edge", { context, services: edge }, { parent: this, dependsOn: backends }) : undefined;
    // Last: every target it scrapes exists when it starts.
    const scraped = [...backends, ...(this.edge ? [this.edge] : [])];
    this.prometheus = monitoring.length > 0 ? new PrometheusServer("prometheus", { context, services: monitoring }, { parent: this, dependsOn: scraped }) : undefined;

    this.urls = Object.fromEntries(plan.entrypoints.map((entry) => [entry.name, entry.url]));
    const containers: [ServiceSpec, docker.Container][] = [this.redis, this.realtime, this.app, this.edge, this.prometheus]
      .flatMap((component) => (component ? Object.entries(component.containers) : []))
      .map(([service, container]) => [plan.services.find((spec) => spec.name === service)!, container]);
    this.nodes = pulumi
      .all(containers.map(([, container]) => container.name))
      .apply((names) => Object.fromEntries(containers.map(([spec], index) => [spec.name, { role: spec.role, host: hostOf(spec).name, container: names[index]! }])));
    this.network = hosts[0]!.network.name;
    this.registerOutputs({ urls: this.urls, nodes: this.nodes, network: this.network });
  }
}

