import Docker from "dockerode";
import { PassThrough } from "node:stream";
import { KIT_LABEL } from "../model/layout";
import { waitFor } from "./wait";

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

/** Removes every container, then every network, carrying the kit's label with the given value. */
export async function removeByLabel(owner: string): Promise<{ containers: number; networks: number }> {
  const filters = JSON.stringify({ label: [`${KIT_LABEL}=${owner}`] });
  const containers = await docker.listContainers({ all: true, filters });
  await Promise.all(containers.map((info) => docker.getContainer(info.Id).remove({ force: true, v: true }).catch(() => undefined)));
  const networks = await docker.listNetworks({ filters });
  await Promise.all(networks.map((info) => docker.getNetwork(info.Id).remove().catch(() => undefined)));
  return { containers: containers.length, networks: networks.length };
}

/**
 * Marks what the harness (`up`, the integration tests) created, beside KIT_LABEL=<run id>, so
 * `down --all` removes every harness run and nothing else that carries the kit's label.
 */
export const DRIVER_LABEL = "io.realtime-kit.driver";
export const HARNESS_DRIVER = "harness";

/** Run ids of every harness run with a container or network on this engine. */
export async function harnessRunIds(): Promise<string[]> {
  const filters = JSON.stringify({ label: [`${DRIVER_LABEL}=${HARNESS_DRIVER}`] });
  const [containers, networks] = await Promise.all([docker.listContainers({ all: true, filters }), docker.listNetworks({ filters })]);
  const ids = new Set<string>();
  for (const item of [...containers, ...networks]) {
    const id = item.Labels?.[KIT_LABEL];
    if (id) ids.add(id);
  }
  return [...ids];
}

/** Waits until a container passes its own HEALTHCHECK; one that is not running is named as such on timeout. */
export async function waitHealthy(container: Docker.Container, what: string, timeoutMs: number, intervalMs = 250): Promise<void> {
  await waitFor(
    async () => {
      const state = (await container.inspect()).State;
      if (!state.Running) throw new Error(`not running (exit ${state.ExitCode}, ${state.Error || state.Status})`);
      return state.Health?.Status === "healthy";
    },
    { timeoutMs, intervalMs, what },
  );
}

/** Runs a command in a running container; resolves with its exit code and demultiplexed output. */
export async function execIn(container: Docker.Container, cmd: string[], user?: string): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const exec = await container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true, ...(user ? { User: user } : {}) });
  const stream = await exec.start({ hijack: true, stdin: false });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  const out = new PassThrough().on("data", (chunk: Buffer) => stdout.push(chunk));
  const err = new PassThrough().on("data", (chunk: Buffer) => stderr.push(chunk));
  docker.modem.demuxStream(stream, out, err);
  await new Promise<void>((resolve, reject) => {
    stream.on("end", resolve);
    stream.on("close", resolve);
    stream.on("error", reject);
  });
  const { ExitCode } = await exec.inspect();
  return { exitCode: ExitCode ?? -1, stdout: Buffer.concat(stdout).toString("utf8"), stderr: Buffer.concat(stderr).toString("utf8") };
}

/**
 * Waits until a container passes its own HEALTHCHECK command, run from here every `intervalMs`
 * rather than on Docker's schedule (every 5-10 s for the kit's images): a new instance is taken
 * into service as soon as the check Docker would run passes.
 */
export async function waitCheckPasses(container: Docker.Container, what: string, timeoutMs: number, intervalMs = 200): Promise<void> {
  const info = await container.inspect();
  const test = info.Config.Healthcheck?.Test ?? ((await docker.getImage(info.Image).inspect()).Config as { Healthcheck?: { Test?: string[] } }).Healthcheck?.Test;
  if (!test || test[0] === "NONE") throw new Error(`${info.Name.replace(/^\//, "")} has no HEALTHCHECK to wait for`);
  const command = shellCommand(test as HealthCheckTest);
  await waitFor(
    async () => {
      const state = (await container.inspect()).State;
      if (!state.Running) throw new Error(`not running (exit ${state.ExitCode}, ${state.Error || state.Status})`);
      const run = await execIn(container, ["/bin/sh", "-c", command]);
      if (run.exitCode !== 0) throw new Error(`the check exited ${run.exitCode}: ${(run.stderr || run.stdout).trim().split("\n").slice(-1)[0] ?? ""}`);
      return true;
    },
    { timeoutMs, intervalMs, what },
  );
}

/** A HEALTHCHECK test as Docker stores it. */
export type HealthCheckTest = ["CMD", ...string[]] | ["CMD-SHELL", string];

/** A HEALTHCHECK test as one `sh -c` command line, the way Docker runs it. */
export function shellCommand(test: HealthCheckTest): string {
  if (test[0] === "CMD-SHELL") return test[1];
  return test
    .slice(1)
    .map((arg) => `'${arg.replace(/'/g, `'\\''`)}'`)
    .join(" ");
}
