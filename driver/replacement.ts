import type Docker from "dockerode";
import { docker, logsOf } from "./engine";
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
 * container whose files were uploaded into anonymous volumes, or that publishes host ports, cannot
 * have a twin (the files would be missing, the ports taken); that is refused before anything starts.
 */
export async function startReplacement(original: Docker.ContainerInspectInfo, timeoutMs: number): Promise<Replacement> {
  const name = original.Name.replace(/^\//, "");
  const portBindings = (original.HostConfig.PortBindings ?? {}) as Record<string, { HostPort?: string }[] | null>;
  const published = Object.entries(portBindings).filter(([, bindings]) => (bindings ?? []).some((binding) => binding.HostPort));
  if (published.length > 0) {
    throw new Error(`${name} publishes host port(s) ${published.map(([port]) => port).join(", ")}: a replacement could not bind them while it runs; only nodes behind HAProxy can be replaced one by one`);
  }
  // Named volumes (Binds, or Mounts with a Source: the kit's file volumes) are shared by the twin; anonymous ones would be new and empty.
  const named = new Set([...(original.HostConfig.Binds ?? []).map((bind) => bind.split(":")[0]), ...((original.HostConfig as { Mounts?: { Source?: string }[] }).Mounts ?? []).map((mount) => mount.Source)]);
  const anonymous = original.Mounts.filter((mount) => mount.Type === "volume" && !named.has(mount.Name));
  if (anonymous.length > 0) {
    throw new Error(`${name} has files in anonymous volume(s) at ${anonymous.map((mount) => mount.Destination).join(", ")}: a replacement would start without them`);
  }
  const image = (await docker.getImage(original.Image).inspect()) as Docker.ImageInspectInfo;
  const own = ownSettings(original.Config, image.Config as unknown as Docker.ContainerInspectInfo["Config"]);
  const networks = Object.entries(original.NetworkSettings.Networks);
  // Docker adds the container's short id as an alias of its own; the twin gets its own.
  const aliasesOn = (network: string) => ((original.NetworkSettings.Networks[network] as { Aliases?: string[] } | undefined)?.Aliases ?? []).filter((alias) => alias !== original.Id.slice(0, 12));
  const [first, ...others] = networks.map(([network]) => network);
  if (!first) throw new Error(`${name} is on no network`);
  const started = Date.now();
  const container = await docker.createContainer({
    name: `${name}${REPLACEMENT_SUFFIX}`,
    Image: original.Config.Image,
    ...own,
    HostConfig: { ...original.HostConfig, NetworkMode: first },
    NetworkingConfig: { EndpointsConfig: { [first]: { Aliases: aliasesOn(first) } } },
  });
  try {
    for (const network of others) await docker.getNetwork(network).connect({ Container: container.id, EndpointConfig: { Aliases: aliasesOn(network) } });
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
