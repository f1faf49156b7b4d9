// Testcontainers would start its Ryuk reaper (an image pulled from a registry); the kit cleans up
// itself by label instead, so the reaper is off unless the caller decided otherwise.
process.env.TESTCONTAINERS_RYUK_DISABLED ??= "true";

import crypto from "node:crypto";
import fs from "node:fs";
import type Docker from "dockerode";
import { GenericContainer, Wait, type StartedTestContainer } from "testcontainers";
import { planDeployment, type Deployment } from "../plan/deployment";
import type { ServiceSpec } from "../plan/services";
import { INTERNAL_PORTS, KIT_LABEL, SERVICE_LABEL } from "../model/layout";
import { execIn, parseStatCsv } from "./haproxy-runtime";
import { ConfigError } from "../model/errors";
import type { Model } from "../model/model";
import { createTestCertificates } from "./certs";
import { clientAgentBundle } from "./client-bundle";
import type { HoldSpec, RoundtripReport, RoundtripSpec } from "./client/agent";
import { DRIVER_LABEL, HARNESS_DRIVER, docker, logsOf, removeByLabel } from "./engine";
import { assertPortsFree } from "./ports";
import { fileVolumesOf } from "../plan/volumes";
import { fillServiceVolumes, type ReadOnlyMount, type TlsFiles } from "./volumes";
import { waitFor } from "./wait";

/** Label beside KIT_LABEL, for people reading `docker ps`. */
export const TOPOLOGY_LABEL = "io.realtime-kit.topology";
export { SERVICE_LABEL };
/** Where client containers find the agent bundle and the CA. */
const KIT_DIR = "/kit";

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

export interface TopologyUrls {
  /** Public plain-HTTP origin, e.g. http://localhost:18080. */
  http: string;
  /** Public https origin (TLS topologies). */
  https: string | null;
  /** Split-port realtime origin. */
  realtimePort: string | null;
  /** Where Socket.IO clients connect from this machine. */
  realtime: string;
  /** The chat page. */
  chat: string;
}

/** The same entry points as seen from a container on the deployment's network. */
export interface InternalUrls {
  http: string | null;
  https: string | null;
  realtimePort: string | null;
  realtime: string;
}

export interface NodeStats {
  node: string;
  sockets: number;
  engineClients: number;
  transports: { polling: number; websocket: number };
  backendConnections: number;
  redis: string;
  [key: string]: unknown;
}

export interface ExecResult {
  exitCode: number;
  output: string;
  stdout: string;
  stderr: string;
}

/** What the harness needs of a service's container: its id, and a command run inside it. */
export interface ServiceContainer {
  getId(): string;
  exec(cmd: string[]): Promise<ExecResult>;
}

export interface InsideResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface ClientContainerOptions {
  /** Name suffix (container `rk-<run>-<name>`, network alias `<name>`); default client-<n>. */
  name?: string;
  /** Run this hold-mode agent as the container's main process (killing the container kills the client). */
  hold?: Omit<HoldSpec, "mode" | "ca">;
}

export interface HoldEvent {
  event: "connected" | "disconnect" | "connect_error" | "error" | "chat" | "history" | "backend";
  /** backend: HTTP status of the request through the front door. */
  status?: number;
  at: number;
  /** connected: the node; chat: the node that accepted the message. */
  node?: string;
  /** connected: the node's instance (container) that serves the client. */
  instance?: string;
  /** chat: message id and text; history: ids of the messages received on connect. */
  id?: string;
  text?: string;
  ids?: string[];
  sid?: string;
  transport?: string;
  reason?: string;
  error?: string;
}

/** A container on the deployment's network that runs Socket.IO clients from its own address. */
export class ClientContainer {
  constructor(
    private readonly topology: RunningTopology,
    readonly name: string,
    readonly container: StartedTestContainer,
    /** Its address on the deployment's network: what the proxies see as the client's source. */
    readonly address: string,
  ) {}

