import type Docker from "dockerode";
import { waitFor } from "../../../driver/wait";
import type { Applied, Inputs, ResourceHandler } from "./engine";

/**
 * docker.Network, as kreuzwerker/terraform-provider-docker v4.5.0 (commit 5074970c)
 * internal/provider/resource_docker_network_funcs.go creates and deletes it.
 */
export const NETWORK: ResourceHandler = {
  fields: { name: true, labels: { label: true, value: true }, driver: true, internal: true, attachable: true },
  replace: "create-before-delete",
  // resourceDockerNetworkCreate: NetworkCreate(name, {Labels, Driver, Internal, Attachable} when set,
  // IPAM{Driver} always: resource_docker_network.go gives ipam_driver the Default "default").
  async create(engine: Docker, inputs: Inputs) {
    const network = await engine.createNetwork({
      Name: inputs.name,
      ...(inputs.labels ? { Labels: Object.fromEntries((inputs.labels as Inputs[]).map(({ label, value }) => [label, value])) } : {}),
      ...(inputs.driver ? { Driver: inputs.driver } : {}),
      ...(inputs.internal ? { Internal: true } : {}),
      ...(inputs.attachable ? { Attachable: true } : {}),
      IPAM: { Driver: "default" },
    });
    const info = await network.inspect();
    return { id: network.id, outputs: { ...inputs, name: info.Name, driver: info.Driver } };
  },
  // resourceDockerNetworkDelete: NetworkRemove, retried until the network is gone (endpoints may still be leaving).
  async delete(engine: Docker, applied: Applied) {
    await waitFor(
      async () => {
        try {
          await engine.getNetwork(applied.id).remove();
          return true;
        } catch (error) {
          const { statusCode } = error as { statusCode?: number };
          if (statusCode === 404) return true;
          if (statusCode === 403 || statusCode === 409) return false; // active endpoints
          throw error;
        }
      },
      { timeoutMs: 30_000, intervalMs: 500, what: `network ${applied.id} to be removed` },
    );
  },
};
