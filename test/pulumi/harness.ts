import * as pulumi from "@pulumi/pulumi";
import { createTestCertificates } from "../../driver/certs";
import { SEED_LABEL } from "../../model/labels";
import type { DeploymentOutputs } from "../../stacks/deploy";

/** A resource the program registered, as the engine would have received it. */
export interface Registered {
  type: string;
  name: string;
  inputs: Record<string, any>;
  /** Provider reference (`urn::id`) for resources given an explicit provider. */
  provider: string | undefined;
}

export interface Run {
  resources: Registered[];
  /** `create <name>` / `created <name>` in the order the engine saw them. */
  events: string[];
  outputs: {
    topology: string;
    urls: Record<string, string>;
    nodes: Record<string, { role: string; host: string; container: string }>;
    network: string;
    /** The adminUiPassword output, and whether Pulumi holds it as a secret; null without the admin UI. */
    adminUiPassword: { value: string; secret: boolean } | null;
  };
  /** Resources of one type. */
  ofType(type: string): Registered[];
  /** The container resource of a plan service (or of a seed, by its resource name). */
  container(service: string): Registered;
  /** The containers that run plan services (not the seeds that fill their volumes). */
  services(): Registered[];
  /** The seed containers that fill a service's volumes. */
  seeds(service: string): Registered[];
  /** Every file uploaded for a service (through its seeds), secrets revealed. */
  uploads(service: string): Upload[];
}

export interface Upload {
  file: string;
  content?: string;
  source?: string;
  sourceHash?: string;
  permissions?: string;
  owner?: string;
  group?: string;
}

export const TYPES = {
  container: "docker:index/container:Container",
  image: "docker:index/image:Image",
  remoteImage: "docker:index/remoteImage:RemoteImage",
  randomPassword: "random:index/randomPassword:RandomPassword",
  tlsPrivateKey: "tls:index/privateKey:PrivateKey",
  tlsSelfSignedCert: "tls:index/selfSignedCert:SelfSignedCert",
  tlsCertRequest: "tls:index/certRequest:CertRequest",
  tlsLocallySignedCert: "tls:index/locallySignedCert:LocallySignedCert",
  network: "docker:index/network:Network",
  provider: "pulumi:providers:docker",
} as const;

/** A string shaped like a bcrypt hash ($2a$, cost 10, 53 characters), different per resource. */
export function mockBcryptHash(name: string): string {
  return `$2a$10$${Buffer.from(name).toString("base64").replace(/[^A-Za-z0-9]/g, ".").padEnd(53, ".").slice(0, 53)}`;
}

/** A PEM block whose body names the mock resource it came from. */
export function mockPem(block: string, name: string): string {
  return `-----BEGIN ${block}-----\nmock ${name}\n-----END ${block}-----\n`;
}

/** Records every registration; gives images and containers the outputs the real provider would. */
export class RecordingMocks implements pulumi.runtime.Mocks {
  readonly resources: Registered[] = [];
  /** Engine events in order: `create <name>` when a registration arrives, `created <name>` when it completes. */
  readonly events: string[] = [];

  constructor(private readonly slow: Record<string, number> = {}) {}

  async newResource(args: pulumi.runtime.MockResourceArgs): Promise<{ id: string; state: Record<string, any> }> {
    this.resources.push({ type: args.type, name: args.name, inputs: args.inputs, provider: args.provider });
    this.events.push(`create ${args.name}`);
    const state: Record<string, any> = { ...args.inputs };
    if (args.type === TYPES.image) state.repoDigest = `sha256:built-${args.name}`;
    if (args.type === TYPES.remoteImage) state.imageId = `sha256:pulled-${args.name}`;
    if (args.type === TYPES.randomPassword) {
      state.result = `mock-password-of-${args.name}`;
      state.bcryptHash = mockBcryptHash(args.name);
    }
    // @pulumi/tls: a stand-in PEM naming the resource, so a test can follow which one went where.
    if (args.type === TYPES.tlsPrivateKey) state.privateKeyPem = mockPem("PRIVATE KEY", args.name);
    if (args.type === TYPES.tlsSelfSignedCert || args.type === TYPES.tlsLocallySignedCert) state.certPem = mockPem("CERTIFICATE", args.name);
    if (args.type === TYPES.tlsCertRequest) state.certRequestPem = mockPem("CERTIFICATE REQUEST", args.name);
    const delay = this.slow[args.name];
    if (delay) await new Promise((resolve) => setTimeout(resolve, delay));
    this.events.push(`created ${args.name}`);
    return { id: `${args.name}-id`, state };
  }

