import crypto from "node:crypto";
import { Wait, type StartedTestContainer } from "testcontainers";
import { planDeployment, type Deployment } from "../render/deployment";
import { type ServiceSpec } from "../plan/services";
import { ConfigError } from "../model/errors";
import { DRIVER_LABEL, KIT_LABEL, LOCAL_DRIVER, SERVICE_LABEL, TOPOLOGY_LABEL } from "../model/labels";
import type { Model } from "../model/model";
import { deploymentParts } from "../plan/roles";
import { hasRedis, newDeploymentSecrets, secretEnvOf, type DeploymentSecrets } from "../plan/secrets";
import { tlsMaterial, type TlsMaterial } from "./certs";
import { docker, removeByLabel } from "./engine";
import { imageHealthCheck, shellCommand } from "./health";
import { KitContainer } from "./kit-container";
import { assertPortsFree } from "./ports";
import { RunningTopology, type ServiceContainer } from "./running";
import { internalUrlsOf, urlsOf } from "./urls";
import { fillServiceVolumes } from "./volumes";

export interface StartOptions {
  /** Value of KIT_LABEL on everything this run creates; default a fresh `rk-<hex>`. */
  runId?: string;
  /** Host address published ports bind to (default 127.0.0.1: reachable from this machine only). */
  publishAddress?: string;
  /** Progress lines (service started, ...). */
  log?: (message: string) => void;
  /**
   * How often Docker runs the images' own HEALTHCHECK commands while this run lasts (ms).
   * Default null: the images' own timing (every 5-10 s, as a `pulumi up` deployment runs them),
   * with readiness at start-up decided by running the same check from here until it passes, so
   * a topology is still ready in seconds. Each check is a `docker exec`, about 0.1 s of CPU
   * (measured): a short interval is for tests that need Docker to notice a failure quickly,
   * and costs a deployment that stays up a steady share of the machine.
   */
  healthIntervalMs?: number | null;
  /** Per-service limit for becoming healthy (ms). */
  startupTimeoutMs?: number;
}

/**
 * A service that would not start or become healthy. Its message carries the service's last
 * output, which says more than a stack trace would, so the CLI prints the message alone.
 */
export class StartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StartError";
    this.stack = `${this.name}: ${message}`;
  }
}

export function newRunId(prefix = "rk"): string {
  return `${prefix}-${crypto.randomBytes(4).toString("hex")}`;
}

/**
 * Plans the model's deployment and runs it: a fresh labelled network, then every service part by
 * part in start order (see startGroups), each waited for until its image's HEALTHCHECK reports
 * healthy. On any failure everything created so far is removed.
 */
export async function startTopology(model: Model, options: StartOptions = {}): Promise<RunningTopology> {
  if (model.placement) {
    throw new ConfigError("hosts", "`up` (the local driver) runs a deployment on this machine's Docker engine only; deploy several hosts with the Pulumi stack");
  }
  const deployment = planDeployment(model);
  const runId = options.runId ?? newRunId();
  const log = options.log ?? (() => undefined);
  const publishAddress = options.publishAddress ?? "127.0.0.1";
  await assertPortsFree(deployment);
  await assertImages(deployment);

  const tls = await tlsMaterial(deployment);
  // Made here, per deployment, and given only to the containers that need it (plan/secrets.ts).
  const secrets = newDeploymentSecrets(hasRedis(deployment.services));
  const networkName = `rk-${runId}`;
  const containers = new Map<string, ServiceContainer>();
  try {
    await docker.createNetwork({ Name: networkName, Driver: "bridge", CheckDuplicate: true, Labels: { [KIT_LABEL]: runId, [DRIVER_LABEL]: LOCAL_DRIVER, [TOPOLOGY_LABEL]: model.topology } });
    for (const group of startGroups(deployment)) {
      const started = Date.now();
      // allSettled: when one member fails, the others finish starting before the cleanup below,
      // so none of them is created after the removal.
      const results = await Promise.allSettled(
        group.map(async (service) => {
          containers.set(service.name, await startService(service, deployment, { runId, networkName, publishAddress, tls, secrets, options }));
        }),
      );
      const failed = results.find((result): result is PromiseRejectedResult => result.status === "rejected");
      if (failed) throw failed.reason;
      log(`started ${group.map((service) => service.name).join(", ")} (healthy in ${((Date.now() - started) / 1000).toFixed(1)} s)`);
    }
  } catch (error) {
    await removeByLabel(runId).catch(() => undefined);
    throw error;
  }
  return new RunningTopology(runId, deployment, networkName, tls?.ca ?? null, urlsOf(model), internalUrlsOf(deployment), containers, tls);
}

