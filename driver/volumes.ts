import fs from "node:fs";
import type Docker from "dockerode";
import { SEED_LABEL } from "../model/labels";
import type { Deployment } from "../render/deployment";
import type { ServiceSpec } from "../plan/services";
import { dataVolumeName, fileVolumesOf, volumeNames, type Upload } from "../plan/volumes";
import { tarArchive } from "./tar";

/** The TLS material a driver holds (PEM text), for the uploads that name it. */
export interface TlsFiles {
  cert: string;
  key: string;
}

/** What a service mounts: Docker `Mounts` entries, its files read-only, its data volume writable. */
export type ServiceMount = { Type: "volume"; Source: string; Target: string; ReadOnly: boolean };

/**
 * Fills a service's volumes the way the Pulumi program does (plan/volumes.ts): each volume is
 * created (or, when it exists, kept), then a seed container that mounts it is created (never
 * started; a seed left by an earlier delivery is removed first, as the provider replaces it) and
 * every upload is copied into the seed exactly as the docker provider copies a container's
 * `uploads`. A service that keeps state (ServiceSpec.dataDir) gets its data volume too, created
 * when missing and kept otherwise. Returns the service's mounts. Everything carries `names.labels`
 * (the run's KIT_LABEL among them), so teardown by label removes it.
 */
export async function fillServiceVolumes(
  engine: Docker,
  deployment: Deployment,
  service: ServiceSpec,
  names: { prefix: string; labels: Record<string, string> },
  tls: TlsFiles | null,
): Promise<ServiceMount[]> {
  const mounts: ServiceMount[] = [];
  for (const files of fileVolumesOf(deployment, service)) {
    const { volume, seed } = volumeNames(names.prefix, service, files);
    await engine.createVolume({ Name: volume, Labels: names.labels });
    await engine
      .getContainer(seed)
      .remove({ force: true })
      .catch((error: { statusCode?: number }) => {
        if (error.statusCode !== 404) throw error;
      });
    const container = await engine.createContainer({
      name: seed,
      Image: service.image,
      Labels: { ...names.labels, [SEED_LABEL]: service.name },
      HostConfig: { NetworkMode: "none", Mounts: [{ Type: "volume", Source: volume, Target: files.target }] },
    });
    for (const upload of files.uploads) await container.putArchive(providerUploadArchive(upload, tls, service), { path: "/" });
    mounts.push({ Type: "volume", Source: volume, Target: files.target, ReadOnly: true });
  }
  if (service.dataDir) {
    const volume = dataVolumeName(names.prefix, service);
    await engine.createVolume({ Name: volume, Labels: names.labels });
    mounts.push({ Type: "volume", Source: volume, Target: service.dataDir, ReadOnly: false });
  }
  return mounts;
}

/**
 * One upload as the docker provider sends it (kreuzwerker/terraform-provider-docker v4.5.0,
 * internal/provider/resource_docker_container_funcs.go, resourceDockerContainerCreate, the
 * `upload` loop): a tar holding one regular file whose name is the file's full container path,
 * mode from `permissions`, ModTime now, copied with CopyToContainer to "/". The entry carries no
 * owner in that version (uid 0, gid 0); @pulumi/docker 5.2.0 adds `owner`/`group` (numeric ids
 * "used directly"), which the kit sets to 0 as well.
 */
export function providerUploadArchive(upload: Upload, tls: TlsFiles | null, service: ServiceSpec): Buffer {
  return tarArchive([{ path: upload.file, content: uploadContent(upload, tls, service), mode: parseInt(upload.permissions, 8), uid: 0, gid: 0 }]);
}

function uploadContent(upload: Upload, tls: TlsFiles | null, service: ServiceSpec): string | Buffer {
  if ("source" in upload) return fs.readFileSync(upload.source);
  if ("text" in upload.content) return upload.content.text;
  if (!tls) throw new Error(`${service.name} needs the TLS certificate and key, but none were given`);
  return tls[upload.content.tls];
}

