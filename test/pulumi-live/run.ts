/**
 * Live check of the Pulumi program: a real `pulumi up` of the `single` topology against the local
 * Docker engine, with a throwaway local file backend; checks the published URL answers, then a real
 * `pulumi destroy`, and checks the containers and the network are gone.
 *
 *   npm run test:pulumi-live
 *
 * Exit codes: 0 passed, 1 failed, 3 DID NOT RUN (no pulumi CLI, no docker plugin, or no Docker
 * engine). A run that did not happen is never reported as a pass.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { docker, removeByLabel } from "../../harness/engine";
import { freePorts } from "../../harness/ports";
import { KIT_LABEL } from "../../model/layout";

const REPO = path.resolve(__dirname, "..", "..");
/** The @pulumi/docker SDK pins its provider plugin to the same version. */
const DOCKER_PLUGIN_VERSION: string = require("@pulumi/docker/package.json").version;
const EXIT_FAILED = 1;
const EXIT_NOT_RUN = 3;
const UP_TIMEOUT_MS = 30 * 60_000;

function say(line: string): void {
  process.stdout.write(`pulumi-live: ${line}\n`);
}

function notRun(reason: string, remedy: string): never {
  process.stdout.write(
    [
      "",
      "pulumi-live: DID NOT RUN - nothing was deployed and nothing was checked; this is NOT a pass.",
      `pulumi-live: reason: ${reason}`,
      `pulumi-live: to run it: ${remedy}`,
      "",
    ].join("\n"),
  );
  process.exit(EXIT_NOT_RUN);
}

/** The pulumi executable on PATH or in ~/.pulumi/bin, or null. */
function findPulumi(): string | null {
  const dirs = [...(process.env.PATH ?? "").split(path.delimiter), path.join(os.homedir(), ".pulumi", "bin")];
  for (const dir of dirs.filter(Boolean)) {
    const candidate = path.join(dir, process.platform === "win32" ? "pulumi.exe" : "pulumi");
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      /* next */
    }
  }
  return null;
}

interface Cli {
  run(args: string[], timeoutMs?: number): { status: number | null; stdout: string; stderr: string };
  must(args: string[], timeoutMs?: number): string;
}

