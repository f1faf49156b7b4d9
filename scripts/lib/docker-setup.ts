/**
 * The steps of `npm run setup`, usable on their own (tests and the harness call ensureEngine()):
 *
 *   ensureEngine()     a Docker engine answers `docker info` (installs docker.io / starts dockerd)
 *   ensureBaseImage()  debian:bookworm-slim exists (docker pull, else debootstrap + docker import)
 *   buildImages()      every images/<name>/Dockerfile is built as IMAGE_NAMES[name]:latest
 *
 * Everything goes through the docker CLI. Each function is idempotent and reports what it did.
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { IMAGE_NAMES, KIT_LABEL } from "../../model/layout";
import { findDebianMirror, readAptSources, sourcesForSuite } from "./apt-sources";
import {
  CommandError,
  describeFailure,
  envWithSbin,
  formatBytes,
  formatDuration,
  indent,
  run,
  runOk,
  sleep,
  tailFile,
  tailLines,
  which,
} from "./proc";

export const REPO_ROOT = path.resolve(__dirname, "..", "..");
export const IMAGES_DIR = path.join(REPO_ROOT, "images");
/** Build and debootstrap logs (git-ignored). */
export const SETUP_LOG_DIR = path.join(REPO_ROOT, ".realtime-kit", "logs");
export const DOCKERD_LOG = "/var/log/realtime-kit/dockerd.log";
export const BASE_IMAGE = "debian:bookworm-slim";
const BASE_SUITE = "bookworm";

/** Progress sink; the default prints indented lines to stdout. */
export interface Reporter {
  info(message: string): void;
}
export const consoleReporter: Reporter = { info: (m) => console.log(`      ${m}`) };
const silent: Reporter = { info: () => undefined };

export class SetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SetupError";
  }
}

function isRoot(): boolean {
  return typeof process.getuid === "function" && process.getuid() === 0;
}

function requireRoot(what: string): void {
  if (!isRoot()) {
    throw new SetupError(
      `${what} needs root (this process runs as uid ${process.getuid?.()}). ` +
        "Run the setup as root, or install and start Docker yourself and re-run.",
    );
  }
}

// ---------------------------------------------------------------------------------------------
// apt
// ---------------------------------------------------------------------------------------------

let aptUpdated = false;

/** `apt-get update` (once per process) + `apt-get install -y <packages>`; output to a log file. */
export async function aptInstall(packages: string[], reporter: Reporter = silent): Promise<void> {
  requireRoot(`Installing ${packages.join(", ")}`);
  if (!which("apt-get")) throw new SetupError(`apt-get not found: cannot install ${packages.join(", ")}`);
  const logFile = path.join(SETUP_LOG_DIR, "apt.log");
  const env = envWithSbin({ DEBIAN_FRONTEND: "noninteractive" });
  if (!aptUpdated) {
    reporter.info("apt-get update");
    await runOk("apt-get", ["update"], { env, logFile, timeoutMs: 10 * 60_000 });
    aptUpdated = true;
  }
  reporter.info(`apt-get install -y ${packages.join(" ")}   (log: ${path.relative(REPO_ROOT, logFile)})`);
  await runOk("apt-get", ["install", "-y", ...packages], { env, logFile, timeoutMs: 20 * 60_000 });
}

// ---------------------------------------------------------------------------------------------
// Step 1: engine
// ---------------------------------------------------------------------------------------------

export interface EngineResult {
  action: "already-running" | "started" | "installed-and-started" | "waited";
  serverVersion: string;
  summary: string;
}

interface InfoProbe {
  ok: boolean;
  version?: string;
  error?: string;
}

async function probeEngine(timeoutMs = 15_000): Promise<InfoProbe> {
  if (!which("docker")) return { ok: false, error: "docker CLI not installed" };
  const r = await run("docker", ["info", "--format", "{{.ServerVersion}}"], { timeoutMs, env: envWithSbin() });
  const version = r.stdout.trim();
  // An old CLI against a dead socket may still print a template result; require a version.
  if (r.code === 0 && version && !/<no value>/.test(version)) return { ok: true, version };
  return { ok: false, error: tailLines(`${r.stderr}\n${r.stdout}`, 3) || describeFailure("docker info", r) };
}

