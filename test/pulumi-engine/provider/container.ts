import fs from "node:fs";
import type Docker from "dockerode";
import { tarArchive } from "../../../driver/tar";
import { waitFor } from "../../../driver/wait";
import type { Applied, Inputs, ResourceHandler } from "./engine";
import type { ProviderTarget, RegistryAuth } from "./provider";

/**
 * docker.Container, as kreuzwerker/terraform-provider-docker v4.5.0 (commit 5074970c, the upstream
 * of @pulumi/docker 5.x: pulumi-docker's `upstream` submodule) creates and deletes it. References
 * are to internal/provider/ in that commit:
 *   funcs  = resource_docker_container_funcs.go (resourceDockerContainerCreate / ...Delete)
 *   struct = resource_docker_container_structures.go
 *   schema = resource_docker_container.go (defaults)
 * Field names are @pulumi/docker's (camelCase of the schema's snake_case).
 */
export const CONTAINER: ResourceHandler = {
  fields: {
    name: true,
    image: true,
    envs: true,
    user: true,
    command: true,
    networkMode: true,
    networksAdvanced: { name: true, aliases: true },
    ports: { internal: true, external: true, ip: true, protocol: true },
    mounts: { type: true, source: true, target: true, readOnly: true },
    volumes: { containerPath: true, volumeName: true, hostPath: true, readOnly: true },
    tmpfs: true,
    readOnly: true,
    capabilities: { adds: true, drops: true },
    securityOpts: true,
    labels: { label: true, value: true },
    restart: true,
    uploads: { file: true, content: true, contentBase64: true, source: true, sourceHash: true, permissions: true, executable: true, owner: true, group: true },
    start: true,
    mustRun: true,
    wait: true,
    waitTimeout: true,
    destroyGraceSeconds: true,
  },
  replace: "delete-before-replace", // pulumi-docker provider/resources.go: docker_container DeleteBeforeReplace: true
  create: createContainer,
  delete: deleteContainer,
};

async function createContainer(engine: Docker, inputs: Inputs, target: ProviderTarget): Promise<{ id: string; outputs: Inputs }> {
  // funcs: findImage(image) first: a local image (by name or id) is used, a missing one pulled.
  await findImage(engine, inputs.image, target.registryAuth);
  const { exposedPorts, portBindings } = portSetToDockerPorts(inputs.ports ?? []);
  const { volumes, binds } = volumeSetToDockerVolumes(inputs.volumes ?? []);
  const options: Docker.ContainerCreateOptions = {
    name: inputs.name,
    // funcs: container.Config
    Image: inputs.image,
    Hostname: "",
    Domainname: "",
    Tty: false,
    OpenStdin: false,
    StopSignal: "",
    ...(inputs.envs ? { Env: inputs.envs } : {}),
    ...(inputs.command ? { Cmd: inputs.command } : {}),
    ...(inputs.user ? { User: inputs.user } : {}),
    ...(Object.keys(exposedPorts).length > 0 ? { ExposedPorts: exposedPorts } : {}),
    ...(Object.keys(volumes).length > 0 ? { Volumes: volumes } : {}),
    ...(inputs.labels ? { Labels: labelSetToMap(inputs.labels) } : {}),
    // funcs: container.HostConfig
    HostConfig: {
      Privileged: false,
      PublishAllPorts: false,
      RestartPolicy: { Name: inputs.restart ?? "no", MaximumRetryCount: 0 }, // schema: restart Default "no"
      Runtime: "",
      Mounts: (inputs.mounts ?? []).map((mount: Inputs) => ({ Type: mount.type, Target: mount.target, Source: mount.source, ReadOnly: mount.readOnly ?? false })),
      AutoRemove: false, // rm Default false
      ReadonlyRootfs: inputs.readOnly ?? false,
      LogConfig: { Type: "", Config: {} }, // log_driver: Optional+Computed, no default: the daemon's own
      ...(inputs.tmpfs ? { Tmpfs: inputs.tmpfs } : {}),
      ...(Object.keys(portBindings).length > 0 ? { PortBindings: portBindings } : {}),
      ...(binds.length > 0 ? { Binds: binds } : {}),
      // funcs: capabilities -> CapAdd/CapDrop (the set's first item)
      ...(inputs.capabilities ? { CapAdd: inputs.capabilities.adds ?? [], CapDrop: inputs.capabilities.drops ?? [] } : {}),
      ...(inputs.securityOpts ? { SecurityOpt: inputs.securityOpts } : {}),
      NetworkMode: inputs.networkMode ?? "bridge", // schema: network_mode Default "bridge"
      Init: false, // funcs: init := d.Get("init").(bool); hostConfig.Init = &init
    },
    NetworkingConfig: {},
  };
  const container = await engine.createContainer(options);
  try {
    // funcs: networks_advanced: disconnect from "bridge" (ignoring "is not connected"), then connect each.
    if (inputs.networksAdvanced) {
      await engine
        .getNetwork("bridge")
        .disconnect({ Container: container.id, Force: false })
        .catch((error: Error) => {
          if (!/is not connected to the network bridge/.test(error.message)) throw error;
        });
      for (const network of inputs.networksAdvanced as Inputs[]) {
        await engine.getNetwork(network.name).connect({ Container: container.id, EndpointConfig: { Aliases: network.aliases ?? [], IPAMConfig: {} } });
      }
    }
    // funcs: upload: one tar per entry, its member named by the full path, copied to "/".
    for (const upload of (inputs.uploads ?? []) as Inputs[]) {
      await container.putArchive(uploadTar(upload), { path: "/" }).catch((error: Error) => {
        throw new Error(`Unable to upload volume content: ${error.message}`);
      });
    }
    // funcs: start (schema Default true), then wait for healthy when `wait` is set (Default false).
    if (inputs.start ?? true) {
      await container.start();
      if (inputs.wait) await waitHealthy(container, inputs.waitTimeout ?? 60);
    }
  } catch (error) {
    // Pulumi records a failed create as a partially created resource; here it is removed so the run leaves nothing behind.
    await container.remove({ force: true, v: true }).catch(() => undefined);
    throw error;
  }
  return { id: container.id, outputs: { ...inputs } };
}