  /** Runs `clients` concurrent Socket.IO clients with `rounds` echo round trips each, from this container. */
  async roundtrips(spec: Omit<RoundtripSpec, "mode" | "ca">): Promise<RoundtripReport> {
    const full: RoundtripSpec = { mode: "roundtrips", ...spec, ...(this.topology.ca ? { ca: this.topology.ca } : {}) };
    const result = await this.container.exec(["node", `${KIT_DIR}/agent.js`, JSON.stringify(full)]);
    const line = result.stdout.split("\n").find((text) => text.startsWith('{"report"'));
    if (result.exitCode !== 0 || !line) throw new Error(`client agent in ${this.name} failed (exit ${result.exitCode}): ${result.output.slice(-2000)}`);
    return (JSON.parse(line) as { report: RoundtripReport }).report;
  }

  /** Runs `node -e script args...` in this container; resolves with its stdout (rejects on a non-zero exit). */
  async node(script: string, args: string[] = []): Promise<string> {
    const result = await this.container.exec(["node", "-e", script, ...args]);
    if (result.exitCode !== 0) throw new Error(`node in ${this.name} exited ${result.exitCode}: ${result.output.slice(-2000)}`);
    return result.stdout;
  }

  /** Events printed so far by a hold-mode agent. */
  async events(): Promise<HoldEvent[]> {
    const output = await logsOf(docker.getContainer(this.container.getId()));
    return output
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as HoldEvent);
  }

  /** SIGKILL: the process dies at once; its kernel still closes the TCP connections (FIN). */
  async kill(): Promise<void> {
    await docker.getContainer(this.container.getId()).kill({ signal: "SIGKILL" });
  }

  /**
   * Takes the container off the network: its connections vanish without FIN or RST, the way a
   * client on a dead Wi-Fi or a sleeping laptop disappears. Only heartbeats can detect it.
   */
  async cutNetwork(): Promise<void> {
    await docker.getNetwork(this.topology.networkName).disconnect({ Container: this.container.getId(), Force: true });
  }

  async remove(): Promise<void> {
    await docker.getContainer(this.container.getId()).remove({ force: true });
  }
}

/**
 * A deployment running on the local engine: the owner of every container and the network it
 * created (all labelled KIT_LABEL=<runId>). `stop()` removes them all by label.
 */
export class RunningTopology {
  private clientCount = 0;
  private toolboxPromise: Promise<ClientContainer> | null = null;
  private stopped = false;

  constructor(
    readonly runId: string,
    readonly deployment: Deployment,
    readonly networkName: string,
    /** PEM of the throwaway CA that signed the https certificate; null with the operator's certificate. */
    readonly ca: string | null,
    readonly urls: TopologyUrls,
    readonly internalUrls: InternalUrls,
    private readonly containers: Map<string, ServiceContainer>,
    /** The certificate and key the TLS services were given (null where none, or when another driver holds them). */
    private readonly tls: TlsFiles | null = null,
  ) {}

  get model(): Model {
    return this.deployment.model;
  }

  /** The started container of a service (`realtime-1`, `haproxy`, ...). */
  container(service: string): ServiceContainer {
    const container = this.containers.get(service);
    if (!container) throw new Error(`no service ${service} in this ${this.model.topology} deployment (have ${[...this.containers.keys()].join(", ")})`);
    return container;
  }

  /** Service specs of one role, in plan order. */
  services(role: ServiceSpec["role"]): ServiceSpec[] {
    return this.deployment.services.filter((service) => service.role === role);
  }

  /** Names of the realtime nodes. */
  get realtimeNodes(): string[] {
    return this.services("realtime").map((service) => service.name);
  }

  async exec(service: string, cmd: string[]): Promise<ExecResult> {
    const result = await this.container(service).exec(cmd);
    return { exitCode: result.exitCode, output: result.output, stdout: result.stdout, stderr: result.stderr };
  }

  async logs(service: string): Promise<string> {
    return logsOf(await this.engineContainer(service));
  }

