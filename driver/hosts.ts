import fs from "node:fs";
import path from "node:path";
import { spawn } from "node:child_process";
import http from "node:http";
import { Duplex } from "node:stream";
import Docker from "dockerode";
import { ConfigError } from "../model/errors";
import type { HostSpec } from "../model/model";
import { docker, removeByLabel, type RemovalCounts } from "./engine";

/**
 * A Docker engine client for one machine of `hosts`, reached the way the Docker CLI and the Pulumi
 * provider reach it: `unix://` a socket, `tcp://` with TLS from the host's certPath (ca.pem,
 * cert.pem, key.pem; verified both ways), `ssh://user@host[:port]` through the system's ssh client
 * running `docker system dial-stdio` on the machine (the Docker CLI's own ssh connection helper).
 */
export function engineOf(host: HostSpec, index: number): Docker {
  const field = `hosts.${index}.docker`;
  const url = new URL(host.docker);
  switch (url.protocol) {
    case "unix:":
      return new Docker({ socketPath: url.pathname });
    case "tcp:": {
      // The model requires certPath for tcp://: an engine open without TLS is open to anyone.
      const read = (file: string) => {
        const full = path.join(host.certPath!, file);
        try {
          return fs.readFileSync(full);
        } catch {
          throw new ConfigError(`hosts.${index}.certPath`, `${full} cannot be read; the folder needs ca.pem, cert.pem and key.pem (as \`docker context\` keeps them)`);
        }
      };
      return new Docker({ protocol: "https", host: url.hostname, port: Number(url.port || 2376), ca: read("ca.pem"), cert: read("cert.pem"), key: read("key.pem") });
    }
    case "ssh:":
      // No host name on the requests: every connection is an ssh session to the machine.
      return new Docker({ protocol: "http", host: "docker", port: 80, agent: sshDialAgent(url) } as Docker.DockerOptions);
    default:
      throw new ConfigError(field, `${host.docker}: expected unix://, tcp:// or ssh://`);
  }
}

/** A machine's engine that did not answer: its message says which and what to do, so the CLI prints it alone. */
export class UnreachableEngineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnreachableEngineError";
    this.stack = message;
  }
}

/**
 * The Docker engines a deployment runs on: one per machine of `hosts`, or the local engine (the one
 * DOCKER_HOST names) when it has none. Services name their machine (ServiceSpec.host); the edge host
 * (the first) also runs whatever belongs to the deployment as a whole (the tests' toolbox).
 */
export class DeploymentEngines {
  private readonly engines: Map<string, Docker>;

  constructor(readonly hosts: HostSpec[] | null) {
    this.engines = new Map((hosts ?? []).map((host, index) => [host.name, engineOf(host, index)]));
  }

  /** The engine of a machine (a ServiceSpec's `host`); null is the deployment's only or first one. */
  of(host: string | null): Docker {
    if (host === null) return this.edge;
    const engine = this.engines.get(host);
    if (!engine) throw new Error(`no host ${host} in this deployment (have ${[...this.engines.keys()].join(", ") || "the local engine only"})`);
    return engine;
  }

  /** A machine's engine for messages: `host node2's Docker engine (hosts.1.docker: tcp://...)`, or "this Docker engine". */
  describe(host: string | null): string {
    const index = this.hosts?.findIndex((candidate) => candidate.name === host) ?? -1;
    if (!this.hosts || index < 0) return "this Docker engine";
    return `host ${host}'s Docker engine (hosts.${index}.docker: ${this.hosts[index]!.docker})`;
  }

  /** The edge host's engine: the first of `hosts`, or the local one. */
  get edge(): Docker {
    return this.hosts ? this.engines.get(this.hosts[0]!.name)! : docker;
  }

  /** Every engine, with the machine's name ("local" without hosts). */
  all(): { name: string; engine: Docker }[] {
    return this.hosts ? this.hosts.map((host) => ({ name: host.name, engine: this.engines.get(host.name)! })) : [{ name: "local", engine: docker }];
  }

  /** Removes what carries KIT_LABEL=<owner> on every engine; an engine that cannot be reached is named in the error after the others are cleaned. */
  async removeByLabel(owner: string): Promise<RemovalCounts> {
    const machines = this.all();
    const results = await Promise.allSettled(machines.map(({ engine }) => removeByLabel(owner, engine)));
    const total = { containers: 0, networks: 0, volumes: 0 };
    const unreachable: string[] = [];
    results.forEach((result, index) => {
      if (result.status === "rejected") {
        unreachable.push(`${machines[index]!.name} (${(result.reason as Error).message})`);
        return;
      }
      total.containers += result.value.containers;
      total.networks += result.value.networks;
      total.volumes += result.value.volumes;
    });
    if (unreachable.length > 0) throw new UnreachableEngineError(`could not remove ${owner} from ${unreachable.join(", ")}; run \`realtime-kit down\` again when the host answers`);
    return total;
  }
}

/**
 * An HTTP agent whose every connection is `ssh [-p port] [-l user] -- host docker system dial-stdio`,
 * as the Docker CLI and the Pulumi provider connect to ssh:// engines: the user's own ssh setup
 * decides (~/.ssh/config, keys and agent, and known_hosts: an unknown or changed host key is refused,
 * BatchMode never asks). Connections are kept alive between requests, and never keep the process alive.
 */
function sshDialAgent(url: URL): http.Agent {
  const args = ["-o", "BatchMode=yes", ...(url.port ? ["-p", url.port] : []), ...(url.username ? ["-l", decodeURIComponent(url.username)] : []), "--", url.hostname, "docker", "system", "dial-stdio"];
  const agent = new http.Agent({ keepAlive: true });
  (agent as unknown as { createConnection: () => Duplex }).createConnection = () => {
    const child = spawn("ssh", args, { stdio: ["pipe", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    // The session's end is told by the process: a failed ssh (refused key, unknown host key) ends
    // the connection with ssh's own message rather than a bare "socket hang up".
    const socket = new Duplex({
      read: () => void child.stdout.resume(),
      write: (chunk: Buffer, _encoding, done) => void child.stdin.write(chunk, done),
      final: (done) => void child.stdin.end(done),
      destroy: (error, done) => {
        child.kill();
        done(error);
      },
    });
    child.stdout.on("data", (chunk: Buffer) => {
      if (!socket.push(chunk)) child.stdout.pause();
    });
    child.stdin.on("error", () => undefined); // an ssh that exited: reported on close below
    child.on("error", (error) => socket.destroy(new Error(`ssh to ${url.host}: ${error.message}`)));
    child.on("close", (code) => {
      if (code) socket.destroy(new Error(`ssh to ${url.host} failed (exit ${code}): ${stderr.trim().split("\n").pop() ?? ""}`));
      else socket.push(null);
    });
    // What http.Agent asks of a net.Socket: it unrefs a kept-alive idle connection and refs it again
    // when a request takes it, so an idle ssh session never keeps the process alive.
    const handles = [child, child.stdin, child.stdout, child.stderr] as unknown as { ref?: () => void; unref?: () => void }[];
    Object.assign(socket, {
      setKeepAlive: () => socket,
      setNoDelay: () => socket,
      setTimeout: () => socket,
      ref: () => (handles.forEach((handle) => handle.ref?.()), socket),
      unref: () => (handles.forEach((handle) => handle.unref?.()), socket),
    });
    return socket;
  };
  return agent;
}
