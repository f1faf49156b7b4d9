import { isDeepStrictEqual } from "node:util";
import type Docker from "dockerode";
import type * as pulumi from "@pulumi/pulumi";
import { reveal } from "../../pulumi/harness";
import { CONTAINER } from "./container";
import { IMAGE, REMOTE_IMAGE } from "./image";
import { NETWORK } from "./network";
import { PROVIDER, targetFor, type ProviderTarget } from "./provider";
import { RANDOM_PASSWORD } from "./random";
import { CERT_REQUEST, LOCALLY_SIGNED_CERT, PRIVATE_KEY, SELF_SIGNED_CERT } from "./tls";
import { VOLUME } from "./volume";

/** What one resource type does on the engine, the way its provider does it (each file cites the source). */
export interface ResourceHandler {
  /** Input fields the handler knows, as a shape: `true` for a leaf, a nested shape for an object or the items of a list. */
  fields: FieldShape;
  /**
   * How Pulumi replaces it when an input changes: every input of the kit's resources is ForceNew
   * in the provider's schema, so a change is a replacement; pulumi-docker marks containers
   * DeleteBeforeReplace (provider/resources.go), the others are created before the old one goes.
   */
  replace: "delete-before-replace" | "create-before-delete";
  /** Creates it on `engine`, its provider's (`target` also carries the provider's registry credentials). */
  create(engine: Docker, inputs: Inputs, target: ProviderTarget): Promise<{ id: string; outputs: Inputs }>;
  delete(engine: Docker, applied: Applied): Promise<void>;
}

export type Inputs = Record<string, any>;
export type FieldShape = { [field: string]: true | FieldShape };

/** A resource as it stands on the engine. */
export interface Applied {
  type: string;
  name: string;
  id: string;
  inputs: Inputs;
  outputs: Inputs;
  engine: Docker;
}

/** What happened to a resource during one program run. */
export type Step = { op: "create" | "replace" | "same" | "delete"; type: string; name: string };

const HANDLERS: Record<string, ResourceHandler> = {
  "docker:index/container:Container": CONTAINER,
  "docker:index/volume:Volume": VOLUME,
  "docker:index/network:Network": NETWORK,
  "docker:index/image:Image": IMAGE,
  "docker:index/remoteImage:RemoteImage": REMOTE_IMAGE,
  "pulumi:providers:docker": PROVIDER,
  "random:index/randomPassword:RandomPassword": RANDOM_PASSWORD,
  "tls:index/privateKey:PrivateKey": PRIVATE_KEY,
  "tls:index/selfSignedCert:SelfSignedCert": SELF_SIGNED_CERT,
  "tls:index/certRequest:CertRequest": CERT_REQUEST,
  "tls:index/locallySignedCert:LocallySignedCert": LOCALLY_SIGNED_CERT,
};

/**
 * A Pulumi mock monitor that is a Docker provider: every custom resource the program registers is
 * applied to the engine with the provider's own Docker API calls, once its inputs (and so the
 * resources it depends on) are resolved, exactly when the Pulumi engine would ask the provider to
 * create it. It keeps the applied state between program runs, so a second run does what a second
 * `pulumi up` does for the kit's resources: an unchanged resource stays, a changed one is replaced
 * (all their inputs are ForceNew), one the program no longer declares is deleted afterwards.
 *
 * This is the Pulumi program's resources applied to a real engine with the provider's Docker
 * calls. It is not `pulumi up`: no Pulumi engine, no state file, no provider plugin, no refresh,
 * and only the resource types and fields the kit uses (any other is an error, never skipped).
 */
export class ProviderEngine implements pulumi.runtime.Mocks {
  private readonly applied = new Map<string, Applied>();
  private readonly order: string[] = [];
  private registered = new Set<string>();
  private superseded: Applied[] = [];
  private inFlight = 0;
  steps: Step[] = [];
  readonly failures: Error[] = [];

