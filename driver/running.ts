import type Docker from "dockerode";
import type { StartedTestContainer } from "testcontainers";
import type { Deployment } from "../render/deployment";
import type { ServiceSpec } from "../plan/services";
import { fileVolumesOf } from "../plan/volumes";
import { realtimeMembers } from "../plan/names";
import { DRIVER_LABEL, KIT_LABEL, LOCAL_DRIVER, SERVICE_LABEL, TOPOLOGY_LABEL } from "../model/labels";
import { INTERNAL_PORTS } from "../model/layout";
import type { Model } from "../model/model";
import { logsOf } from "./engine";
import { serviceContainerOf, type ExecResult, type ServiceContainer } from "./exec";
import { DeploymentEngines } from "./hosts";
import { parseStatCsv } from "./haproxy-runtime";
import { KitContainer } from "./kit-container";
import type { InternalUrls, TopologyUrls } from "./urls";
import { fillServiceVolumes, type TlsFiles } from "./volumes";

export interface NodeStats {
  node: string;
  sockets: number;
  engineClients: number;
  transports: { polling: number; websocket: number };
  backendConnections: number;
  redis: string;
  [key: string]: unknown;
}

export interface InsideResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** A file copied into a peer container before it starts. */
export interface FileContent {
  content: string;
  target: string;
  mode: number;
}

/**
 * A deployment running on the local engine: the owner of every container and the network it
 * created (all labelled KIT_LABEL=<runId>). `stop()` removes them all by label.
 */
export class RunningTopology {
  private toolboxPromise: Promise<ServiceContainer> | null = null;
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
    /** The engines it runs on: the local one, or one per machine of `hosts`. */
    readonly engines: DeploymentEngines = new DeploymentEngines(null),
    /** The admin UI's password, made for this run (adminUi.enabled); null without it. */
    readonly adminUiPassword: string | null = null,
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
    const engine = this.engineOf(service);
    const filters = JSON.stringify({ label: [`${KIT_LABEL}=${this.runId}`, `${SERVICE_LABEL}=${service}`] });
    const found = await engine.listContainers({ all: true, filters });
    if (found.length !== 1) throw new Error(`expected one container of ${service} in run ${this.runId}, found ${found.length}`);
    return engine.getContainer(found[0]!.Id);
  }

  /** The Docker engine a service runs on (its machine's, across hosts). */
  engineOf(service: string): Docker {
    const spec = this.deployment.services.find((candidate) => candidate.name === service);
    if (!spec) throw new Error(`no service ${service} in this ${this.model.topology} deployment`);
    return this.engines.of(spec.host);
  }

  /**
   * `host:port` where a realtime node answers from the edge's network: its name there, or across
   * hosts the port its machine publishes on its private address (the address HAProxy uses).
   */
  nodeAddress(node: string): string {
    const member = realtimeMembers(this.model).find((candidate) => candidate.name === node);
    if (!member) throw new Error(`no realtime node ${node} in this deployment (have ${this.realtimeNodes.join(", ")})`);
    return member.address;
  }

  /** HTTP GET from inside the deployment's network (from a toolbox container), e.g. http://realtime-1:8080/stats. */
  async fetchInside(url: string, headers: Record<string, string> = {}): Promise<InsideResponse> {
    const toolbox = await this.toolbox();
    const script =
      "fetch(process.argv[1],{headers:JSON.parse(process.argv[2]),signal:AbortSignal.timeout(5000)}).then(async r=>{" +
      "process.stdout.write(JSON.stringify({status:r.status,headers:Object.fromEntries(r.headers),body:await r.text()}))" +
      "},e=>{process.stderr.write(String(e&&e.cause||e));process.exit(3)})";
    const result = await toolbox.exec(["node", "-e", script, url, JSON.stringify(headers)]);
    if (result.exitCode !== 0) throw new Error(`GET ${url} from inside the network failed: ${result.output.trim()}`);
    return JSON.parse(result.stdout) as InsideResponse;
  }

  /** /stats of one realtime node, read inside the network. */
  async stats(node: string): Promise<NodeStats> {
    const response = await this.fetchInside(`http://${this.nodeAddress(node)}/stats`);
    if (response.status !== 200) throw new Error(`${node} /stats answered ${response.status}`);
    return JSON.parse(response.body) as NodeStats;
  }

  /** Whether the Socket.IO socket `sid` is connected on `node` (its /stats/sockets/:id). */
  async socketConnected(node: string, sid: string): Promise<boolean> {
    const response = await this.fetchInside(`http://${this.nodeAddress(node)}/stats/sockets/${encodeURIComponent(sid)}`);
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
   * A container of the realtime image (it has node) on the deployment's network under `name`,
   * running `command` instead of the server, with `files` copied in: each one is a distinct
   * source address inside the network. The toolbox behind fetchInside() is one; the tests'
   * client containers are others.
   */
  async startPeerContainer(name: string, command: string[], files: FileContent[] = []): Promise<StartedTestContainer> {
    if (this.model.placement) throw new Error(`peer containers run on the local engine; this deployment runs on ${this.model.placement.hosts.map((host) => host.name).join(", ")}`);
    return new KitContainer(this.model.realtime.image)
      .onNetwork(this.networkName, name)
      .withName(`rk-${this.runId}-${name}`)
      .withLabels(this.peerLabels(name))
      .withoutHealthCheck()
      .withCommand(command)
      .withCopyContentToContainer(files)
      .start();
  }

  /** The toolbox container's address on the deployment's network (what a service sees as its peer). */
  async toolboxAddress(): Promise<string> {
    return this.addressOf(await this.toolbox());
  }

  /** A container's address on the deployment's network (the edge host's, across hosts): a peer container's, or the toolbox's. */
  async addressOf(container: { getId(): string }): Promise<string> {
    const info = await this.engines.edge.getContainer(container.getId()).inspect();
    const address = info.NetworkSettings.Networks[this.networkName]?.IPAddress;
    if (!address) throw new Error(`container ${container.getId().slice(0, 12)} is not on ${this.networkName}`);
    return address;
  }

  /** On the edge's network: the local engine's through testcontainers, or across hosts the edge host's, made directly. */
  private toolbox(): Promise<ServiceContainer> {
    this.toolboxPromise ??= this.model.placement ? this.startEdgeToolbox() : this.startPeerContainer("toolbox", ["sleep", "infinity"]);
    return this.toolboxPromise;
  }

  /** Labels of a container the harness adds beside the services: removed with the run, never taken for a service. */
  private peerLabels(name: string): Record<string, string> {
    return { [KIT_LABEL]: this.runId, [DRIVER_LABEL]: LOCAL_DRIVER, [SERVICE_LABEL]: name, [TOPOLOGY_LABEL]: "client" };
  }

  private async startEdgeToolbox(): Promise<ServiceContainer> {
    const container = await this.engines.edge.createContainer({
      name: `rk-${this.runId}-toolbox`,
      Image: this.model.realtime.image,
      Cmd: ["sleep", "infinity"],
      Labels: this.peerLabels("toolbox"),
      Healthcheck: { Test: ["NONE"] },
      HostConfig: { NetworkMode: this.networkName },
    });
    await container.start();
    return serviceContainerOf(container);
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
      const labels = { [KIT_LABEL]: this.runId, [DRIVER_LABEL]: LOCAL_DRIVER, [TOPOLOGY_LABEL]: next.model.topology };
      await fillServiceVolumes(this.engineOf(service.name), next, service, { prefix: `rk-${this.runId}`, labels }, this.tls);
    }
  }

  /** Removes every container, network and volume of this run (by label), on every engine it runs on. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.engines.removeByLabel(this.runId);
  }
}
