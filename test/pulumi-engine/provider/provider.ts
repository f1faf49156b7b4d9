import Docker from "dockerode";
import { engineOf } from "../../../driver/hosts";
import type { Applied, Inputs, ResourceHandler } from "./engine";

/** A registry's credentials as the Docker API takes them (X-Registry-Auth). */
export interface RegistryAuth {
  username: string;
  password: string;
  serveraddress: string;
}

/** What a resource is created with: its provider's engine and registry credentials (by registry host name). */
export interface ProviderTarget {
  engine: Docker;
  registryAuth: Map<string, RegistryAuth>;
}

/**
 * An explicit docker.Provider: one Docker engine, reached as kreuzwerker/terraform-provider-docker
 * v4.5.0 internal/provider/config.go MakeClient reaches it: with `certPath`, TLS from its ca.pem,
 * cert.pem and key.pem; else `ssh://` through the ssh connection helper (`ssh ... docker system
 * dial-stdio`); else the host as it is (unix://). The client is pinged when made, as MakeClient
 * does, so an unreachable engine fails the provider, not a later resource. A tcp:// engine without
 * certPath (plain HTTP) is an error here: the kit's program never asks for one.
 */
export const PROVIDER: ResourceHandler = {
  fields: { host: true, certPath: true, registryAuth: { address: true, username: true, password: true }, version: true },
  replace: "create-before-delete",
  async create(_engine: Docker, inputs: Inputs) {
    const engine = connect(inputs);
    await engine.ping().catch((error: Error) => {
      throw new Error(`Error pinging Docker server, please make sure that ${inputs.host} is reachable and has a  '_ping' endpoint. Error: ${error.message}`);
    });
    return { id: `docker-provider-${inputs.host}`, outputs: { ...inputs } };
  },
  async delete(_engine: Docker, _applied: Applied) {
    // Providers hold no resources of their own.
  },
};

function connect(inputs: Inputs): Docker {
  const host = String(inputs.host ?? "");
  if (/^unix:\/\//.test(host)) return new Docker({ socketPath: host.slice("unix://".length) });
  if (/^tcp:\/\//.test(host) && !inputs.certPath) throw new Error(`docker provider host ${host} without certPath (plain HTTP) is not applied here`);
  if (/^(tcp|ssh):\/\//.test(host)) return engineOf({ name: host, docker: host, address: "", certPath: inputs.certPath ?? null }, 0);
  throw new Error(`docker provider host ${host}: expected unix://, tcp:// or ssh://`);
}

/** The local engine: DOCKER_HOST or the default socket, as the provider's `host` Default (pulumi-docker provider/resources.go). */
const LOCAL: ProviderTarget = { engine: new Docker(), registryAuth: new Map() };
/** One client per explicit provider, as MakeClient caches its clients (an ssh:// engine keeps its sessions). */
const targets = new Map<string, ProviderTarget>();

/**
 * The engine a resource is created on: its explicit provider's (the reference ends in `::<id>`),
 * or the default provider's (an empty reference under the mocks).
 */
export function targetFor(providerRef: string | undefined, applied: Applied[]): ProviderTarget {
  if (!providerRef) return LOCAL;
  const id = providerRef.slice(providerRef.lastIndexOf("::") + 2);
  const provider = applied.find((resource) => resource.type === "pulumi:providers:docker" && resource.id === id);
  if (!provider) throw new Error(`provider ${providerRef} was not created before the resource that uses it`);
  const key = JSON.stringify(provider.inputs);
  let target = targets.get(key);
  if (!target) {
    target = { engine: connect(provider.inputs), registryAuth: registryAuthOf(provider.inputs.registryAuth) };
    targets.set(key, target);
  }
  return target;
}

/**
 * provider.go providerSetToRegistryAuth: each registry_auth entry keyed by its address's host name,
 * with its username and password. A provider's object inputs reach a mock monitor as JSON text.
 */
function registryAuthOf(value: unknown): Map<string, RegistryAuth> {
  const entries = (typeof value === "string" ? JSON.parse(value) : value ?? []) as { address: string; username: string; password: string }[];
  return new Map(
    entries.map(({ address, username, password }) => {
      const hostname = registryHostname(address);
      return [hostname, { username, password, serveraddress: hostname }];
    }),
  );
}

/** A registry address as a host name, scheme and path dropped: the provider's convertToHostname, and pulumi-docker's server address for a push. */
export function registryHostname(address: string): string {
  return address.replace(/^https?:\/\//, "").split("/")[0]!;
}
