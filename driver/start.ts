import crypto from "node:crypto";
import type Docker from "dockerode";
import { Wait } from "testcontainers";
import { planDeployment, type Deployment } from "../render/deployment";
import { type ServiceSpec } from "../plan/services";
import { ConfigError } from "../model/errors";
import { DRIVER_LABEL, KIT_LABEL, LOCAL_DRIVER, SERVICE_LABEL, TOPOLOGY_LABEL } from "../model/labels";
import type { Model } from "../model/model";
import { deploymentParts } from "../plan/roles";
import { secretEnvOf, type DeploymentSecrets } from "../plan/secrets";
import { tlsMaterial, type TlsMaterial } from "./certs";
import { logsOf } from "./engine";
import { execIn, serviceContainerOf, type ServiceContainer } from "./exec";
import { imageHealthCheck, shellCommand, waitHealthy, type ImageHealthCheck } from "./health";
import { DeploymentEngines, UnreachableEngineError } from "./hosts";
import { confinementHostConfig, KitContainer, portBindings } from "./kit-container";
import { assertPortsFree } from "./ports";
import { RunningTopology } from "./running";
import { newDeploymentSecrets } from "./secrets";
import { internalUrlsOf, urlsOf } from "./urls";
import { fillServiceVolumes, type ServiceMount } from "./volumes";
import { waitFor } from "./wait";

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
  const deployment = planDeployment(model);
  const runId = options.runId ?? newRunId();
  const log = options.log ?? (() => undefined);
  const publishAddress = options.publishAddress ?? "127.0.0.1";
  const engines = new DeploymentEngines(model.placement?.hosts ?? null);
  // Across hosts the ports are another machine's: its engine refuses a clash when the service starts.
  if (!model.placement) await assertPortsFree(deployment);
  await assertImages(deployment, engines);

  const tls = await tlsMaterial(deployment);
  // Made here, per deployment, and given only to the containers that need it (plan/secrets.ts).
  const secrets = await newDeploymentSecrets(deployment.services);
  const networkName = `rk-${runId}`;
  const containers = new Map<string, ServiceContainer>();
  try {
    // The same network name on every machine: each host's services reach each other by name on it.
    for (const { engine } of engines.all()) {
      await engine.createNetwork({ Name: networkName, Driver: "bridge", CheckDuplicate: true, Labels: { [KIT_LABEL]: runId, [DRIVER_LABEL]: LOCAL_DRIVER, [TOPOLOGY_LABEL]: model.topology } });
    }
    for (const group of startGroups(deployment)) {
      const started = Date.now();
      // allSettled: when one member fails, the others finish starting before the cleanup below,
      // so none of them is created after the removal.
      const results = await Promise.allSettled(
        group.map(async (service) => {
          containers.set(service.name, await startService(service, deployment, { runId, networkName, publishAddress, tls, secrets, engines, options }));
        }),
      );
      const failed = results.find((result): result is PromiseRejectedResult => result.status === "rejected");
      if (failed) throw failed.reason;
      const where = (service: ServiceSpec) => (service.host ? ` on ${service.host}` : "");
      log(`started ${group.map((service) => `${service.name}${where(service)}`).join(", ")} (healthy in ${((Date.now() - started) / 1000).toFixed(1)} s)`);
    }
  } catch (error) {
    await engines.removeByLabel(runId).catch(() => undefined);
    throw error;
  }
  return new RunningTopology(runId, deployment, networkName, tls?.ca ?? null, urlsOf(model), internalUrlsOf(deployment), containers, tls, engines, secrets.adminUi?.password ?? null);
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
  engines: DeploymentEngines;
  options: StartOptions;
}

