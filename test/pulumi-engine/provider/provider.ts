import Docker from "dockerode";
import type { Applied, Inputs, ResourceHandler } from "./engine";

/**
 * An explicit docker.Provider: one Docker engine. Only the local engine (unix://) is reachable
 * from this engine's runs; tcp:// and ssh:// engines are an error, not a silent fallback.
 */
export const PROVIDER: ResourceHandler = {
  fields: { host: true, certPath: true, registryAuth: true, version: true },
  replace: "create-before-delete",
  async create(_engine: Docker, inputs: Inputs) {
    if (!/^unix:\/\//.test(inputs.host ?? "")) throw new Error(`docker provider host ${inputs.host}: only unix:// engines are applied here`);
    return { id: `docker-provider-${inputs.host}`, outputs: { ...inputs } };
  },
  async delete(_engine: Docker, _applied: Applied) {
    // Providers hold no resources of their own.
  },
};

/** The local engine: DOCKER_HOST or the default socket, as the provider's `host` Default (pulumi-docker provider/resources.go). */
const LOCAL = new Docker();

/**
 * The engine a resource is created on: its explicit provider's (the reference ends in `::<id>`),
 * or the default provider's (an empty reference under the mocks).
 */
export function engineFor(providerRef: string | undefined, applied: Applied[]): Docker {
  if (!providerRef) return LOCAL;
  const id = providerRef.slice(providerRef.lastIndexOf("::") + 2);
  const provider = applied.find((resource) => resource.type === "pulumi:providers:docker" && resource.id === id);
  if (!provider) throw new Error(`provider ${providerRef} was not created before the resource that uses it`);
  const socket = (provider.inputs.host as string).slice("unix://".length);
  return new Docker({ socketPath: socket });
}