  /**
   * The service's container as the engine has it now, found by label: unlike container(), this
   * follows a realtime node that a rolling restart replaced with a new instance.
   */
  async engineContainer(service: string): Promise<Docker.Container> {
    this.container(service); // names an unknown service clearly
    const filters = JSON.stringify({ label: [`${KIT_LABEL}=${this.runId}`, `${SERVICE_LABEL}=${service}`] });
    const found = await docker.listContainers({ all: true, filters });
    if (found.length !== 1) throw new Error(`expected one container of ${service} in run ${this.runId}, found ${found.length}`);
    return docker.getContainer(found[0]!.Id);
  }

  /** HTTP GET from inside the deployment's network (from a toolbox container), e.g. http://realtime-1:8080/stats. */
  async fetchInside(url: string): Promise<InsideResponse> {
    const toolbox = await this.toolbox();
    const script =
      "fetch(process.argv[1],{signal:AbortSignal.timeout(5000)}).then(async r=>{" +
      "process.stdout.write(JSON.stringify({status:r.status,headers:Object.fromEntries(r.headers),body:await r.text()}))" +
      "},e=>{process.stderr.write(String(e&&e.cause||e));process.exit(3)})";
    const result = await toolbox.container.exec(["node", "-e", script, url]);
    if (result.exitCode !== 0) throw new Error(`GET ${url} from inside the network failed: ${result.output.trim()}`);
    return JSON.parse(result.stdout) as InsideResponse;
  }

  /** /stats of one realtime node, read inside the network. */
  async stats(node: string): Promise<NodeStats> {
    const response = await this.fetchInside(`http://${node}:${INTERNAL_PORTS.realtime}/stats`);
    if (response.status !== 200) throw new Error(`${node} /stats answered ${response.status}`);
    return JSON.parse(response.body) as NodeStats;
  }

  /** Whether the Socket.IO socket `sid` is connected on `node` (its /stats/sockets/:id). */
  async socketConnected(node: string, sid: string): Promise<boolean> {
    const response = await this.fetchInside(`http://${node}:${INTERNAL_PORTS.realtime}/stats/sockets/${encodeURIComponent(sid)}`);
    if (response.status !== 200 && response.status !== 404) throw new Error(`${node} /stats/sockets answered ${response.status}`);
    return response.status === 200;
  }

  /** HAProxy's stats as CSV rows (pxname, svname, status, ...), read at :8404/stats;csv inside the network. */
  async haproxyStats(): Promise<Record<string, string>[]> {
    const response = await this.fetchInside(`http://haproxy:${INTERNAL_PORTS.haproxyMonitor}/stats;csv`);
    if (response.status !== 200) throw new Error(`HAProxy stats answered ${response.status}`);
    return parseStatCsv(response.body);
  }

  /** Graceful stop (the image's stop signal, then SIGKILL after `timeoutS`); the container is kept. */
  async stopService(service: string, timeoutS = 10): Promise<void> {
    await (await this.engineContainer(service)).stop({ t: timeoutS });
  }

  /** Sends a signal (default SIGKILL) to a service's main process. */
  async killService(service: string, signal = "SIGKILL"): Promise<void> {
    await (await this.engineContainer(service)).kill({ signal });
  }

  /** Starts a stopped service again (same container, same name on the network). */
  async startService(service: string): Promise<void> {
    await (await this.engineContainer(service)).start();
  }