/** funcs: resourceDockerContainerDelete: stop with destroy_grace_seconds (0 when unset), then remove, forced, with its anonymous volumes (remove_volumes Default true). */
async function deleteContainer(engine: Docker, applied: Applied): Promise<void> {
  const container = engine.getContainer(applied.id);
  const grace = applied.inputs.destroyGraceSeconds > 0 ? applied.inputs.destroyGraceSeconds : 0;
  await container.stop({ t: grace }).catch((error: { statusCode?: number; message: string }) => {
    if (error.statusCode !== 304 && error.statusCode !== 404) throw error; // already stopped / no such container
  });
  await container.remove({ v: true, force: true }).catch((error: { statusCode?: number }) => {
    if (error.statusCode !== 404) throw error;
  });
}

/**
 * funcs, the `upload` loop: content (UTF-8 text), content_base64 or source (read from disk at
 * upload time); mode from `permissions` (octal), else 0744 when `executable`, else 0644; a tar
 * header with Name = file, Mode, Size, ModTime now. v4.5.0 writes no owner (uid/gid 0); the
 * `owner`/`group` fields of @pulumi/docker 5.2.0 (types/input.d.ts ContainerUpload: "numeric IDs
 * can be used directly"; kreuzwerker issue #996) set the header's ids: only numeric ids are
 * accepted here, since names would be resolved on the machine running `pulumi up`.
 */
function uploadTar(upload: Inputs): Buffer {
  const given = [upload.content, upload.contentBase64, upload.source].filter((value) => value !== undefined && value !== "");
  if (given.length !== 1) throw new Error(`error with upload content: exactly one of 'content', 'content_base64', or 'source' must be set (${upload.file})`);
  const content =
    upload.content !== undefined && upload.content !== ""
      ? Buffer.from(upload.content, "utf8")
      : upload.contentBase64
        ? Buffer.from(upload.contentBase64, "base64")
        : fs.readFileSync(upload.source);
  const mode = upload.permissions ? parseInt(upload.permissions, 8) : upload.executable ? 0o744 : 0o644;
  const id = (value: string | undefined, what: string): number => {
    if (value === undefined) return 0;
    if (!/^\d+$/.test(value)) throw new Error(`upload ${upload.file}: ${what} ${JSON.stringify(value)} is a name; only numeric ids are supported here`);
    return Number(value);
  };
  return tarArchive([{ path: upload.file, content, mode, uid: id(upload.owner, "owner"), gid: id(upload.group, "group") }]);
}

