/**
 * Step 1 of `npm run setup`: ensureEngine(), a Docker engine answers `docker info` (installs
 * docker.io / starts dockerd). Usable on its own (tests and the harness call it).
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describeFailure, envWithSbin, indent, run, sleep, tailFile, tailLines, which } from "./proc";
import { aptInstall, type Reporter, requireRoot, SetupError, silent } from "./setup-shared";

export const DOCKERD_LOG = "/var/log/realtime-kit/dockerd.log";

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