  async newResource(args: pulumi.runtime.MockResourceArgs): Promise<{ id: string | undefined; state: Record<string, any> }> {
    if (!args.custom) return { id: undefined, state: {} }; // component resources are the program's own bookkeeping
    this.inFlight++;
    try {
      return await this.apply(args);
    } catch (error) {
      const failure = new Error(`${args.type} ${args.name}: ${(error as Error).message}`);
      this.failures.push(failure);
      throw failure;
    } finally {
      this.inFlight--;
    }
  }

  /** Resolves once no resource is being applied (after a failure, the others still finish). */
  async idle(): Promise<void> {
    while (this.inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 100));
  }

  call(args: pulumi.runtime.MockCallArgs): Record<string, any> {
    const failure = new Error(`the program called ${args.token}, which this engine does not implement`);
    this.failures.push(failure);
    throw failure;
  }

  /** Starts a new program run: records which resources it declares. */
  beginRun(): void {
    this.registered = new Set();
    this.superseded = [];
    this.steps = [];
  }

  /** Ends a program run: deletes what was replaced (create-before-delete) or is no longer declared, newest first. */
  async endRun(): Promise<Step[]> {
    const gone = this.order.filter((key) => !this.registered.has(key));
    for (const key of [...gone].reverse()) {
      const applied = this.applied.get(key)!;
      await HANDLERS[applied.type]!.delete(applied.engine, applied);
      this.applied.delete(key);
      this.order.splice(this.order.indexOf(key), 1);
      this.steps.push({ op: "delete", type: applied.type, name: applied.name });
    }
    for (const old of this.superseded.reverse()) await HANDLERS[old.type]!.delete(old.engine, old);
    this.superseded = [];
    return this.steps;
  }

  /** Deletes everything, newest first (what `pulumi destroy` asks the provider to do). */
  async destroy(): Promise<void> {
    this.beginRun();
    await this.endRun();
  }

  /** The resources on the engine now, in creation order. */
  resources(): Applied[] {
    return this.order.map((key) => this.applied.get(key)!);
  }

  private async apply(args: pulumi.runtime.MockResourceArgs): Promise<{ id: string; state: Record<string, any> }> {
    const handler = HANDLERS[args.type];
    if (!handler) throw new Error(`resource type ${args.type} is not known to this engine; add its provider's behaviour, do not skip it`);
    const inputs = reveal<Inputs>(args.inputs);
    checkFields(inputs, handler.fields, args.type);
    const key = `${args.type}::${args.name}`;
    this.registered.add(key);
    const previous = this.applied.get(key);
    if (previous && isDeepStrictEqual(previous.inputs, inputs)) {
      this.steps.push({ op: "same", type: args.type, name: args.name });
      return { id: previous.id, state: previous.outputs };
    }
    const target = targetFor(args.provider, this.resources());
    if (previous && handler.replace === "delete-before-replace") await handler.delete(previous.engine, previous);
    if (previous && handler.replace === "create-before-delete") this.superseded.push(previous);
    const { id, outputs } = await handler.create(target.engine, inputs, target);
    this.applied.set(key, { type: args.type, name: args.name, id, inputs, outputs, engine: target.engine });
    // A replacement is the newest resource now: it may use resources created earlier in this run.
    if (previous) this.order.splice(this.order.indexOf(key), 1);
    this.order.push(key);
    this.steps.push({ op: previous ? "replace" : "create", type: args.type, name: args.name });
    return { id, state: outputs };
  }
}

/** Any input field the handler does not know is an error: a field silently dropped would be a lie about what was applied. */
function checkFields(value: unknown, shape: FieldShape, where: string): void {
  const items = Array.isArray(value) ? value : [value];
  for (const item of items) {
    if (item === null || typeof item !== "object") continue;
    for (const [field, nested] of Object.entries(item as Record<string, unknown>)) {
      const known = shape[field];
      if (known === undefined) throw new Error(`input ${where}.${field} is not known to this engine; map it to the provider's Docker call (citing the provider source), do not skip it`);
      if (known !== true) checkFields(nested, known, `${where}.${field}`);
    }
  }
}