/**
 * The deployment's parts in start order (plan/roles.ts, the order the Pulumi stacks follow too),
 * each part's consecutive services of one role started together: the pools' members at once,
 * the edge proxies one after the other.
 */
function startGroups(deployment: Deployment): ServiceSpec[][] {
  const groups: ServiceSpec[][] = [];
  for (const part of Object.values(deploymentParts(deployment.services))) {
    for (const service of part) {
      const last = groups[groups.length - 1];
      if (last && last[0]!.role === service.role) last.push(service);
      else groups.push([service]);
    }
  }
  return groups;
}

interface StartContext {
  runId: string;
  networkName: string;
  publishAddress: string;
  tls: TlsMaterial | null;
  secrets: DeploymentSecrets;
  options: StartOptions;
}

async function startService(service: ServiceSpec, deployment: Deployment, context: StartContext): Promise<StartedTestContainer> {
  const { runId, networkName } = context;
  const labels = { [KIT_LABEL]: runId, [DRIVER_LABEL]: LOCAL_DRIVER, [TOPOLOGY_LABEL]: deployment.model.topology };
  const mounts = await fillServiceVolumes(docker, deployment, service, { prefix: `rk-${runId}`, labels }, context.tls);
  const container = new KitContainer(service.image)
    .onNetwork(networkName, service.name)
    .withName(`rk-${runId}-${service.name}`)
    .withLabels({ ...labels, [SERVICE_LABEL]: service.name })
    .withEnvironment({ ...service.env, ...secretEnvOf(service, context.secrets) })
    .publishOn(context.publishAddress, service.publish)
    .confined(service, mounts)
    .withStartupTimeout(context.options.startupTimeoutMs ?? 90_000);
  if (service.user) container.withUser(service.user);
  const intervalMs = context.options.healthIntervalMs ?? null;
  const healthCheck = await imageHealthCheck(service.image);
  if (!healthCheck) {
    throw new ConfigError(`${service.role}.image`, `image ${service.image} has no HEALTHCHECK; the kit waits on it before routing to ${service.name}. Add one that asks the health route (README: Your own images; \`realtime-kit verify-image ${service.image}\` checks the whole contract)`);
  }
  if (intervalMs === null) {
    container.withWaitStrategy(Wait.forSuccessfulCommand(shellCommand(healthCheck.test)));
  } else {
    container.withHealthCheck({ ...healthCheck, interval: intervalMs }).withWaitStrategy(Wait.forHealthCheck());
  }
  // Testcontainers removes a container that never became healthy: keep its output for the error.
  const output: string[] = [];
  container.withLogConsumer((stream) => {
    stream.on("data", (chunk: Buffer | string) => output.push(String(chunk)));
    stream.on("error", () => undefined);
  });
  try {
    return await container.start();
  } catch (error) {
    const logs = output.join("").split("\n").slice(-30).join("\n").trim();
    throw new StartError(`${service.name} (${service.image}) did not become healthy: ${(error as Error).message}${logs ? `\n--- last output of ${service.name} ---\n${logs}` : ""}${fdLimitHint(logs)}`);
  }
}

/** A hint for the one start failure users meet most: HAProxy and the open-file limit. */
function fdLimitHint(logs: string): string {
  if (!/Cannot raise FD limit/.test(logs)) return "";
  return "\nhint: HAProxy needs about 2 x limits.maxConnections open files and this Docker engine allows fewer; lower it (e.g. --set limits.maxConnections=5000) or raise the engine's open-file limit (LimitNOFILE of dockerd)";
}

/** Fails before anything starts when an image is missing (there is no registry to pull from). */
async function assertImages(deployment: Deployment): Promise<void> {
  for (const image of new Set(deployment.services.map((service) => service.image))) {
    try {
      await docker.getImage(image).inspect();
    } catch {
      const service = deployment.services.find((s) => s.image === image)!;
      if (service.role === "realtime" || service.role === "app") {
        throw new ConfigError(`${service.role}.image`, `image ${image} is not on this Docker engine; build it (npm run setup) or name an image that exists`);
      }
      throw new Error(`image ${image} is not on this Docker engine; build the kit's images first: npm run setup`);
    }
  }
}