  /**
   * A client container on the deployment's network, from the realtime image (it has node), with
   * the client agent and the CA copied in. Each one is a distinct source address for the proxies.
   */
  async startClientContainer(options: ClientContainerOptions = {}): Promise<ClientContainer> {
    const name = options.name ?? `client-${++this.clientCount}`;
    const files = [{ content: clientAgentBundle(), target: `${KIT_DIR}/agent.js`, mode: 0o644 }];
    if (this.ca) files.push({ content: this.ca, target: `${KIT_DIR}/ca.pem`, mode: 0o644 });
    const command = options.hold
      ? ["node", `${KIT_DIR}/agent.js`, JSON.stringify({ mode: "hold", ...options.hold, ...(this.ca ? { ca: this.ca } : {}) })]
      : ["sleep", "infinity"];
    const container = await new KitContainer(this.model.realtime.image)
      .onNetwork(this.networkName, name)
      .withName(`rk-${this.runId}-${name}`)
      .withLabels({ [KIT_LABEL]: this.runId, [DRIVER_LABEL]: HARNESS_DRIVER, [SERVICE_LABEL]: name, [TOPOLOGY_LABEL]: "client" })
      .withoutHealthCheck()
      .withCommand(command)
      .withCopyContentToContainer(files)
      .start();
    const address = container.getIpAddress(this.networkName);
    return new ClientContainer(this, name, container, address);
  }

  private toolbox(): Promise<ClientContainer> {
    this.toolboxPromise ??= this.startClientContainer({ name: "toolbox" });
    return this.toolboxPromise;
  }

  /**
   * Delivers the files of another plan of the same deployment (a changed option) the way a second
   * `pulumi up` does: each service's seed is replaced, rewriting its volume; the services keep
   * running and their images' watchers apply what changed. New static assets would need a new
   * nginx container, which a running deployment here does not make: that is refused.
   */
  async applyFiles(next: Deployment): Promise<void> {
    for (const service of next.services) {
      const running = this.deployment.services.find((candidate) => candidate.name === service.name);
      if (!running) throw new Error(`${service.name} is not part of this deployment; start a new one for a new plan`);
      const [before, after] = [fileVolumesOf(this.deployment, running), fileVolumesOf(next, service)].map((volumes) => volumes.map((volume) => volume.name).join(","));
      if (before !== after) throw new Error(`${service.name}: its volumes change (${before} -> ${after}), which needs a new container`);
      const labels = { [KIT_LABEL]: this.runId, [DRIVER_LABEL]: HARNESS_DRIVER, [TOPOLOGY_LABEL]: next.model.topology };
      await fillServiceVolumes(docker, next, service, { prefix: `rk-${this.runId}`, labels }, this.tls);
    }
  }

  /** Removes every container and the network of this run (by label). Safe to call twice. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await removeByLabel(this.runId);
  }
}

/** GenericContainer that joins exactly one network (no default bridge) and publishes on one address. */
class KitContainer extends GenericContainer {
  onNetwork(network: string, alias: string): this {
    this.withNetworkMode(network);
    this.createOpts.NetworkingConfig = { EndpointsConfig: { [network]: { Aliases: [alias] } } };
    return this;
  }

  /** Client containers run the realtime image without its server: its HEALTHCHECK would only fail. */
  withoutHealthCheck(): this {
    this.createOpts.Healthcheck = { Test: ["NONE"] };
    return this;
  }

  /** The plan's confinement (read-only root, tmpfs folders, capabilities), its restart policy, and its files' volumes mounted read-only. */
  confined(spec: ServiceSpec, mounts: ReadOnlyMount[]): this {
    this.hostConfig.ReadonlyRootfs = spec.readOnlyRootFs;
    this.hostConfig.RestartPolicy = { Name: spec.restart };
    if (Object.keys(spec.tmpfs).length > 0) this.withTmpFs(spec.tmpfs);
    if (spec.capabilities) {
      this.hostConfig.CapDrop = ["ALL"];
      this.hostConfig.CapAdd = spec.capabilities;
    }
    if (spec.noNewPrivileges) this.hostConfig.SecurityOpt = ["no-new-privileges:true"];
    if (mounts.length > 0) this.hostConfig.Mounts = mounts;
    return this;
  }

