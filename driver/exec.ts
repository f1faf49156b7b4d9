import type Docker from "dockerode";
import { PassThrough } from "node:stream";
import { docker } from "./engine";

export interface ExecResult {
  exitCode: number;
  output: string;
  stdout: string;
  stderr: string;
}

/** What the driver needs of a service's container: its id, and a command run inside it. */
export interface ServiceContainer {
  getId(): string;
  exec(cmd: string[]): Promise<ExecResult>;
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

/** A service's container as the driver uses it, made directly on an engine (not through testcontainers). */
export function serviceContainerOf(container: Docker.Container): ServiceContainer {
  return {
    getId: () => container.id,
    async exec(cmd) {
      const result = await execIn(container, cmd);
      return { ...result, output: result.stdout + result.stderr };
    },
  };
}
