import { GenericContainer, type StartedTestContainer } from "testcontainers";
import type { ServiceSpec } from "../plan/services";
import type { ServiceMount } from "./volumes";

/** GenericContainer that joins exactly one network (no default bridge) and publishes on one address. */
export class KitContainer extends GenericContainer {
  /**
   * Testcontainers would start its Ryuk reaper (an image pulled from a registry) with the first
   * container; the kit removes what it creates by label itself, so the reaper is off unless the
   * caller decided otherwise. Set here, where every container of the kit starts, because
   * testcontainers reads it then.
   */
  override async start(): Promise<StartedTestContainer> {
    process.env.TESTCONTAINERS_RYUK_DISABLED ??= "true";
    return super.start();
  }

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

  /** The plan's confinement (read-only root, tmpfs folders, capabilities), its restart policy, and its volumes. */
  confined(spec: ServiceSpec, mounts: ServiceMount[]): this {
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

  /** Publishes each port on its own `hostIp` where the plan sets one (Prometheus: loopback only), on `address` otherwise. */
  publishOn(address: string, ports: { containerPort: number; hostPort: number; hostIp?: string }[]): this {
    if (ports.length === 0) return this;
    this.withExposedPorts(...ports.map((port) => ({ container: port.containerPort, host: port.hostPort })));
    this.hostConfig.PortBindings = Object.fromEntries(
      ports.map((port) => [`${port.containerPort}/tcp`, [{ HostIp: port.hostIp ?? address, HostPort: String(port.hostPort) }]]),
    );
    return this;
  }
}
