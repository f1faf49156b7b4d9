/**
 * Step 2 of `npm run setup`: ensureBaseImage(), debian:bookworm-slim exists (docker pull, else
 * debootstrap + docker import). The rootfs handling (unmount, remove, slim) is in rootfs.ts.
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { KIT_LABEL } from "../../model/labels";
import { findDebianMirror, readAptSources, sourcesForSuite } from "./apt-sources";
import {
  CommandError,
  describeFailure,
  envWithSbin,
  formatBytes,
  formatDuration,
  indent,
  run,
  tailFile,
  tailLines,
  which,
} from "./proc";
import { mountsUnder, removeRootfs, slimRootfs } from "./rootfs";
import { aptInstall, imageInfo, type Reporter, REPO_ROOT, requireRoot, SETUP_LOG_DIR, SetupError, silent } from "./setup-shared";

export const BASE_IMAGE = "debian:bookworm-slim";
const BASE_SUITE = "bookworm";

export interface BaseImageResult {
  action: "present" | "pulled" | "debootstrapped";
  id: string;
  size: number;
  summary: string;
}

/**
 * Makes sure `debian:bookworm-slim` exists: present -> nothing; else `docker pull` (short
 * timeout); else build it with `debootstrap --variant=minbase bookworm` from the host's APT
 * mirror and `docker import` it.
 */
export async function ensureBaseImage(
  opts: { reporter?: Reporter; image?: string; pullTimeoutMs?: number; mirror?: string } = {},
): Promise<BaseImageResult> {
  const reporter = opts.reporter ?? silent;
  const image = opts.image ?? BASE_IMAGE;

  const present = await imageInfo(image);
  if (present) {
    return { action: "present", ...present, summary: `${image} present (${shortId(present.id)}, ${formatBytes(present.size)})` };
  }

  const pullTimeoutMs = opts.pullTimeoutMs ?? 45_000;
  reporter.info(`${image} missing: trying docker pull (timeout ${pullTimeoutMs / 1000} s)`);
  const pull = await run("docker", ["pull", image], { timeoutMs: pullTimeoutMs });
  if (pull.code === 0 && !pull.timedOut) {
    const info = await imageInfo(image);
    if (info) return { action: "pulled", ...info, summary: `pulled ${image} (${shortId(info.id)}, ${formatBytes(info.size)})` };
  }
  const why = pull.timedOut ? "timed out" : tailLines(pull.stderr || pull.stdout, 1) || `exit ${pull.code}`;
  reporter.info(`docker pull failed (${why}): building it with debootstrap`);

  requireRoot("Building the base image with debootstrap");
  if (!which("debootstrap")) {
    reporter.info("debootstrap not installed");
    await aptInstall(["debootstrap", "debian-archive-keyring"], reporter);
  }
  const hostSources = readAptSources();
  const explicitMirror = opts.mirror ?? process.env.REALTIME_KIT_DEBIAN_MIRROR;
  const mirror = explicitMirror ?? findDebianMirror(BASE_SUITE, hostSources);
  if (!mirror) {
    throw new SetupError(
      `no APT source for Debian ${BASE_SUITE} found in /etc/apt/sources.list(.d); ` +
        "set REALTIME_KIT_DEBIAN_MIRROR to a Debian mirror URI",
    );
  }
  // The image's own APT sources: the host's entries for bookworm(-updates,-security); an
  // explicit mirror replaces the host's for bookworm and bookworm-updates.
  const imageSources = explicitMirror
    ? [
        { types: ["deb"], uris: [mirror], suites: [BASE_SUITE, `${BASE_SUITE}-updates`], components: ["main"], file: "(explicit mirror)" },
        ...hostSources.filter((x) => x.suites.includes(`${BASE_SUITE}-security`)),
      ]
    : hostSources;

  const logFile = path.join(SETUP_LOG_DIR, "debootstrap.log");
  fs.mkdirSync(SETUP_LOG_DIR, { recursive: true });
  fs.writeFileSync(logFile, "");
  // /var/tmp: on disk and normally not noexec (debootstrap runs programs inside the target).
  const tmpParent = fs.existsSync("/var/tmp") ? "/var/tmp" : os.tmpdir();
  const rootfs = fs.mkdtempSync(path.join(tmpParent, "realtime-kit-rootfs-"));
  const cleanup = () => {
    // Synchronous best effort for signals: unmount and remove the half-built rootfs.
    for (const m of mountsUnder(rootfs)) spawnSyncQuiet("umount", ["-l", m]);
    spawnSyncQuiet("rm", ["-rf", "--one-file-system", rootfs]);
  };
  const onSignal = (sig: NodeJS.Signals) => {
    cleanup();
    process.exit(sig === "SIGINT" ? 130 : 143);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    reporter.info(`debootstrap --variant=minbase ${BASE_SUITE} ${rootfs} ${mirror}   (log: ${path.relative(REPO_ROOT, logFile)})`);
    const t0 = Date.now();
    const ds = await run("debootstrap", ["--variant=minbase", BASE_SUITE, rootfs, mirror], {
      env: envWithSbin({ DEBIAN_FRONTEND: "noninteractive" }),
      logFile,
      timeoutMs: 20 * 60_000,
    });
    if (ds.code !== 0 || ds.timedOut) {
      throw new SetupError(`${describeFailure("debootstrap", ds, 0)}. Last lines of ${logFile}:\n${indent(tailFile(logFile, 40), "    ")}`);
    }
    reporter.info(`debootstrap done in ${formatDuration(Date.now() - t0)}; trimming the rootfs (slim) and importing`);
    for (const m of mountsUnder(rootfs)) await run("umount", ["-l", m], { timeoutMs: 30_000 });
    const targetSources =
      sourcesForSuite(BASE_SUITE, imageSources, (keyring) => fs.existsSync(path.join(rootfs, keyring))) ??
      `Types: deb\nURIs: ${mirror}\nSuites: ${BASE_SUITE}\nComponents: main\n`;
    slimRootfs(rootfs, targetSources);

    const rawId = await pipeIntoDockerImport("tar", ["-C", rootfs, "--numeric-owner", "--xattrs", "-c", "."]);
    await removeRootfs(rootfs);
    try {
      // debootstrap installs the point release; apply bookworm-updates/-security on top, then
      // flatten (export | import) so the base image stays one layer.
      reporter.info("applying bookworm-updates / bookworm-security (apt-get upgrade), flattening to one layer");
      const upgrader = `realtime-kit-base-upgrade-${process.pid}`;
      try {
        const up = await run(
          "docker",
          ["run", "--name", upgrader, "--label", `${KIT_LABEL}=setup`, rawId, "bash", "-c",
            "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get -y upgrade && apt-get clean && rm -rf /var/lib/apt/lists/*"],
          { logFile, timeoutMs: 10 * 60_000 },
        );
        if (up.code !== 0 || up.timedOut) {
          throw new SetupError(`${describeFailure("apt-get upgrade in the new base image", up, 0)}. Last lines of ${logFile}:\n${indent(tailFile(logFile, 40), "    ")}`);
        }
        await pipeIntoDockerImport("docker", ["export", upgrader], image);
      } finally {
        await run("docker", ["rm", "-f", upgrader], { timeoutMs: 60_000 });
      }
    } finally {
      await run("docker", ["image", "rm", rawId], { timeoutMs: 60_000 });
    }
    const info = await imageInfo(image);
    if (!info) throw new SetupError(`docker import reported success but ${image} is not there`);
    return {
      action: "debootstrapped",
      ...info,
      summary: `built ${image} with debootstrap from ${mirror} (${shortId(info.id)}, ${formatBytes(info.size)})`,
    };
  } finally {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
    await removeRootfs(rootfs);
  }
}

