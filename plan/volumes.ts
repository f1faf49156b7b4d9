import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { CONFIG_DIR, CONTAINER_PATHS } from "../model/layout";
import type { GeneratedFiles } from "./files";
import type { ServiceSpec } from "./services";

/**
 * How a service gets the files it reads (generated configs, the TLS certificate and key, static
 * assets), the same way for every driver (the Pulumi program, `up` and the tests):
 *
 * - each group of files lives in a named volume of the deployment, mounted read-only into the
 *   service, whose root filesystem stays read-only;
 * - the volume is filled by a seed container: created from the service's image, never started,
 *   with a writable root, the volume mounted, and every file copied in as a tar of its full path
 *   to `/`. That is what the Pulumi docker provider does with a container's `uploads`, and Docker
 *   refuses such a copy into a container whose root is read-only (even when the file's folder is a
 *   volume), so the seed is what makes the provider's upload work with a confined service;
 * - a changed configuration or certificate replaces only the seed, which rewrites the files in the
 *   same volume; the service keeps running and its image's watcher reloads it (HAProxy and nginx
 *   without dropping a connection; stunnel restarts, see images/stunnel/README.md);
 * - static assets go into a volume named after their content, so a new set of assets is a new
 *   volume (and a new nginx container), and a deleted asset is really gone.
 */
export interface FileVolume {
  /** Name suffix: `config`, or `static-<content hash>`. */
  name: string;
  /** Where the service mounts it (read-only). */
  target: string;
  uploads: Upload[];
}

/** One file copied into a volume through its seed, in the shape of the provider's `uploads` entries. */
export type Upload = { file: string; permissions: FileMode } & ({ content: UploadText } | { source: string; sourceHash: string });

/** Text of a generated file, or a reference to the TLS material only the driver holds. */
export type UploadText = { text: string } | { tls: "cert" | "key" };

/**
 * 0644 for what the service's unprivileged user reads; 0600 (root-owned, as every upload is) for
 * the private key, which only a terminator started as root reads before it drops privileges.
 */
export type FileMode = "0644" | "0600";

/** The volumes a service mounts and what goes into each (none for services that read no files). */
export function fileVolumesOf(deployment: { files: GeneratedFiles }, service: ServiceSpec): FileVolume[] {
  const volumes: FileVolume[] = [];
  const config: Upload[] = service.configFiles.map(({ file, containerPath }) => {
    const text = deployment.files[file];
    if (text === undefined) throw new Error(`the plan has no ${file} for ${service.name}`);
    return { file: containerPath, content: { text }, permissions: "0644" };
  });
  if (service.mountsTls) {
    config.push({ file: CONTAINER_PATHS.tlsCert, content: { tls: "cert" }, permissions: "0644" });
    config.push({ file: CONTAINER_PATHS.tlsKey, content: { tls: "key" }, permissions: "0600" });
  }
  if (config.length > 0) volumes.push({ name: "config", target: CONFIG_DIR, uploads: config });
  if (service.staticDir) volumes.push(staticVolume(service.staticDir));
  return volumes;
}

/** The names a driver gives a service's volume and its seed container on the engine. */
export function volumeNames(deployment: string, service: ServiceSpec, volume: FileVolume): { volume: string; seed: string } {
  const volumeName = `${deployment}-${service.name}-${volume.name}`;
  return { volume: volumeName, seed: `${volumeName}-seed` };
}

/** The name a driver gives a service's data volume (ServiceSpec.dataDir) on the engine. */
export function dataVolumeName(deployment: string, service: ServiceSpec): string {
  return `${deployment}-${service.name}-data`;
}

function staticVolume(folder: string): FileVolume {
  const files = filesUnder(folder);
  const digest = createHash("sha256");
  const uploads: Upload[] = files.map((relative) => {
    const source = path.join(folder, relative);
    const sourceHash = createHash("sha256").update(fs.readFileSync(source)).digest("hex");
    const file = path.posix.join(CONTAINER_PATHS.staticDir, relative.split(path.sep).join("/"));
    digest.update(`${file}\0${sourceHash}\0`);
    return { file, source, sourceHash, permissions: "0644" };
  });
  return { name: `static-${digest.digest("hex").slice(0, 12)}`, target: CONTAINER_PATHS.staticDir, uploads };
}

/** Paths of the regular files under a folder (following links), relative to it, sorted. */
export function filesUnder(folder: string, prefix = ""): string[] {
  const found: string[] = [];
  for (const entry of fs.readdirSync(path.join(folder, prefix)).sort()) {
    const relative = path.join(prefix, entry);
    const stat = fs.statSync(path.join(folder, relative));
    if (stat.isDirectory()) found.push(...filesUnder(folder, relative));
    else if (stat.isFile()) found.push(relative);
  }
  return found;
}