  call(args: pulumi.runtime.MockCallArgs): Record<string, any> {
    return args.inputs;
  }
}

/**
 * Runs the Pulumi program (stacks/deploy.ts) against mocks with the given stack config, as
 * `pulumi up` would with `realtime-kit:<key>` set to each value (objects as `--path` stores them).
 * `secrets` are set as secret config values; `slow` makes the engine take that many ms to create
 * the named resources (to show what waits for what).
 */
export async function runProgram(config: Record<string, unknown>, secrets: Record<string, string> = {}, stack = "test", slow: Record<string, number> = {}): Promise<Run> {
  const mocks = new RecordingMocks(slow);
  await pulumi.runtime.setMocks(mocks, "realtime-kit", stack, false);
  const all: Record<string, string> = {};
  for (const [key, value] of Object.entries({ ...config, ...secrets })) all[`realtime-kit:${key}`] = typeof value === "string" ? value : JSON.stringify(value);
  pulumi.runtime.setAllConfig(all, Object.keys(secrets).map((key) => `realtime-kit:${key}`));

  // Loaded after the mocks are in place, as a Pulumi program must be.
  const { deploy } = require("../../stacks/deploy") as typeof import("../../stacks/deploy");
  const out: DeploymentOutputs = deploy();
  const components = [out.deployment.redis, out.deployment.realtime, out.deployment.app, out.deployment.edge];
  const containerIds = components.flatMap((component) => (component ? Object.values(component.containers).map((container) => container.id) : []));
  await settle(pulumi.all(containerIds));
  const nodes = await settle(out.nodes);
  const network = await settle(out.network);
  const adminUiPassword = out.adminUiPassword ? { value: await settle(out.adminUiPassword), secret: await pulumi.isSecret(out.adminUiPassword) } : null;
  const resources = mocks.resources;
  const seedOf = (resource: Registered): string | undefined =>
    (resource.inputs.labels as { label: string; value: string }[] | undefined)?.find((label) => label.label === SEED_LABEL)?.value;
  const containers = resources.filter((resource) => resource.type === TYPES.container);
  const seeds = (service: string) => containers.filter((resource) => seedOf(resource) === service);
  return {
    resources,
    events: mocks.events,
    outputs: { topology: out.topology, urls: out.urls, nodes, network, adminUiPassword },
    ofType: (type) => resources.filter((resource) => resource.type === type),
    container(service) {
      const found = resources.filter((resource) => resource.type === TYPES.container && resource.name === service);
      if (found.length !== 1) throw new Error(`expected one container resource ${service}, found ${found.length}`);
      return found[0]!;
    },
    services: () => containers.filter((resource) => seedOf(resource) === undefined),
    seeds,
    uploads: (service) => seeds(service).flatMap((seed) => reveal<Upload[]>(seed.inputs.uploads ?? [])),
  };
}

function settle<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply(resolve));
}

/** Pulumi's marker for a secret value, as the engine receives it. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";

export function isSecret(value: unknown): boolean {
  return value !== null && typeof value === "object" && SECRET_SIG in value;
}

/** The value with every secret wrapper removed. */
export function reveal<T = any>(value: unknown): T {
  if (isSecret(value)) return reveal((value as { value: unknown }).value);
  if (Array.isArray(value)) return value.map((item) => reveal(item)) as T;
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, reveal(item)])) as T;
  return value as T;
}

/**
 * A throwaway certificate and its key (the program checks that they belong together and are valid
 * now; the tests never start TLS). Filled by the root hook below, before any test reads it.
 */
export const TLS_SECRETS = { tlsCert: "", tlsKey: "" };

before(async () => {
  const certificates = await createTestCertificates(["localhost"]);
  Object.assign(TLS_SECRETS, { tlsCert: certificates.cert, tlsKey: certificates.key });
});