function spawnSyncQuiet(cmd: string, args: string[]): void {
  try {
    spawnSync(cmd, args, { stdio: "ignore", timeout: 60_000 });
  } catch {
    /* best effort */
  }
}

/**
 * `<producer> | docker import - [image]` with both exit statuses checked; returns the image id.
 * The image gets CMD ["bash"], like Debian's official images.
 */
async function pipeIntoDockerImport(cmd: string, args: string[], image?: string): Promise<string> {
  const producer = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
  const imp = spawn(
    "docker",
    [
      "import",
      "--change",
      'CMD ["bash"]',
      "--message",
      `debootstrap --variant=minbase ${BASE_SUITE} (realtime-kit setup)`,
      "-",
      ...(image ? [image] : []),
    ],
    { stdio: ["pipe", "pipe", "pipe"] },
  );
  let prodErr = "";
  let impOut = "";
  let impErr = "";
  producer.stderr.setEncoding("utf8").on("data", (c: string) => (prodErr = (prodErr + c).slice(-4000)));
  imp.stdout.setEncoding("utf8").on("data", (c: string) => (impOut = (impOut + c).slice(-4000)));
  imp.stderr.setEncoding("utf8").on("data", (c: string) => (impErr = (impErr + c).slice(-4000)));
  imp.stdin.on("error", () => undefined);
  producer.stdout.pipe(imp.stdin);
  const exit = (p: ReturnType<typeof spawn>) =>
    new Promise<number | null>((resolve) => {
      p.on("error", () => resolve(127));
      p.on("close", (code) => resolve(code));
    });
  const [prodCode, impCode] = await Promise.all([exit(producer), exit(imp)]);
  if (prodCode !== 0) throw new CommandError(`\`${cmd} ${args.join(" ")}\` failed (exit ${prodCode}):\n${indent(tailLines(prodErr, 10), "    ")}`);
  if (impCode !== 0) throw new CommandError(`docker import failed (exit ${impCode}):\n${indent(tailLines(`${impOut}\n${impErr}`, 10), "    ")}`);
  const id = /sha256:[0-9a-f]{64}/.exec(impOut)?.[0];
  if (!id) throw new CommandError(`docker import printed no image id: ${impOut.trim()}`);
  return id;
}

function shortId(id: string): string {
  return id.replace(/^sha256:/, "").slice(0, 12);
}