/** The dockerd whose pid file `pidFile` names, if that process is alive and is a dockerd. */
function runningDockerd(pidFile: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(pidFile, "utf8").trim());
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "dockerd" ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Value of `--flag value` / `--flag=value` / `-f value` in an argument list. */
function argValue(args: string[], long: string, short?: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === long || (short && args[i] === short)) return args[i + 1];
    if (args[i].startsWith(`${long}=`)) return args[i].slice(long.length + 1);
  }
  return undefined;
}

const DEFAULT_SOCKETS = ["unix:///var/run/docker.sock", "unix:///run/docker.sock"];

export interface EngineOptions {
  reporter?: Reporter;
  /** How long to wait for `docker info` after starting dockerd (default 60 s). */
  timeoutMs?: number;
  /** dockerd's stdout/stderr (default /var/log/realtime-kit/dockerd.log). */
  logFile?: string;
  /** Extra dockerd arguments (default: $REALTIME_KIT_DOCKERD_ARGS split on spaces, else none). */
  dockerdArgs?: string[];
}

/**
 * Makes sure a Docker engine answers. Uses a running one as is; otherwise installs docker.io
 * when dockerd is missing, starts dockerd detached (it outlives this process; log in
 * /var/log/realtime-kit/dockerd.log) and waits until `docker info` answers.
 * A DOCKER_HOST of the form unix:///path is honoured (dockerd is started listening there).
 */
export async function ensureEngine(opts: EngineOptions = {}): Promise<EngineResult> {
  const reporter = opts.reporter ?? silent;
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const logFile = opts.logFile ?? DOCKERD_LOG;
  const dockerdArgs = [...(opts.dockerdArgs ?? (process.env.REALTIME_KIT_DOCKERD_ARGS ?? "").split(/\s+/).filter(Boolean))];

  const first = await probeEngine();
  if (first.ok) {
    return { action: "already-running", serverVersion: first.version!, summary: `engine already running (Docker ${first.version})` };
  }
  if (first.error && /permission denied/i.test(first.error)) {
    throw new SetupError(
      `the Docker engine is running but this user may not use it:\n    ${first.error}\n` +
        "Run as root or add the user to the docker group.",
    );
  }
  const dockerHost = process.env.DOCKER_HOST;
  if (dockerHost && !DEFAULT_SOCKETS.includes(dockerHost)) {
    if (!dockerHost.startsWith("unix://")) {
      throw new SetupError(`DOCKER_HOST=${dockerHost} does not answer (${first.error}); not starting a local engine for a non-local DOCKER_HOST`);
    }
    if (!argValue(dockerdArgs, "--host", "-H")) dockerdArgs.push("--host", dockerHost);
  }
  reporter.info(`docker info does not answer (${(first.error ?? "").split("\n")[0]})`);

  let installed = false;
  if (!which("dockerd") || !which("docker")) {
    reporter.info("dockerd not installed: installing Debian's docker.io");
    await aptInstall(["docker.io"], reporter);
    installed = true;
    if (!which("dockerd") || !which("docker")) throw new SetupError("docker.io installed but dockerd/docker still not found on PATH");
    // The package's maintainer scripts may have started the service already.
    const probe = await probeEngine();
    if (probe.ok) {
      return { action: "installed-and-started", serverVersion: probe.version!, summary: `installed docker.io; engine running (Docker ${probe.version})` };
    }
  }

  let child: ReturnType<typeof spawn> | undefined;
  let childExit: string | undefined;
  const pidFile = argValue(dockerdArgs, "--pidfile", "-p") ?? "/var/run/docker.pid";
  const existing = runningDockerd(pidFile);
  if (existing) {
    reporter.info(`dockerd already running (pid ${existing}, ${pidFile}) but not answering yet: waiting for it`);
  } else {
    requireRoot("Starting dockerd");
    fs.mkdirSync(path.dirname(logFile), { recursive: true });
    const fd = fs.openSync(logFile, "a");
    fs.writeSync(fd, `\n=== ${new Date().toISOString()} dockerd ${dockerdArgs.join(" ")} started by realtime-kit setup ===\n`);
    try {
      child = spawn(which("dockerd")!, dockerdArgs, {
        detached: true, // own session and process group: survives this process and its terminal
        stdio: ["ignore", fd, fd],
        env: envWithSbin(),
        cwd: "/",
      });
    } finally {
      fs.closeSync(fd);
    }
    child.on("error", (e) => (childExit = `could not start: ${e.message}`));
    child.on("exit", (code, sig) => (childExit = sig ? `killed by ${sig}` : `exited with code ${code}`));
    child.unref();
    reporter.info(`started dockerd in the background (pid ${child.pid}${dockerdArgs.length ? `, args: ${dockerdArgs.join(" ")}` : ""}); log: ${logFile}`);
  }

  const deadline = Date.now() + timeoutMs;
  let last: InfoProbe = first;
  while (Date.now() < deadline) {
    if (childExit) {
      throw new SetupError(`dockerd ${childExit} before answering. Last lines of ${logFile}:\n${indent(tailFile(logFile, 25), "    ")}`);
    }
    last = await probeEngine(5000);
    if (last.ok) {
      const action = installed ? "installed-and-started" : child ? "started" : "waited";
      const what = installed ? "installed docker.io and started dockerd" : child ? `started dockerd (pid ${child.pid})` : "waited for the running dockerd";
      return { action, serverVersion: last.version!, summary: `${what}; engine answers (Docker ${last.version})` };
    }
    await sleep(500);
  }
  throw new SetupError(
    `the Docker engine did not answer within ${timeoutMs / 1000} s (last error: ${last.error}).` +
      (child ? ` Last lines of ${logFile}:\n${indent(tailFile(logFile, 25), "    ")}` : ""),
  );
}

