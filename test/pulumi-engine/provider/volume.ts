import type Docker from "dockerode";
import { waitFor } from "../../../driver/wait";
import type { Applied, Inputs, ResourceHandler } from "./engine";

/**
 * docker.Volume, as kreuzwerker/terraform-provider-docker v4.5.0 (commit 5074970c)
 * internal/provider/resource_docker_volume.go creates and deletes it. Every field is ForceNew.
 */
export const VOLUME: ResourceHandler = {
  fields: { name: true, labels: { label: true, value: true }, driver: true, driverOpts: true },
  replace: "create-before-delete",
  // resourceDockerVolumeCreate: VolumeCreate{Name, Labels, Driver, DriverOpts}, each only when set.
  async create(engine: Docker, inputs: Inputs) {
    const created = await engine.createVolume({
      Name: inputs.name ?? "",
      ...(inputs.labels ? { Labels: Object.fromEntries((inputs.labels as Inputs[]).map(({ label, value }) => [label, value])) } : {}),
      ...(inputs.driver ? { Driver: inputs.driver } : {}),
      ...(inputs.driverOpts ? { DriverOpts: inputs.driverOpts } : {}),
    });
    const info = await engine.getVolume((created as unknown as { name: string }).name).inspect();
    return { id: info.Name, outputs: { ...inputs, name: info.Name, driver: info.Driver, mountpoint: info.Mountpoint } };
  },
  // resourceDockerVolumeDelete: VolumeRemove(force true), retried while "volume is in use".
  async delete(engine: Docker, applied: Applied) {
    await waitFor(
      async () => {
        try {
          await engine.getVolume(applied.id).remove({ force: true });
          return true;
        } catch (error) {
          const { statusCode, message } = error as { statusCode?: number; message: string };
          if (statusCode === 404) return true;
          if (/volume is in use/.test(message)) return false;
          throw error;
        }
      },
      { timeoutMs: 30_000, intervalMs: 1000, what: `volume ${applied.id} to be removed` },
    );
  },
};
