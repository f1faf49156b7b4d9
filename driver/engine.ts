import Docker from "dockerode";
import { DRIVER_LABEL, KIT_LABEL, LOCAL_DRIVER } from "../model/labels";

/** The local Docker engine, reached through DOCKER_HOST or the default socket. */
export const docker = new Docker();

export interface OneShotOptions {
  image: string;
  cmd: string[];
  /** `hostPath:containerPath[:ro]` bind mounts. */
  binds?: string[];
  /** `name:address` entries for the container's /etc/hosts. */
  extraHosts?: string[];
  user?: string;
  /** Label value marking what created the container, for cleanup by label. */
  owner: string;
}

/** Runs a command in a fresh container with no network, returns its exit code and output, removes it. */
export async function runOneShot(options: OneShotOptions): Promise<{ exitCode: number; output: string }> {
  const container = await docker.createContainer({
    Image: options.image,
    Cmd: options.cmd,
    User: options.user,
    Labels: { [KIT_LABEL]: options.owner },
    HostConfig: { Binds: options.binds, ExtraHosts: options.extraHosts, NetworkMode: "none" },
  });
  try {
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    return { exitCode: StatusCode, output: await logsOf(container) };
  } finally {
    await container.remove({ force: true });
  }
}

/** Combined stdout and stderr of a container, demultiplexed. */
export async function logsOf(container: Docker.Container): Promise<string> {
  const raw = (await container.logs({ stdout: true, stderr: true, follow: false })) as Buffer;
  return demultiplex(raw);
}

function demultiplex(raw: Buffer): string {
  const chunks: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= raw.length) {
    const size = raw.readUInt32BE(offset + 4);
    chunks.push(raw.subarray(offset + 8, offset + 8 + size));
    offset += 8 + size;
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** How many of a run's containers, networks and volumes one removal took away. */
export interface RemovalCounts {
  containers: number;
  networks: number;
  volumes: number;
}

export const NOTHING_REMOVED: RemovalCounts = Object.freeze({ containers: 0, networks: 0, volumes: 0 });

/**
 * Removes every container, then every network and volume, carrying the kit's label with the given
 * value. Counts what this call removed: something another removal got to first is not counted twice.
 */
export async function removeByLabel(owner: string, engine: Docker = docker): Promise<RemovalCounts> {
  const filters = JSON.stringify({ label: [`${KIT_LABEL}=${owner}`] });
  const removed = (removals: Promise<unknown>[]) => Promise.all(removals.map((removal) => removal.then(() => 1, () => 0))).then((ones) => ones.reduce((sum: number, one) => sum + one, 0));
  const containers = await engine.listContainers({ all: true, filters });
  const containerCount = await removed(containers.map((info) => engine.getContainer(info.Id).remove({ force: true, v: true })));
  const networks = await engine.listNetworks({ filters });
  const networkCount = await removed(networks.map((info) => engine.getNetwork(info.Id).remove()));
  const { Volumes: volumes } = await engine.listVolumes({ filters });
  const volumeCount = await removed((volumes ?? []).map((info) => engine.getVolume(info.Name).remove()));
  return { containers: containerCount, networks: networkCount, volumes: volumeCount };
}

/** Run ids of every local run (DRIVER_LABEL=LOCAL_DRIVER) with a container, network or volume on this engine. */
export async function localRunIds(): Promise<string[]> {
  const filters = JSON.stringify({ label: [`${DRIVER_LABEL}=${LOCAL_DRIVER}`] });
  const [containers, networks, volumes] = await Promise.all([docker.listContainers({ all: true, filters }), docker.listNetworks({ filters }), docker.listVolumes({ filters })]);
  const ids = new Set<string>();
  for (const item of [...containers, ...networks, ...(volumes.Volumes ?? [])]) {
    const id = item.Labels?.[KIT_LABEL];
    if (id) ids.add(id);
  }
  return [...ids];
}