// ---------------------------------------------------------------------------------------------
// Step 2: base image
// ---------------------------------------------------------------------------------------------

export interface BaseImageResult {
  action: "present" | "pulled" | "debootstrapped";
  id: string;
  size: number;
  summary: string;
}

async function imageInfo(ref: string): Promise<{ id: string; size: number } | undefined> {
  const r = await run("docker", ["image", "inspect", "--format", "{{.Id}} {{.Size}}", ref], { timeoutMs: 30_000 });
  if (r.code !== 0) return undefined;
  const [id, size] = r.stdout.trim().split(/\s+/);
  return { id, size: Number(size) };
}

/** Mount points at or below `dir`, deepest first. */
function mountsUnder(dir: string): string[] {
  let text = "";
  try {
    text = fs.readFileSync("/proc/mounts", "utf8");
  } catch {
    return [];
  }
  const prefix = dir.endsWith("/") ? dir : `${dir}/`;
  return text
    .split("\n")
    .map((l) => l.split(" ")[1])
    .filter((m): m is string => !!m)
    .map((m) => m.replace(/\\040/g, " "))
    .filter((m) => m === dir || m.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
}

async function removeRootfs(dir: string): Promise<void> {
  for (const m of mountsUnder(dir)) await run("umount", ["-l", m], { timeoutMs: 30_000 });
  // --one-file-system: never descend into anything still mounted inside the chroot.
  await run("rm", ["-rf", "--one-file-system", dir], { timeoutMs: 5 * 60_000 });
}

/** Trims a debootstrapped rootfs the way Debian's official "slim" images are trimmed. */
function slimRootfs(root: string, sourcesText: string | undefined): void {
  const p = (...parts: string[]) => path.join(root, ...parts);
  const write = (rel: string, text: string) => {
    fs.mkdirSync(path.dirname(p(rel)), { recursive: true });
    fs.writeFileSync(p(rel), text);
  };
  const rmrf = (rel: string) => fs.rmSync(p(rel), { recursive: true, force: true });
  const emptyDir = (rel: string, keep: (name: string) => boolean = () => false) => {
    let names: string[] = [];
    try {
      names = fs.readdirSync(p(rel));
    } catch {
      return;
    }
    for (const n of names) if (!keep(n)) rmrf(path.join(rel, n));
  };

  // Future packages: no docs/man/locales (copyright files stay), like debian:*-slim.
  write(
    "etc/dpkg/dpkg.cfg.d/realtime-kit-slim",
    [
      "# realtime-kit base image: keep images small (as Debian's official -slim images do)",
      "path-exclude /usr/share/doc/*",
      "path-include /usr/share/doc/*/copyright",
      "path-exclude /usr/share/man/*",
      "path-exclude /usr/share/groff/*",
      "path-exclude /usr/share/info/*",
      "path-exclude /usr/share/lintian/*",
      "path-exclude /usr/share/linda/*",
      "path-exclude /usr/share/locale/*",
      "path-include /usr/share/locale/locale.alias",
      "",
    ].join("\n"),
  );
  // Same trims on what debootstrap already installed.
  const docDir = p("usr/share/doc");
  try {
    for (const pkg of fs.readdirSync(docDir)) {
      const d = path.join(docDir, pkg);
      if (!fs.lstatSync(d).isDirectory()) {
        fs.rmSync(d, { force: true });
        continue;
      }
      for (const f of fs.readdirSync(d)) if (f !== "copyright") fs.rmSync(path.join(d, f), { recursive: true, force: true });
    }
  } catch {
    /* no docs */
  }
  for (const d of ["usr/share/man", "usr/share/groff", "usr/share/info", "usr/share/lintian", "usr/share/linda"]) emptyDir(d);
  emptyDir("usr/share/locale", (n) => n === "locale.alias");

  // apt behaves as in the official images: no .deb cache, no translations, compressed indexes.
  const clean =
    '"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"';
  write(
    "etc/apt/apt.conf.d/docker-clean",
    `DPkg::Post-Invoke { ${clean}; };\nAPT::Update::Post-Invoke { ${clean}; };\nDir::Cache::pkgcache "";\nDir::Cache::srcpkgcache "";\n`,
  );
  write("etc/apt/apt.conf.d/docker-no-languages", 'Acquire::Languages "none";\n');
  write("etc/apt/apt.conf.d/docker-gzip-indexes", 'Acquire::GzipIndexes "true";\nAcquire::CompressionTypes::Order:: "gz";\n');
  write("etc/apt/apt.conf.d/docker-autoremove-suggests", 'Apt::AutoRemove::SuggestsImportant "false";\n');

  // APT sources: the host's mirrors for bookworm, bookworm-updates, bookworm-security.
  if (sourcesText) {
    write("etc/apt/sources.list.d/debian.sources", sourcesText);
    rmrf("etc/apt/sources.list");
  }

  // Caches, package lists and logs from the bootstrap; host identity files debootstrap copied.
  emptyDir("var/cache/apt/archives", (n) => n === "partial" || n === "lock");
  for (const f of ["var/cache/apt/pkgcache.bin", "var/cache/apt/srcpkgcache.bin"]) rmrf(f);
  emptyDir("var/lib/apt/lists", (n) => n === "partial" || n === "lock");
  emptyDir("var/cache/debconf", (n) => !n.endsWith("-old"));
  emptyDir("var/log", (n) => fs.lstatSync(p("var/log", n)).isDirectory());
  write("etc/resolv.conf", "");
  write("etc/hostname", "localhost\n");
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

// ---------------------------------------------------------------------------------------------
// Step 3: images
// ---------------------------------------------------------------------------------------------

export interface ImageFolder {
  /** Folder name under images/ (a key of IMAGE_NAMES). */
  name: string;
  dir: string;
  dockerfile: string;
  /** Build context: the folder itself, or what a `# build-context: <path>` line names. */
  context: string;
  /** Repository (without tag) the image is tagged as. */
  repository: string;
  /** Images named in FROM lines. */
  bases: string[];
  /** Build arguments the Dockerfile declares (ARG lines). */
  args: string[];
}

/** Images built first when nothing else decides (infra images are small and independent). */
const PREFERRED_ORDER = ["redis", "haproxy", "stunnel", "nginx", "realtime", "app"];

function stripTag(ref: string): string {
  const noDigest = ref.split("@")[0];
  const lastSlash = noDigest.lastIndexOf("/");
  const colon = noDigest.lastIndexOf(":");
  return colon > lastSlash ? noDigest.slice(0, colon) : noDigest;
}

/** Every images/<name>/ folder that has a Dockerfile. */
export function listImageFolders(imagesDir = IMAGES_DIR): ImageFolder[] {
  let names: string[] = [];
  try {
    names = fs.readdirSync(imagesDir).sort();
  } catch {
    return [];
  }
  const out: ImageFolder[] = [];
  for (const name of names) {
    const dir = path.join(imagesDir, name);
    const dockerfile = path.join(dir, "Dockerfile");
    if (!fs.existsSync(dockerfile)) continue;
    const text = fs.readFileSync(dockerfile, "utf8");
    const ctx = /^#\s*build-context:\s*(\S+)\s*$/m.exec(text);
    const bases: string[] = [];
    for (const m of text.matchAll(/^\s*FROM\s+(?:--\S+\s+)*(\S+)/gim)) bases.push(m[1]);
    const args = [...text.matchAll(/^\s*ARG\s+([A-Za-z_][A-Za-z0-9_]*)/gm)].map((m) => m[1]);
    const repository = (IMAGE_NAMES as Record<string, string>)[name] ?? `realtime-kit/${name}`;
    out.push({ name, dir, dockerfile, context: ctx ? path.resolve(dir, ctx[1]) : dir, repository, bases, args });
  }
  return out;
}

/** Orders folders so that an image built FROM another kit image comes after it. */
export function buildOrder(folders: ImageFolder[]): ImageFolder[] {
  const rank = (n: string) => {
    const i = PREFERRED_ORDER.indexOf(n);
    return i === -1 ? PREFERRED_ORDER.length : i;
  };
  const byRepo = new Map(folders.map((f) => [f.repository, f]));
  const deps = new Map(folders.map((f) => [f.name, f.bases.map((b) => byRepo.get(stripTag(b))?.name).filter((x): x is string => !!x && x !== f.name)]));
  const sorted = [...folders].sort((a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name));
  const out: ImageFolder[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (f: ImageFolder) => {
    const s = state.get(f.name);
    if (s === "done") return;
    if (s === "visiting") throw new SetupError(`images/${f.name}: FROM cycle between kit images`);
    state.set(f.name, "visiting");
    for (const d of deps.get(f.name) ?? []) visit(folders.find((x) => x.name === d)!);
    state.set(f.name, "done");
    out.push(f);
  };
  sorted.forEach(visit);
  return out;
}

/** Extra CA certificates installed on this machine (/usr/local/share/ca-certificates/**.crt). */
export function hostExtraCaCerts(dir = "/usr/local/share/ca-certificates"): { files: string[]; pem: string } {
  const files: string[] = [];
  const walk = (d: string) => {
    let entries: fs.Dirent[] = [];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".crt")) files.push(p);
    }
  };
  walk(dir);
  const pem = files
    .map((f) => fs.readFileSync(f, "utf8").trim())
    .filter((t) => t.includes("BEGIN CERTIFICATE"))
    .join("\n");
  return { files, pem };
}

