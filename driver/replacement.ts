import type Docker from "dockerode";
import { logsOf } from "./engine";
import { waitHealthy } from "./health";

/** A started, healthy twin of a running container, under a temporary name until it takes over. */
export interface Replacement {
  container: Docker.Container;
  /** Its address on each network it shares with the original (network name -> IPv4). */
  addresses: Record<string, string>;
  healthyMs: number;
}

/**
 * Starts a twin of `original`: the same image reference (so a rebuilt image rolls out), the same
 * settings the container was created with beyond its image's defaults (environment, labels, health
 * check, confinement, limits), the same networks and network aliases. Resolves once its own
 * HEALTHCHECK passes; if it never does, the twin is removed and the error carries its output.
 *
 * The original keeps running: both answer to the same aliases until the caller retires one. A
 * container whose files were uploaded into anonymous volumes cannot have a twin (the files would be
 * missing); nor can one that publishes host ports, unless `publish` gives the twin other ones (a
 * node on another machine than the edge: the other port of its pair). Both are refused before
 * anything starts. `engine` is the engine the original runs on.
 */
export async function startReplacement(engine: Docker, original: Docker.ContainerInspectInfo, timeoutMs: number, publish: Docker.PortMap = {}): Promise<Replacement> {
  const name = original.Name.replace(/^\//, "");
  const held = hostPortsOf((original.HostConfig.PortBindings ?? {}) as Docker.PortMap);
  const wanted = hostPortsOf(publish);
  if (held.length > 0 && wanted.length === 0) {
    throw new Error(`${name} publishes host port(s) ${held.join(", ")}: a replacement could not bind them while it runs; only nodes behind HAProxy can be replaced one by one`);
  }
  const taken = wanted.filter((port) => held.includes(port));
  if (taken.length > 0) throw new Error(`${name} holds host port(s) ${taken.join(", ")} its replacement would publish on`);
  // Named volumes (Binds, or Mounts with a Source: the kit's file volumes) are shared by the twin; anonymous ones would be new and empty.
  const named = new Set([...(original.HostConfig.Binds ?? []).map((bind) => bind.split(":")[0]), ...((original.HostConfig as { Mounts?: { Source?: string }[] }).Mounts ?? []).map((mount) => mount.Source)]);
  const anonymous = original.Mounts.filter((mount) => mount.Type === "volume" && !named.has(mount.Name));
  if (anonymous.length > 0) {
    throw new Error(`${name} has files in anonymous volume(s) at ${anonymous.map((mount) => mount.Destination).join(", ")}: a replacement would start without them`);
  }
  const image = (await engine.getImage(original.Image).inspect()) as Docker.ImageInspectInfo;
  const own = ownSettings(original.Config, image.Config as unknown as Docker.ContainerInspectInfo["Config"]);
  const networks = Object.entries(original.NetworkSettings.Networks);
  // Docker adds the container's short id as an alias of its own; the twin gets its own.
  const aliasesOn = (network: string) => ((original.NetworkSettings.Networks[network] as { Aliases?: string[] } | undefined)?.Aliases ?? []).filter((alias) => alias !== original.Id.slice(0, 12));
  const [first, ...others] = networks.map(([network]) => network);
  if (!first) throw new Error(`${name} is on no network`);
  const started = Date.now();
  const container = await engine.createContainer({
    name: `${name}${REPLACEMENT_SUFFIX}`,
    Image: original.Config.Image,
    ...own,
    ...(wanted.length > 0 ? { ExposedPorts: Object.fromEntries(Object.keys(publish).map((port) => [port, {}])) } : {}),
    HostConfig: { ...original.HostConfig, NetworkMode: first, ...(wanted.length > 0 ? { PortBindings: publish } : {}) },
    NetworkingConfig: { EndpointsConfig: { [first]: { Aliases: aliasesOn(first) } } },
  });
  try {
    for (const network of others) await engine.getNetwork(network).connect({ Container: container.id, EndpointConfig: { Aliases: aliasesOn(network) } });
    await container.start();
    await waitHealthy(container, `the replacement of ${name} to pass its health check`, timeoutMs);
    const info = await container.inspect();
    const addresses = Object.fromEntries(Object.entries(info.NetworkSettings.Networks).map(([network, endpoint]) => [network, endpoint.IPAddress]));
    return { container, addresses, healthyMs: Date.now() - started };
  } catch (error) {
    const output = await logsOf(container).catch(() => "");
    await container.remove({ force: true, v: true }).catch(() => undefined);
    const tail = output.split("\n").slice(-20).join("\n").trim();
    throw new Error(`${(error as Error).message}${tail ? `\n--- last output of the replacement of ${name} ---\n${tail}` : ""}`);
  }
}

/** `address:port` of every host port a port map binds. */
function hostPortsOf(bindings: Docker.PortMap): string[] {
  return Object.values(bindings).flatMap((list) => ((list ?? []) as { HostIp?: string; HostPort?: string }[]).filter((binding) => binding.HostPort).map((binding) => `${binding.HostIp || "0.0.0.0"}:${binding.HostPort}`));
}

/** Ends the temporary name of a container's twin until it takes the original's name. */
export const REPLACEMENT_SUFFIX = "-next";

type ContainerConfig = Docker.ContainerInspectInfo["Config"];

/**
 * The settings a container was given on top of its image's (the only ones a twin should copy:
 * the rest comes from the image it is created from, which may be newer).
 */
function ownSettings(container: ContainerConfig, image: ContainerConfig): Partial<Docker.ContainerCreateOptions> {
  const imageEnv = new Set(image.Env ?? []);
  const differs = (key: keyof ContainerConfig) => JSON.stringify(container[key] ?? null) !== JSON.stringify(image[key] ?? null);
  const imageLabels = image.Labels ?? {};
  return {
    Env: (container.Env ?? []).filter((entry) => !imageEnv.has(entry)),
    Labels: Object.fromEntries(Object.entries(container.Labels ?? {}).filter(([key, value]) => imageLabels[key] !== value)),
    ...(differs("User") ? { User: container.User } : {}),
    ...(differs("Cmd") ? { Cmd: container.Cmd } : {}),
    ...(differs("Entrypoint") ? { Entrypoint: container.Entrypoint as string[] } : {}),
    ...(differs("WorkingDir") ? { WorkingDir: container.WorkingDir } : {}),
    ...(differs("Healthcheck" as keyof ContainerConfig) ? { Healthcheck: (container as { Healthcheck?: Docker.HealthConfig }).Healthcheck } : {}),
    ...(differs("StopSignal" as keyof ContainerConfig) ? { StopSignal: (container as { StopSignal?: string }).StopSignal } : {}),
  };
}
