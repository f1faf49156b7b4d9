import fs from "node:fs";
import path from "node:path";
import Docker from "dockerode";
import { ConfigError } from "../model/errors";
import type { HostSpec } from "../model/model";
import { docker, removeByLabel } from "./engine";

/**
 * A Docker engine client for one machine of `hosts`, reached the way the Docker CLI and the Pulumi
 * provider reach it: `unix://` a socket, `tcp://` with TLS from the host's certPath (ca.pem,
 * cert.pem, key.pem; verified both ways), `ssh://user@host[:port]` through the user's ssh-agent
 * (SSH_AUTH_SOCK), running `docker system dial-stdio` on the machine.
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
    case "ssh:": {
      const agent = process.env.SSH_AUTH_SOCK;
      if (!agent) throw new ConfigError(field, `${host.docker} is reached with the keys of your ssh-agent, and SSH_AUTH_SOCK is not set; start one (eval "$(ssh-agent)") and ssh-add the key that logs in to ${url.hostname}`);
      return new Docker({
        protocol: "ssh",
        host: url.hostname,
        port: Number(url.port || 22),
        username: decodeURIComponent(url.username) || "root",
        sshOptions: { agent },
      } as Docker.DockerOptions);
    }
    default:
      throw new ConfigError(field, `${host.docker}: expected unix://, tcp:// or ssh://`);
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

  /** The edge host's engine: the first of `hosts`, or the local one. */
  get edge(): Docker {
    return this.hosts ? this.engines.get(this.hosts[0]!.name)! : docker;
  }

  /** Every engine, with the machine's name ("local" without hosts). */
  all(): { name: string; engine: Docker }[] {
    return this.hosts ? this.hosts.map((host) => ({ name: host.name, engine: this.engines.get(host.name)! })) : [{ name: "local", engine: docker }];
  }

  /** Removes what carries KIT_LABEL=<owner> on every engine; an engine that cannot be reached is named in the error after the others are cleaned. */
  async removeByLabel(owner: string): Promise<{ containers: number; networks: number; volumes: number }> {
    const results = await Promise.allSettled(this.all().map(({ engine }) => removeByLabel(owner, engine)));
    const total = { containers: 0, networks: 0, volumes: 0 };
    const unreachable: string[] = [];
    results.forEach((result, index) => {
      if (result.status === "rejected") {
        unreachable.push(`${this.all()[index]!.name} (${(result.reason as Error).message})`);
        return;
      }
      total.containers += result.value.containers;
      total.networks += result.value.networks;
      total.volumes += result.value.volumes;
    });
    if (unreachable.length > 0) throw new Error(`could not remove ${owner} from ${unreachable.join(", ")}; run \`realtime-kit down\` again when the host answers`);
    return total;
  }
}