export interface ImageBuildResult {
  name: string;
  tag: string;
  status: "built" | "failed" | "skipped";
  durationMs: number;
  /** Dockerfile steps served from the layer cache / total (classic builder output). */
  cachedSteps?: number;
  totalSteps?: number;
  size?: number;
  logFile: string;
  error?: string;
}

export interface BuildOptions {
  reporter?: Reporter;
  /** Folder names to build (default: all). Kit images they are built FROM are added if missing. */
  only?: string[];
  noCache?: boolean;
  /** Folder holding the image folders (default: images/ of this repository). */
  imagesDir?: string;
}

/**
 * Builds images/<name>/Dockerfile as `<IMAGE_NAMES[name]>:latest` with the layer cache. Output
 * goes to .realtime-kit/logs/build-<name>.log; on failure its last 40 lines are reported.
 * Keeps going after a failure (images built FROM a failed one are skipped); the caller checks
 * the statuses.
 */
export async function buildImages(opts: BuildOptions = {}): Promise<ImageBuildResult[]> {
  const reporter = opts.reporter ?? silent;
  const imagesDir = opts.imagesDir ?? IMAGES_DIR;
  const all = listImageFolders(imagesDir);
  if (!all.length) throw new SetupError(`no <name>/Dockerfile found under ${imagesDir}`);
  let selected = all;
  if (opts.only?.length) {
    const unknown = opts.only.filter((n) => !all.some((f) => f.name === n));
    if (unknown.length) {
      throw new SetupError(`unknown image(s): ${unknown.join(", ")} (available: ${all.map((f) => f.name).join(", ")})`);
    }
    const wanted = new Set(opts.only);
    // Add kit images the selection is built FROM, when they do not exist yet.
    let grew = true;
    while (grew) {
      grew = false;
      for (const f of all.filter((x) => wanted.has(x.name))) {
        for (const b of f.bases) {
          const dep = all.find((x) => x.repository === stripTag(b));
          if (dep && !wanted.has(dep.name) && !(await imageInfo(b.includes(":") ? b : `${b}:latest`))) {
            reporter.info(`also building ${dep.name}: ${f.name} is built FROM ${b}, which does not exist yet`);
            wanted.add(dep.name);
            grew = true;
          }
        }
      }
    }
    selected = all.filter((f) => wanted.has(f.name));
  }
  const ordered = buildOrder(selected);
  fs.mkdirSync(SETUP_LOG_DIR, { recursive: true });
  const width = Math.max(...ordered.map((f) => f.name.length));
  const tagWidth = Math.max(...ordered.map((f) => f.repository.length + ":latest".length));
  reporter.info(`order: ${ordered.map((f) => f.name).join(" -> ")}   (logs: ${path.relative(REPO_ROOT, SETUP_LOG_DIR)}/build-<name>.log)`);

  const caCerts = hostExtraCaCerts();
  const env: NodeJS.ProcessEnv = { ...envWithSbin(), DOCKER_BUILDKIT: process.env.DOCKER_BUILDKIT ?? "0" };
  const wantsCa = ordered.some((f) => f.args.includes("BUILD_CA_CERTS"));
  if (wantsCa && process.env.BUILD_CA_CERTS !== undefined) {
    reporter.info("BUILD_CA_CERTS: taken from the environment");
  } else if (wantsCa && caCerts.pem) {
    env.BUILD_CA_CERTS = caCerts.pem;
    reporter.info(`BUILD_CA_CERTS: this machine's extra CA certificates (${caCerts.files.map((x) => path.basename(x)).join(", ")})`);
  }
  const results: ImageBuildResult[] = [];
  const failed = new Set<string>();
  for (const f of ordered) {
    const tag = `${f.repository}:latest`;
    const logFile = path.join(SETUP_LOG_DIR, `build-${f.name}.log`);
    const label = `${f.name.padEnd(width)}  ${tag.padEnd(tagWidth)}`;
    const blockedBy = f.bases.map((b) => all.find((x) => x.repository === stripTag(b))?.name).find((n) => n && failed.has(n));
    if (blockedBy) {
      failed.add(f.name);
      results.push({ name: f.name, tag, status: "skipped", durationMs: 0, logFile, error: `base image ${blockedBy} failed` });
      reporter.info(`${label}  SKIPPED (its base image ${blockedBy} failed)`);
      continue;
    }
    fs.writeFileSync(logFile, `$ docker build -t ${tag} -f ${f.dockerfile} ${f.context}\n`);
    const args = ["build", "--force-rm", "-t", tag, "-f", f.dockerfile];
    if (opts.noCache) args.push("--no-cache");
    // A Dockerfile declaring ARG BUILD_CA_CERTS gets this machine's extra CAs (TLS-intercepting
    // proxies) for its build stages; the value is passed through the environment, not argv.
    if (f.args.includes("BUILD_CA_CERTS") && env.BUILD_CA_CERTS !== undefined) {
      args.push("--build-arg", "BUILD_CA_CERTS");
    }
    args.push(f.context);
    const r = await run("docker", args, { env, logFile, timeoutMs: 30 * 60_000 });
    const out = `${r.stdout}\n${r.stderr}`;
    const totalSteps = (out.match(/^Step \d+\/\d+ :/gm) ?? []).length || undefined;
    const cachedSteps = totalSteps ? (out.match(/^ ---> Using cache$/gm) ?? []).length : undefined;
    if (r.code === 0 && !r.timedOut) {
      const info = await imageInfo(tag);
      results.push({ name: f.name, tag, status: "built", durationMs: r.durationMs, cachedSteps, totalSteps, size: info?.size, logFile });
      const cache = totalSteps === undefined ? "" : `${cachedSteps}/${countCacheable(out)} steps cached`;
      reporter.info(`${label}  built in ${formatDuration(r.durationMs)}${cache ? ` (${cache})` : ""}${info ? `, ${formatBytes(info.size)}` : ""}`);
    } else {
      failed.add(f.name);
      const error = describeFailure(`docker build of images/${f.name}`, r, 0);
      results.push({ name: f.name, tag, status: "failed", durationMs: r.durationMs, logFile, error });
      reporter.info(`${label}  FAILED after ${formatDuration(r.durationMs)}: ${error}`);
      reporter.info(`---- last 40 lines of ${path.relative(REPO_ROOT, logFile)} ----`);
      for (const line of tailFile(logFile, 40).split("\n")) reporter.info(`| ${line}`);
      reporter.info("----");
    }
  }
  return results;
}

/** Steps that can be cache hits in classic-builder output: after the first FROM, except FROMs. */
function countCacheable(out: string): number {
  let seenFrom = false;
  let n = 0;
  for (const m of out.matchAll(/^Step \d+\/\d+ : (\S+)/gm)) {
    if (/^FROM$/i.test(m[1])) seenFrom = true;
    else if (seenFrom) n++;
  }
  return n;
}
