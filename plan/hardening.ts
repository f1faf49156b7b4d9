import { CONTAINER_PATHS, type ImageName } from "../model/layout";
import type { Model } from "../model/model";
import { redisCrossHost } from "./names";

/**
 * How a container is confined. The kit's own images run with a read-only root filesystem,
 * every Linux capability dropped but the few a root-started program needs to drop privileges,
 * and no-new-privileges. An operator's own image (realtime.image, app.image) runs with Docker's
 * defaults: the kit cannot know what it writes or needs.
 */
export interface Confinement {
  /** The root filesystem is mounted read-only; the program writes only to `tmpfs`. */
  readOnlyRootFs: boolean;
  /** In-memory folders the program must write to: container path -> tmpfs mount options. */
  tmpfs: Record<string, string>;
  /** Linux capabilities kept (every other one dropped); null keeps Docker's default set. */
  capabilities: string[] | null;
  /** no-new-privileges: no process of the container can gain privileges (setuid binaries, file capabilities). */
  noNewPrivileges: boolean;
}

/**
 * Users of the kit's images, as Debian's packages create them (images/<role>): tmpfs folders a
 * non-root program writes to are owned by it. The hardening test checks them against the images.
 */
export const IMAGE_USERS = {
  haproxy: { uid: 100, gid: 101 },
  redis: { uid: 100, gid: 101 },
} as const;

const MIB = 1024 * 1024;
const TMPFS_BASE = "rw,noexec,nosuid,nodev";

export function confinementOf(role: ImageName, image: string, kitImage: string, startsAsRoot: boolean, model: Model): Confinement {
  if (image !== kitImage) return { readOnlyRootFs: false, tmpfs: {}, capabilities: null, noNewPrivileges: false };
  // Request bodies are buffered to temporary files (nginx client_body_temp, puma above 112 KB):
  // room for several of the largest accepted bodies at once.
  const bodies = `size=${Math.max(64, Math.ceil((8 * model.limits.maxMessageBytes) / MIB))}m`;
  const tmpfs: Record<string, string> = {};
  if (role === "nginx") tmpfs["/tmp"] = `${TMPFS_BASE},${bodies}`; // pid file and temp paths (nginx.conf)
  if (role === "app") tmpfs["/tmp"] = `${TMPFS_BASE},${bodies}`; // puma's buffered request bodies
  if (role === "haproxy") {
    // The runtime API socket. Docker's default tmpfs mode (1777, sticky) makes an unprivileged
    // HAProxy fail to bind it; a folder owned by the program's user works. Root-started (native
    // TLS) it stays root-owned: with every capability dropped root writes only where it owns.
    const owner = startsAsRoot ? "mode=0755" : `uid=${IMAGE_USERS.haproxy.uid},gid=${IMAGE_USERS.haproxy.gid},mode=0770`;
    tmpfs[dirOf(CONTAINER_PATHS.haproxyRuntimeSocket)] = `${TMPFS_BASE},size=1m,${owner}`;
  }
  if (role === "redis" && redisCrossHost(model)) {
    // Redis reads its TLS certificate and key from files: written at start (start-redis.sh) to
    // memory only Redis's user can read, never to the image or a volume.
    tmpfs[CONTAINER_PATHS.redisTlsDir] = `${TMPFS_BASE},size=1m,uid=${IMAGE_USERS.redis.uid},gid=${IMAGE_USERS.redis.gid},mode=0700`;
  }
  return {
    readOnlyRootFs: true,
    tmpfs,
    capabilities: startsAsRoot ? rootStartedCapabilities(role) : [],
    noNewPrivileges: true,
  };
}

/**
 * A terminator started as root only to read the private key keeps what it needs to drop to an
 * unprivileged user (SETUID, SETGID). HAProxy's master stays root and signals its unprivileged
 * workers: on a reload the old worker must get SIGUSR1 to stop accepting connections, which across
 * users takes KILL. Without it the old worker went on taking about half the new connections with
 * the old configuration (seen with a reloaded haproxy.cfg in the integration suite).
 */
export function rootStartedCapabilities(role: ImageName): string[] {
  return role === "haproxy" ? ["SETUID", "SETGID", "KILL"] : ["SETUID", "SETGID"];
}

function dirOf(file: string): string {
  return file.slice(0, file.lastIndexOf("/"));
}