function cli(pulumi: string, env: NodeJS.ProcessEnv): Cli {
  const run = (args: string[], timeoutMs = 120_000) => {
    const result = spawnSync(pulumi, args, { cwd: REPO, env, encoding: "utf8", timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
    return { status: result.status, stdout: result.stdout ?? "", stderr: `${result.stderr ?? ""}${result.error ? String(result.error) : ""}` };
  };
  return {
    run,
    must(args, timeoutMs) {
      say(`$ pulumi ${args.join(" ")}`);
      const result = run(args, timeoutMs);
      if (result.status !== 0) throw new Error(`pulumi ${args[0]} failed (exit ${result.status}):\n${result.stdout}\n${result.stderr}`);
      return result.stdout;
    },
  };
}

async function containersOf(stack: string): Promise<{ containers: string[]; networks: string[] }> {
  const filters = JSON.stringify({ label: [`${KIT_LABEL}=${stack}`] });
  const containers = await docker.listContainers({ all: true, filters });
  const networks = await docker.listNetworks({ filters });
  return { containers: containers.map((info) => info.Names[0] ?? info.Id), networks: networks.map((info) => info.Name) };
}

/** GETs a URL until it answers as expected or the deadline passes; returns the last status and body. */
async function fetchUntil(url: string, ok: (status: number, body: string) => boolean, deadlineMs = 60_000): Promise<{ status: number; body: string }> {
  const deadline = Date.now() + deadlineMs;
  let last = { status: 0, body: "" };
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
      last = { status: response.status, body: await response.text() };
      if (ok(last.status, last.body)) return last;
    } catch (error) {
      last = { status: 0, body: String(error) };
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  return last;
}

async function liveSingle(pulumi: Cli, stack: string): Promise<void> {
  const [httpPort] = await freePorts(1);
  pulumi.must(["stack", "init", stack, "--non-interactive"]);
  pulumi.must(["config", "set", "--stack", stack, "topology", "single"]);
  pulumi.must(["config", "set", "--stack", stack, "--path", "ports.http", String(httpPort)]);
  pulumi.must(["up", "--stack", stack, "--yes", "--skip-preview", "--non-interactive"], UP_TIMEOUT_MS);

  const outputs = JSON.parse(pulumi.must(["stack", "output", "--stack", stack, "--json"])) as { urls: Record<string, string>; topology: string };
  if (outputs.topology !== "single") throw new Error(`stack output topology is ${outputs.topology}, expected single`);
  const chat = await fetchUntil(outputs.urls.chat!, (status) => status === 200);
  if (chat.status !== 200) throw new Error(`${outputs.urls.chat} answered ${chat.status}: ${chat.body.slice(0, 200)}`);
  say(`${outputs.urls.chat} answered 200`);
  const handshake = `${outputs.urls.realtime}/socket.io/?EIO=4&transport=polling`;
  const open = await fetchUntil(handshake, (status, body) => status === 200 && body.startsWith("0{"));
  if (!(open.status === 200 && open.body.startsWith("0{"))) throw new Error(`${handshake} gave no Engine.IO handshake: ${open.status} ${open.body.slice(0, 200)}`);
  say(`${handshake} answered an Engine.IO handshake`);
  const running = await containersOf(stack);
  if (running.containers.length !== 1) throw new Error(`expected 1 container labelled ${KIT_LABEL}=${stack}, found ${running.containers.join(", ") || "none"}`);

  pulumi.must(["destroy", "--stack", stack, "--yes", "--skip-preview", "--non-interactive"], UP_TIMEOUT_MS);
  const left = await containersOf(stack);
  if (left.containers.length > 0 || left.networks.length > 0) {
    throw new Error(`pulumi destroy left containers [${left.containers.join(", ")}] and networks [${left.networks.join(", ")}]`);
  }
  say(`destroy removed ${running.containers.join(", ")} and ${running.networks.join(", ")}`);
}

async function main(): Promise<void> {
  const pulumiPath = findPulumi();
  if (!pulumiPath) {
    notRun("the pulumi CLI is not installed (not on PATH, not in ~/.pulumi/bin)", "install the Pulumi CLI (https://www.pulumi.com/docs/install/), then run npm run test:pulumi-live again");
  }
  const plugins = spawnSync(pulumiPath, ["plugin", "ls", "--json"], { encoding: "utf8", env: { ...process.env, PULUMI_SKIP_UPDATE_CHECK: "true" } });
  let installed: { name?: string; kind?: string; version?: string }[] = [];
  try {
    installed = JSON.parse(plugins.stdout || "[]") ?? [];
  } catch {
    /* reported below */
  }
  if (!installed.some((plugin) => plugin.name === "docker" && plugin.kind === "resource" && plugin.version === DOCKER_PLUGIN_VERSION)) {
    notRun(
      `the Pulumi docker resource plugin ${DOCKER_PLUGIN_VERSION} is not installed (pulumi plugin ls lists no docker ${DOCKER_PLUGIN_VERSION})`,
      `pulumi plugin install resource docker ${DOCKER_PLUGIN_VERSION}`,
    );
  }
  try {
    await docker.ping();
  } catch (error) {
    notRun(`no Docker engine answers (${(error as Error).message})`, "start Docker or point DOCKER_HOST at an engine");
  }

  const work = fs.mkdtempSync(path.join(os.tmpdir(), "rk-pulumi-live-"));
  fs.mkdirSync(path.join(work, "state"));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PULUMI_BACKEND_URL: `file://${path.join(work, "state")}`,
    PULUMI_CONFIG_PASSPHRASE: randomBytes(16).toString("hex"),
    PULUMI_SKIP_UPDATE_CHECK: "true",
  };
  const pulumi = cli(pulumiPath, env);
  const stack = `live-single-${randomBytes(3).toString("hex")}`;
  let failed: Error | null = null;
  try {
    await liveSingle(pulumi, stack);
  } catch (error) {
    failed = error as Error;
    say(`cleaning up after the failure: pulumi destroy, then anything still labelled ${KIT_LABEL}=${stack}`);
    pulumi.run(["destroy", "--stack", stack, "--yes", "--skip-preview", "--non-interactive"], UP_TIMEOUT_MS);
    await removeByLabel(stack).catch(() => undefined);
  } finally {
    pulumi.run(["stack", "rm", stack, "--yes", "--force", "--non-interactive"]);
    // `stack init` with the passphrase provider writes Pulumi.<stack>.yaml beside Pulumi.yaml.
    fs.rmSync(path.join(REPO, `Pulumi.${stack}.yaml`), { force: true });
    fs.rmSync(work, { recursive: true, force: true });
  }
  if (failed) {
    say(`FAILED: ${failed.message}`);
    process.exit(EXIT_FAILED);
  }
  say("PASSED: single - pulumi up, the published URL answered, pulumi destroy removed the containers and the network");
}

main().catch((error: unknown) => {
  say(`FAILED: ${(error as Error).stack ?? String(error)}`);
  process.exit(EXIT_FAILED);
});