async function startService(service: ServiceSpec, deployment: Deployment, context: StartContext): Promise<ServiceContainer> {
  const { runId, networkName } = context;
  const engine = context.engines.of(service.host);
  const labels = { [KIT_LABEL]: runId, [DRIVER_LABEL]: LOCAL_DRIVER, [TOPOLOGY_LABEL]: deployment.model.topology };
  const mounts = await fillServiceVolumes(engine, deployment, service, { prefix: `rk-${runId}`, labels }, context.tls);
  const intervalMs = context.options.healthIntervalMs ?? null;
  const healthCheck = await imageHealthCheck(service.image, engine);
  if (!healthCheck) {
    throw new ConfigError(`${service.role}.image`, `image ${service.image} has no HEALTHCHECK; the kit waits on it before routing to ${service.name}. Add one that asks the health route (README: Your own images; \`realtime-kit verify-image ${service.image}\` checks the whole contract)`);
  }
  if (deployment.model.placement) return startOnHost(engine, service, { ...context, labels, mounts, healthCheck, intervalMs });
  const container = new KitContainer(service.image)
    .onNetwork(networkName, service.name)
    .withName(`rk-${runId}-${service.name}`)
    .withLabels({ ...labels, [SERVICE_LABEL]: service.name })
    .withEnvironment({ ...service.env, ...secretEnvOf(service, context.secrets) })
    .publishOn(context.publishAddress, service.publish)
    .confined(service, mounts)
    .withStartupTimeout(context.options.startupTimeoutMs ?? 90_000);
  if (service.user) container.withUser(service.user);
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

/**
 * Starts a service on one machine of `hosts`, straight through that machine's engine
 * (testcontainers talks to one engine per process, the local one): the same container as
 * KitContainer makes, waited for the same way, its last output in the error when it fails.
 */
async function startOnHost(
  engine: Docker,
  service: ServiceSpec,
  context: StartContext & { labels: Record<string, string>; mounts: ServiceMount[]; healthCheck: ImageHealthCheck; intervalMs: number | null },
): Promise<ServiceContainer> {
  const { healthCheck, intervalMs } = context;
  const ns = (ms: number | undefined) => (ms === undefined ? undefined : ms * 1e6);
  const container = await engine.createContainer({
    name: `rk-${context.runId}-${service.name}`,
    Image: service.image,
    Labels: { ...context.labels, [SERVICE_LABEL]: service.name },
    Env: Object.entries({ ...service.env, ...secretEnvOf(service, context.secrets) }).map(([key, value]) => `${key}=${value}`),
    User: service.user ?? undefined,
    ExposedPorts: Object.fromEntries(service.publish.map((port) => [`${port.containerPort}/tcp`, {}])),
    Healthcheck:
      intervalMs === null
        ? undefined
        : { Test: healthCheck.test, Interval: ns(intervalMs), Timeout: ns(healthCheck.timeout), Retries: healthCheck.retries, StartPeriod: ns(healthCheck.startPeriod) },
    HostConfig: { NetworkMode: context.networkName, PortBindings: portBindings(context.publishAddress, service.publish), ...confinementHostConfig(service, context.mounts) },
    NetworkingConfig: { EndpointsConfig: { [context.networkName]: { Aliases: [service.name] } } },
  });
  const timeoutMs = context.options.startupTimeoutMs ?? 90_000;
  try {
    await container.start();
    if (intervalMs === null) {
      const command = ["sh", "-c", shellCommand(healthCheck.test)];
      await waitFor(
        async () => {
          const state = (await container.inspect()).State;
          if (!state.Running) throw new Error(`not running (exit ${state.ExitCode}, ${state.Error || state.Status})`);
          return (await execIn(container, command)).exitCode === 0;
        },
        { timeoutMs, intervalMs: 250, what: `${service.name}'s health check to pass` },
      );
    } else {
      await waitHealthy(container, `${service.name} to report healthy`, timeoutMs);
    }
  } catch (error) {
    const logs = (await logsOf(container).catch(() => "")).split("\n").slice(-30).join("\n").trim();
    throw new StartError(`${service.name} (${service.image}) did not become healthy on ${service.host}: ${(error as Error).message}${logs ? `\n--- last output of ${service.name} ---\n${logs}` : ""}${fdLimitHint(logs)}`);
  }
  return serviceContainerOf(container);
}

/** A hint for the one start failure users meet most: HAProxy and the open-file limit. */
function fdLimitHint(logs: string): string {
  if (!/Cannot raise FD limit/.test(logs)) return "";
  return "\nhint: HAProxy needs about 2 x limits.maxConnections open files and this Docker engine allows fewer; lower it (e.g. --set limits.maxConnections=5000) or raise the engine's open-file limit (LimitNOFILE of dockerd)";
}

/** Fails before anything starts when an image is missing on an engine that runs it (there is no registry to pull from). */
async function assertImages(deployment: Deployment, engines: DeploymentEngines): Promise<void> {
  const checked = new Set<string>();
  for (const service of deployment.services) {
    const where = engines.describe(service.host);
    if (checked.has(`${service.host}/${service.image}`)) continue;
    checked.add(`${service.host}/${service.image}`);
    try {
      await engines.of(service.host).getImage(service.image).inspect();
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode !== 404) throw new UnreachableEngineError(`${where} did not answer: ${(error as Error).message}`);
      const fix = service.host ? `load it there (docker save ${service.image} | docker -H <that engine> load)` : "";
      if (service.role === "realtime" || service.role === "app") {
        throw new ConfigError(`${service.role}.image`, `image ${service.image} is not on ${where}; ${fix || "build it (npm run setup)"} or name an image that exists`);
      }
      throw new Error(`image ${service.image} is not on ${where}; ${fix || "build the kit's images first: npm run setup"}`);
    }
  }
}
