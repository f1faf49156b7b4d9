/**
 * What the steps of `npm run setup` share: repository paths, the progress reporter, SetupError,
 * the root check, apt-get install and `docker image inspect`. The steps themselves are usable on
 * their own (tests and the harness call ensureEngine()):
 *
 *   ensureEngine()     engine.ts      a Docker engine answers `docker info` (installs docker.io / starts dockerd)
 *   ensureBaseImage()  base-image.ts  debian:bookworm-slim exists (docker pull, else debootstrap + docker import)
 *   buildImages()      images.ts      every images/<name>/Dockerfile is built as IMAGE_NAMES[name]:latest
 *
 * Everything goes through the docker CLI. Each function is idempotent and reports what it did.
 */
import * as path from "node:path";
import { envWithSbin, run, runOk, which } from "./proc";

export const REPO_ROOT = path.resolve(__dirname, "..", "..");
/** Build and debootstrap logs (git-ignored). */
export const SETUP_LOG_DIR = path.join(REPO_ROOT, ".realtime-kit", "logs");

/** Progress sink; the default prints indented lines to stdout. */
export interface Reporter {
  info(message: string): void;
}
export const consoleReporter: Reporter = { info: (m) => console.log(`      ${m}`) };
export const silent: Reporter = { info: () => undefined };

export class SetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SetupError";
  }
}

function isRoot(): boolean {
  return typeof process.getuid === "function" && process.getuid() === 0;
}

export function requireRoot(what: string): void {
  if (!isRoot()) {
    throw new SetupError(
      `${what} needs root (this process runs as uid ${process.getuid?.()}). ` +
        "Run the setup as root, or install and start Docker yourself and re-run.",
    );
  }
}

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

/** Id and size of a local image, or undefined when it does not exist. */
export async function imageInfo(ref: string): Promise<{ id: string; size: number } | undefined> {
  const r = await run("docker", ["image", "inspect", "--format", "{{.Id}} {{.Size}}", ref], { timeoutMs: 30_000 });
  if (r.code !== 0) return undefined;
  const [id, size] = r.stdout.trim().split(/\s+/);
  return { id, size: Number(size) };
}