  publishOn(address: string, ports: { containerPort: number; hostPort: number }[]): this {
    if (ports.length === 0) return this;
    this.withExposedPorts(...ports.map((port) => ({ container: port.containerPort, host: port.hostPort })));
    this.hostConfig.PortBindings = Object.fromEntries(
      ports.map((port) => [`${port.containerPort}/tcp`, [{ HostIp: address, HostPort: String(port.hostPort) }]]),
    );
    return this;
  }
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
 * Plans the model's deployment and runs it: a fresh labelled network, then every service in
 * plan order (consecutive services of one role together), each waited for until its image's
 * HEALTHCHECK reports healthy. On any failure everything created so far is removed.
 */
export async function startTopology(model: Model, options: StartOptions = {}): Promise<RunningTopology> {
  if ((model as Model & { placement?: unknown }).placement) {
    throw new ConfigError("hosts", "the local harness runs a deployment on this machine's Docker engine only; deploy several hosts with the Pulumi stack");
  }
  const deployment = planDeployment(model);
  const runId = options.runId ?? newRunId();
  const log = options.log ?? (() => undefined);
  const publishAddress = options.publishAddress ?? "127.0.0.1";
  await assertPortsFree(deployment);
  await assertImages(deployment);

  const tls = await tlsMaterial(deployment);
  const networkName = `rk-${runId}`;
  const containers = new Map<string, ServiceContainer>();
  try {
    await docker.createNetwork({ Name: networkName, Driver: "bridge", CheckDuplicate: true, Labels: { [KIT_LABEL]: runId, [DRIVER_LABEL]: HARNESS_DRIVER, [TOPOLOGY_LABEL]: model.topology } });
    for (const group of startGroups(deployment.services)) {
      const started = Date.now();
      // allSettled: when one member fails, the others finish starting before the cleanup below,
      // so none of them is created after the removal.
      const results = await Promise.allSettled(
        group.map(async (service) => {
          containers.set(service.name, await startService(service, deployment, { runId, networkName, publishAddress, tls, options }));
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
    const container = docker.getContainer(found[0]!.Id);
    containers.set(service.name, {
      getId: () => container.id,
      async exec(cmd) {
        const result = await execIn(container, cmd);
        return { ...result, output: result.stdout + result.stderr };
      },
    });
  }
  return new RunningTopology(options.label, deployment, options.networkName, options.ca, urlsOf(deployment.model), internalUrlsOf(deployment), containers);
}

interface TlsMaterial extends TlsFiles {
  ca: string | null;
}

async function tlsMaterial(deployment: Deployment): Promise<TlsMaterial | null> {
  const tls = deployment.model.tls;
  if (!tls || !deployment.services.some((service) => service.mountsTls)) return null;
  if (tls.certFile && tls.keyFile) {
    return { cert: fs.readFileSync(tls.certFile, "utf8"), key: fs.readFileSync(tls.keyFile, "utf8"), ca: null };
  }
  // Valid for the public hostname and for the TLS services' names on the network, so clients
  // in client containers verify it too.
  const names = new Set([deployment.model.hostname, "localhost", "127.0.0.1", ...deployment.services.filter((s) => s.mountsTls).map((s) => s.name)]);
  const certificates = await createTestCertificates([...names]);
  return { cert: certificates.cert, key: certificates.key, ca: certificates.caCert };
}

/** Plan order, with consecutive services of the same role (app-1, app-2, ...) started together. */
function startGroups(services: ServiceSpec[]): ServiceSpec[][] {
  const groups: ServiceSpec[][] = [];
  for (const service of services) {
    const last = groups[groups.length - 1];
    if (last && last[0]!.role === service.role) last.push(service);
    else groups.push([service]);
  }
  return groups;
}

interface StartContext {
  runId: string;
  networkName: string;
  publishAddress: string;
  tls: TlsMaterial | null;
  options: StartOptions;
}

async function startService(service: ServiceSpec, deployment: Deployment, context: StartContext): Promise<StartedTestContainer> {
  const { runId, networkName } = context;
  const labels = { [KIT_LABEL]: runId, [DRIVER_LABEL]: HARNESS_DRIVER, [TOPOLOGY_LABEL]: deployment.model.topology };
  const mounts = await fillServiceVolumes(docker, deployment, service, { prefix: `rk-${runId}`, labels }, context.tls);
  const container = new KitContainer(service.image)
    .onNetwork(networkName, service.name)
    .withName(`rk-${runId}-${service.name}`)
    .withLabels({ ...labels, [SERVICE_LABEL]: service.name })
    .withEnvironment(service.env)
    .publishOn(context.publishAddress, service.publish)
    .confined(service, mounts)
    .withStartupTimeout(context.options.startupTimeoutMs ?? 90_000);
  if (service.user) container.withUser(service.user);
  const intervalMs = context.options.healthIntervalMs ?? null;
  const healthCheck = await imageHealthCheck(service.image);
  if (!healthCheck) throw new Error(`image ${service.image} has no HEALTHCHECK; the kit waits on real health and cannot start ${service.name} without one`);
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

type ImageHealthCheck = { test: ["CMD", ...string[]] | ["CMD-SHELL", string]; interval: number; timeout?: number; retries?: number; startPeriod?: number };

/** The image's own HEALTHCHECK (times in ms); null when the image has none. */
async function imageHealthCheck(image: string): Promise<ImageHealthCheck | null> {
  const info = (await docker.getImage(image).inspect()) as Docker.ImageInspectInfo & {
    Config: { Healthcheck?: { Test?: string[]; Interval?: number; Timeout?: number; Retries?: number; StartPeriod?: number } };
  };
  const check = info.Config?.Healthcheck;
  if (!check?.Test || check.Test[0] === "NONE") return null;
  const ms = (ns: number | undefined, fallback: number) => (ns ? Math.round(ns / 1e6) : fallback);
  return {
    test: check.Test as ImageHealthCheck["test"],
    interval: ms(check.Interval, 30_000),
    timeout: ms(check.Timeout, 30_000),
    retries: check.Retries ?? 3,
    startPeriod: ms(check.StartPeriod, 0),
  };
}

/** A HEALTHCHECK test as one `sh -c` command line, the way Docker runs it. */
export function shellCommand(test: ImageHealthCheck["test"]): string {
  if (test[0] === "CMD-SHELL") return test[1];
  return test
    .slice(1)
    .map((arg) => `'${arg.replace(/'/g, `'\\''`)}'`)
    .join(" ");
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

function urlsOf(model: Model): TopologyUrls {
  const host = model.hostname === "localhost" ? "localhost" : model.hostname;
  const http = `http://${host}:${model.ports.http}`;
  const https = model.tls ? `https://${host}:${model.tls.httpsPort}` : null;
  const realtimePort = model.ports.realtime !== null ? `http://${host}:${model.ports.realtime}` : null;
  return {
    http,
    https,
    realtimePort,
    realtime: https ?? realtimePort ?? http,
    chat: `${https ?? http}/chat/`,
  };
}

function internalUrlsOf(deployment: Deployment): InternalUrls {
  const find = (name: "http" | "https" | "realtime"): string | null => {
    for (const service of deployment.services) {
      const port = service.publish.find((published) => published.name === name);
      if (port) return `${name === "https" ? "https" : "http"}://${service.name}:${port.containerPort}`;
    }
    return null;
  };
  const http = find("http");
  const https = find("https");
  const realtimePort = find("realtime");
  return { http, https, realtimePort, realtime: https ?? realtimePort ?? http! };
}

/** Waits until `node` reports `sid` gone (or connected, with `present`), polling its /stats/sockets. */
export async function waitSocketState(topology: RunningTopology, node: string, sid: string, present: boolean, timeoutMs: number): Promise<number> {
  const started = Date.now();
  await waitFor(async () => (await topology.socketConnected(node, sid)) === present, {
    timeoutMs,
    intervalMs: 200,
    what: `socket ${sid} to be ${present ? "connected on" : "gone from"} ${node}`,
  });
  return Date.now() - started;
}
