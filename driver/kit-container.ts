import { GenericContainer, type StartedTestContainer } from "testcontainers";
import type Docker from "dockerode";
import type { PublishedPort, ServiceSpec } from "../plan/services";
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
    const { Tmpfs, ...hostConfig } = confinementHostConfig(spec, mounts);
    Object.assign(this.hostConfig, hostConfig);
    if (Tmpfs) this.withTmpFs(Tmpfs);
    return this;
  }

  /** Publishes each port on its own `hostIp` where the plan sets one (Prometheus: loopback only), on `address` otherwise. */
  publishOn(address: string, ports: PublishedPort[]): this {
    if (ports.length === 0) return this;
    this.withExposedPorts(...ports.map((port) => ({ container: port.containerPort, host: port.hostPort })));
    this.hostConfig.PortBindings = portBindings(address, ports);
    return this;
  }
}

/**
 * The Docker HostConfig of a service's confinement: read-only root, tmpfs folders, capabilities,
 * no-new-privileges, restart policy and volumes. Shared by KitContainer (the local engine, through
 * testcontainers) and the start on a host's engine (driver/start.ts), so both confine alike.
 */
export function confinementHostConfig(spec: ServiceSpec, mounts: ServiceMount[]): Docker.HostConfig {
  return {
    ReadonlyRootfs: spec.readOnlyRootFs,
    RestartPolicy: { Name: spec.restart },
    ...(Object.keys(spec.tmpfs).length > 0 ? { Tmpfs: spec.tmpfs } : {}),
    ...(spec.capabilities ? { CapDrop: ["ALL"], CapAdd: spec.capabilities } : {}),
    ...(spec.noNewPrivileges ? { SecurityOpt: ["no-new-privileges:true"] } : {}),
    ...(mounts.length > 0 ? { Mounts: mounts } : {}),
  };
}

/** Docker PortBindings: each port on its own `hostIp` where the plan sets one, on `address` otherwise. */
export function portBindings(address: string, ports: PublishedPort[]): Docker.PortMap {
  return Object.fromEntries(ports.map((port) => [`${port.containerPort}/tcp`, [{ HostIp: port.hostIp ?? address, HostPort: String(port.hostPort) }]]));
}