/** struct: portSetToDockerPorts: internal/protocol (Default "tcp") exposed; external and ip (Default "0.0.0.0") bound. */
function portSetToDockerPorts(ports: Inputs[]): { exposedPorts: Record<string, object>; portBindings: Record<string, { HostIp?: string; HostPort?: string }[]> } {
  const exposedPorts: Record<string, object> = {};
  const portBindings: Record<string, { HostIp?: string; HostPort?: string }[]> = {};
  for (const port of ports) {
    const key = `${port.internal}/${port.protocol ?? "tcp"}`;
    exposedPorts[key] = {};
    (portBindings[key] ??= []).push({ HostIp: port.ip ?? "0.0.0.0", ...(port.external !== undefined ? { HostPort: String(port.external) } : {}) });
  }
  return { exposedPorts, portBindings };
}

/** struct: volumeSetToDockerVolumes: a path alone is an anonymous volume (config.Volumes); with a volume name or host path, a bind "src:path:rw|ro". */
function volumeSetToDockerVolumes(entries: Inputs[]): { volumes: Record<string, object>; binds: string[] } {
  const volumes: Record<string, object> = {};
  const binds: string[] = [];
  for (const entry of entries) {
    if (!entry.containerPath) throw new Error("volume entry without container path");
    volumes[entry.containerPath] = {};
    const source = entry.hostPath || entry.volumeName;
    if (source) binds.push(`${source}:${entry.containerPath}:${entry.readOnly ? "ro" : "rw"}`);
  }
  return { volumes, binds };
}

/** helpers.go labelSetToMap */
function labelSetToMap(labels: { label: string; value: string }[]): Record<string, string> {
  return Object.fromEntries(labels.map(({ label, value }) => [label, value]));
}

/** resource_docker_image_funcs.go findImage: the local image (by name or id) if present, else a pull. */
export async function findImage(engine: Docker, image: string, registryAuth: Map<string, RegistryAuth>): Promise<Docker.ImageInspectInfo> {
  try {
    return await engine.getImage(image).inspect();
  } catch {
    await pullImage(engine, image, registryAuth).catch((error: Error) => {
      throw new Error(`Unable to create container with image ${image}: unable to pull image ${image}: ${error.message}`);
    });
    return engine.getImage(image).inspect();
  }
}

/**
 * resource_docker_image_funcs.go pullImage: the provider's registry_auth entry for the image's
 * registry (parseImageOptions: the name's first part when it has a port or a dot, or is
 * localhost, or the name has more than two parts), none for any other.
 */
async function pullImage(engine: Docker, image: string, registryAuth: Map<string, RegistryAuth>): Promise<void> {
  const firstSlash = image.indexOf("/");
  const prefix = firstSlash === -1 ? "" : image.slice(0, firstSlash);
  const registry = image.split("/").length > 2 || /[.:]/.test(prefix) || prefix === "localhost" ? prefix : "registry-1.docker.io";
  const authconfig = registryAuth.get(registry);
  const stream = await engine.pull(image, authconfig ? { authconfig } : {});
  await new Promise<void>((resolve, reject) => engine.modem.followProgress(stream, (error: Error | null) => (error ? reject(error) : resolve())));
}

/** funcs: with `wait`, inspect every second until Health.Status is healthy; no health check defined is an error; wait_timeout (Default 60 s). */
async function waitHealthy(container: Docker.Container, timeoutS: number): Promise<void> {
  await waitFor(
    async () => {
      const state = (await container.inspect()).State;
      if (!state.Health) throw new Error("you have supplied a 'wait' argument, but the container does not have a healthcheck defined");
      return state.Health.Status === "healthy";
    },
    { timeoutMs: timeoutS * 1000, intervalMs: 1000, what: "container to be in healthy state" },
  ).catch((error: Error) => {
    throw new Error(`container failed to be in healthy state: ${error.message}`);
  });
}
