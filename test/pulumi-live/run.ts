/**
 * Live check of the Pulumi program: a real `pulumi up` of every topology (single, node-proxy,
 * ssl-split, multi-node), one stack each and one after the other, against the local Docker engine
 * with a throwaway local file backend. For each: the stack outputs, `realtime-kit check` through
 * the published ports, every service container running and every seed container never started,
 * then a real `pulumi destroy` that must leave no container, network or volume with the stack's
 * label. multi-node also changes one option on the running stack: the preview must replace only
 * HAProxy's config seed, and HAProxy must pick up the change without dropping a WebSocket.
 *
 *   npm run test:pulumi-live
 *
 * Exit codes: 0 passed, 1 failed, 3 DID NOT RUN (no pulumi CLI, no docker plugin, or no Docker
 * engine). A run that did not happen is never reported as a pass.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Socket } from "socket.io-client";
import { createTestCertificates, type TestCertificates } from "../../driver/certs";
import { docker, removeByLabel } from "../../driver/engine";
import { HaproxyRuntime } from "../../driver/haproxy-runtime";
import { freePorts } from "../../driver/ports";
import { connect, connected, describeError, request } from "../../driver/socket-client";
import { sleep, waitFor } from "../../driver/wait";
import { KIT_LABEL, SEED_LABEL, SERVICE_LABEL } from "../../model/labels";
import { hostExtraCaCerts } from "../../scripts/lib/images";
import { findPulumi, parsePreviewDigest, printable, runProcess, urnParts, type PreviewDigest, type RunResult } from "./pulumi-cli";

const REPO = path.resolve(__dirname, "..", "..");
/** The @pulumi/docker SDK pins its provider plugin to the same version. */
const DOCKER_PLUGIN_VERSION: string = require("@pulumi/docker/package.json").version;
const EXIT_FAILED = 1;
const EXIT_NOT_RUN = 3;
const UP_TIMEOUT_MS = 30 * 60_000;
const CLI_TIMEOUT_MS = 2 * 60_000;

/** One topology to deploy, and what it publishes. */
interface LiveCase {
  topology: "single" | "node-proxy" | "ssl-split" | "multi-node";
  /** Serves https: gets ports.https, a certificate and key as secrets, and is checked over https. */
  tls: boolean;
  /** Has a second stack (the check's GET /ping); single has none. */
  app: boolean;
  /** Extra `pulumi config set --path` settings. */
  settings: [string, string][];
  /** Change an option on the running stack and check the diff and the live reload (multi-node). */
  liveChange: boolean;
}

const CASES: LiveCase[] = [
  { topology: "single", tls: false, app: false, settings: [], liveChange: false },
  { topology: "node-proxy", tls: false, app: true, settings: [], liveChange: false },
  { topology: "ssl-split", tls: true, app: true, settings: [], liveChange: false },
  // HAProxy terminates TLS itself, so the changed haproxy.cfg is reloaded in place (no stunnel restart).
  { topology: "multi-node", tls: true, app: true, settings: [["tls.terminator", "haproxy"]], liveChange: true },
];

/** The live change on multi-node: HAProxy's maxconn (default 9000), which only haproxy.cfg carries. */
const CHANGED_MAXCONN = 8000;
/** The only resource the change may touch: the seed container that fills HAProxy's config volume. */
const HAPROXY_SEED = { name: "haproxy-config-seed", type: "docker:index/container:Container" };
/** Ops of a replacement as preview --json may list them (only "replace" unless replacement steps are shown). */
const REPLACE_OPS = new Set(["replace", "create-replacement", "delete-replaced"]);
const FLEET_SIZE = 6;

function say(line: string): void {
  process.stdout.write(line === "" ? "\n" : `pulumi-live: ${line}\n`);
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

// ---------------------------------------------------------------------------------------------
// The pulumi CLI, with this run's environment

interface Cli {
  /** Runs pulumi; the caller looks at the result. */
  run(args: string[], timeoutMs?: number): Promise<RunResult>;
  /** Runs pulumi, prints the command line (secrets masked), and throws unless it exits 0; returns stdout. */
  must(args: string[], timeoutMs?: number): Promise<string>;
}

function cli(pulumi: string, env: NodeJS.ProcessEnv): Cli {
  const run = (args: string[], timeoutMs = CLI_TIMEOUT_MS) => runProcess(pulumi, args, { cwd: REPO, env, timeoutMs });
  return {
    run,
    async must(args, timeoutMs) {
      say(`$ pulumi ${printable(args)}`);
      const started = Date.now();
      const result = await run(args, timeoutMs);
      if (result.status !== 0) throw new Error(`pulumi ${printable(args)} failed (exit ${result.status}):\n${result.stdout}\n${result.stderr}`);
      if (Date.now() - started > 10_000) say(`  (${((Date.now() - started) / 1000).toFixed(0)} s)`);
      return result.stdout;
    },
  };
}

/**
 * What every pulumi command gets: no update check, and no plugin downloads, so that a missing or
 * different docker plugin fails the run instead of being fetched behind its back.
 */
function basePulumiEnv(): NodeJS.ProcessEnv {
  return { ...process.env, PULUMI_SKIP_UPDATE_CHECK: "true", PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true" };
}

/**
 * The environment of the deploying commands: a throwaway file backend and passphrase, and
 * BUILD_CA_CERTS, which the program passes to the image builds as `npm run setup` does (extra CA
 * certificates for build stages behind a TLS-intercepting proxy; one set in the environment wins).
 */
function deployEnv(stateDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...basePulumiEnv(),
    PULUMI_BACKEND_URL: `file://${stateDir}`,
    PULUMI_CONFIG_PASSPHRASE: randomBytes(16).toString("hex"),
  };
  const caCerts = hostExtraCaCerts().pem;
  if (env.BUILD_CA_CERTS === undefined && caCerts) env.BUILD_CA_CERTS = caCerts;
  return env;
}

// ---------------------------------------------------------------------------------------------
// Preconditions: without them the run does not happen, and says so (exit 3)

async function preflight(): Promise<string> {
  const pulumiPath = findPulumi();
  if (!pulumiPath) {
    notRun("the pulumi CLI is not installed (not on PATH, not in ~/.pulumi/bin)", "install the Pulumi CLI (https://www.pulumi.com/docs/install/), then run npm run test:pulumi-live again");
  }
  const plugins = await runProcess(pulumiPath, ["plugin", "ls", "--json"], { cwd: REPO, env: basePulumiEnv(), timeoutMs: CLI_TIMEOUT_MS });
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
  return pulumiPath;
}

// ---------------------------------------------------------------------------------------------
// One topology

/** What one topology's run works with. */
interface StackRun {
  pulumi: Cli;
  stack: string;
  live: LiveCase;
  /** Set for the TLS topologies. */
  certificates: TestCertificates | null;
  /** The CA in a file, for `realtime-kit check --ca`. */
  caFile: string | null;
}

interface StackOutputs {
  topology: string;
  urls: Record<string, string>;
  nodes: Record<string, { role?: string; host?: string; container?: string }>;
  network: string;
}

async function configureStack(run: StackRun): Promise<void> {
  const { pulumi, stack, live } = run;
  const set = (...args: string[]) => pulumi.must(["config", "set", "--stack", stack, ...args]);
  await pulumi.must(["stack", "init", stack, "--non-interactive"]);
  await set("topology", live.topology);
  const [httpPort, httpsPort] = await freePorts(2);
  await set("--path", "ports.http", String(httpPort));
  if (live.tls) await set("--path", "ports.https", String(httpsPort));
  for (const [key, value] of live.settings) await set("--path", key, value);
  if (run.certificates) {
    // The PEM is an argv element after `--`, as the stack files document it (a key starts with "-----").
    await set("--secret", "tlsCert", "--", run.certificates.cert);
    await set("--secret", "tlsKey", "--", run.certificates.key);
  }
}

async function readOutputs(run: StackRun): Promise<StackOutputs> {
  const text = await run.pulumi.must(["stack", "output", "--stack", run.stack, "--json"]);
  let outputs: StackOutputs;
  try {
    outputs = JSON.parse(text) as StackOutputs;
  } catch {
    throw new Error(`pulumi stack output --json printed no JSON:\n${text.slice(0, 2000)}`);
  }
  const problems: string[] = [];
  if (outputs.topology !== run.live.topology) problems.push(`topology is ${JSON.stringify(outputs.topology)}, expected ${run.live.topology}`);
  const urls = outputs.urls ?? {};
  const scheme = run.live.tls ? "https:" : "http:";
  for (const name of ["chat", "realtime"]) {
    if (typeof urls[name] !== "string" || !urls[name]!.startsWith(scheme)) problems.push(`urls.${name} is ${JSON.stringify(urls[name])}, expected an ${scheme}// URL`);
  }
  if (run.live.app !== (urls.site !== undefined)) problems.push(`urls.site is ${JSON.stringify(urls.site)}, expected ${run.live.app ? "a URL" : "none"}`);
  if (run.live.tls !== (urls["site-tls"] !== undefined)) problems.push(`urls.site-tls is ${JSON.stringify(urls["site-tls"])}, expected ${run.live.tls ? "a URL" : "none"}`);
  if (!outputs.nodes || typeof outputs.nodes !== "object" || Object.keys(outputs.nodes).length === 0) problems.push(`nodes is ${JSON.stringify(outputs.nodes)}, expected the services`);
  if (typeof outputs.network !== "string" || outputs.network === "") problems.push(`network is ${JSON.stringify(outputs.network)}`);
  if (problems.length > 0) throw new Error(`stack outputs: ${problems.join("; ")}\n${text}`);
  say(`outputs: topology ${outputs.topology}, ${Object.keys(outputs.nodes).length} services, urls ${JSON.stringify(urls)}`);
  return outputs;
}

/** The kit's own probe, `realtime-kit check`, as a user runs it against the published origin. */
async function runCheck(run: StackRun, outputs: StackOutputs): Promise<void> {
  // urls.realtime is the https origin on the TLS topologies and the http origin otherwise (no split port here).
  const origin = new URL(outputs.urls.realtime!).origin;
  const args = [path.join(REPO, "bin", "realtime-kit.js"), "check", origin, ...(run.caFile ? ["--ca", run.caFile] : []), ...(run.live.app ? [] : ["--no-app"])];
  say(`$ realtime-kit ${args.slice(1).join(" ")}`);
  const result = await runProcess(process.execPath, args, { cwd: REPO, env: process.env, timeoutMs: CLI_TIMEOUT_MS });
  if (result.status !== 0 || !/all checks passed/.test(result.stdout)) {
    throw new Error(`realtime-kit check ${origin} exited ${result.status}:\n${result.stdout}\n${result.stderr}`);
  }
  say(`realtime-kit check ${origin}: all checks passed`);
}

/**
 * Every service container runs, every seed container was only ever created (it exists to carry
 * files into a volume and runs nothing), and the services are the ones the stack output lists.
 */
async function assertContainerStates(stack: string, outputs: StackOutputs): Promise<void> {
  const containers = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${KIT_LABEL}=${stack}`] }) });
  const name = (info: (typeof containers)[number]) => (info.Names[0] ?? info.Id).replace(/^\//, "");
  const services = containers.filter((info) => info.Labels[SERVICE_LABEL] !== undefined);
  const seeds = containers.filter((info) => info.Labels[SEED_LABEL] !== undefined);
  const problems: string[] = [];
  for (const info of services) if (info.State !== "running") problems.push(`service ${name(info)} is ${info.State} (${info.Status}), expected running`);
  for (const info of seeds) if (info.State !== "created") problems.push(`seed ${name(info)} is ${info.State} (${info.Status}), expected created (never started)`);
  const running = services.map((info) => info.Labels[SERVICE_LABEL]!).sort();
  const listed = Object.keys(outputs.nodes).sort();
  if (running.join(",") !== listed.join(",")) problems.push(`service containers [${running.join(", ")}] are not the output's nodes [${listed.join(", ")}]`);
  if (problems.length > 0) throw new Error(`containers labelled ${KIT_LABEL}=${stack}: ${problems.join("; ")}`);
  say(`${services.length} service containers running, ${seeds.length} seed containers created and never started`);
}

/** Everything still carrying the stack's label. */
async function labelledResources(stack: string): Promise<{ containers: string[]; networks: string[]; volumes: string[] }> {
  const filters = JSON.stringify({ label: [`${KIT_LABEL}=${stack}`] });
  const containers = await docker.listContainers({ all: true, filters });
  const networks = await docker.listNetworks({ filters });
  const { Volumes: volumes } = await docker.listVolumes({ filters });
  return {
    containers: containers.map((info) => (info.Names[0] ?? info.Id).replace(/^\//, "")),
    networks: networks.map((info) => info.Name),
    volumes: (volumes ?? []).map((info) => info.Name),
  };
}

async function destroyAndAssertClean(run: StackRun): Promise<void> {
  const before = await labelledResources(run.stack);
  await run.pulumi.must(["destroy", "--stack", run.stack, "--yes", "--skip-preview", "--non-interactive"], UP_TIMEOUT_MS);
  const left = await labelledResources(run.stack);
  if (left.containers.length + left.networks.length + left.volumes.length > 0) {
    throw new Error(`pulumi destroy left containers [${left.containers.join(", ")}], networks [${left.networks.join(", ")}], volumes [${left.volumes.join(", ")}]`);
  }
  say(`destroy removed ${before.containers.length} containers, ${before.networks.length} networks and ${before.volumes.length} volumes; nothing labelled ${KIT_LABEL}=${run.stack} is left`);
}

// ---------------------------------------------------------------------------------------------
// multi-node: one option changed on the running stack

/** WebSocket clients from this machine that reconnect like a browser, with every disconnect recorded. */
class Fleet {
  readonly disconnects: string[] = [];
  private constructor(readonly sockets: Socket[]) {
    sockets.forEach((socket, index) => socket.on("disconnect", (reason) => this.disconnects.push(`client ${index}: ${reason}`)));
  }

  static async open(url: string, ca: string | undefined, count: number): Promise<Fleet> {
    const sockets = Array.from({ length: count }, () => connect({ url, ca, transports: ["websocket"], reconnection: true }));
    const fleet = new Fleet(sockets);
    try {
      await Promise.all(sockets.map((socket) => connected(socket)));
    } catch (error) {
      fleet.close();
      throw new Error(`${count} WebSocket clients to ${url}: ${describeError(error)}`);
    }
    return fleet;
  }

  /** Every client answers an echo with its own payload. */
  async echoAll(payload: string): Promise<void> {
    await Promise.all(
      this.sockets.map(async (socket, index) => {
        const reply = await request<{ payload?: unknown }>(socket, "echo", payload).catch((error: unknown) => {
          throw new Error(`client ${index} got no echo: ${describeError(error)}`);
        });
        if (reply?.payload !== payload) throw new Error(`client ${index} echoed ${JSON.stringify(reply)}, expected payload ${JSON.stringify(payload)}`);
      }),
    );
  }

  close(): void {
    for (const socket of this.sockets) socket.close();
  }
}

/** The running HAProxy service container of the stack, for its runtime API. */
async function haproxyContainer(stack: string) {
  const found = await docker.listContainers({ filters: JSON.stringify({ label: [`${KIT_LABEL}=${stack}`, `${SERVICE_LABEL}=haproxy`] }) });
  if (found.length !== 1) throw new Error(`expected one running container labelled ${SERVICE_LABEL}=haproxy, found ${found.length}`);
  return docker.getContainer(found[0]!.Id);
}

/**
 * The diff of the change: the only resource with another op than "same" is HAProxy's config seed,
 * replaced (its uploads changed). The service containers, the volume and everything else stay.
 */
function assertOnlySeedReplaced(digest: PreviewDigest, stack: string, stdout: string): void {
  const changed = digest.steps.filter((step) => step.op !== "same");
  const describe = changed.map((step) => `${step.op} ${urnParts(step.urn).type} ${urnParts(step.urn).name}`);
  const isSeed = (urn: string) => urnParts(urn).name === HAPROXY_SEED.name && urnParts(urn).type === HAPROXY_SEED.type;
  const problems: string[] = [];
  if (changed.length === 0) problems.push("nothing changes");
  for (const step of changed) {
    if (!isSeed(step.urn)) problems.push(`${step.op} ${step.urn} (only ${HAPROXY_SEED.name} may change)`);
    else if (!REPLACE_OPS.has(step.op)) problems.push(`${step.op} ${HAPROXY_SEED.name}, expected a replacement`);
    const containerName = step.newState?.inputs?.name;
    if (isSeed(step.urn) && containerName !== undefined && containerName !== `${stack}-${HAPROXY_SEED.name}`) {
      problems.push(`${HAPROXY_SEED.name} is the container ${JSON.stringify(containerName)}, expected ${stack}-${HAPROXY_SEED.name}`);
    }
  }
  // The summary counts resources by op; anything but same and the replacement means another resource changes.
  for (const [op, count] of Object.entries(digest.changeSummary ?? {})) {
    if (op !== "same" && !REPLACE_OPS.has(op) && count > 0) problems.push(`changeSummary has ${op}: ${count}`);
  }
  if (problems.length > 0) {
    throw new Error(`the preview of limits.maxConnections=${CHANGED_MAXCONN} is not just a replaced ${HAPROXY_SEED.name}: ${problems.join("; ")}\nchanged steps: [${describe.join("; ")}]\nchangeSummary: ${JSON.stringify(digest.changeSummary)}\npreview --json printed:\n${stdout.slice(0, 8000)}`);
  }
  say(`preview: only ${describe.join("; ")}`);
}

async function liveConfigChange(run: StackRun, outputs: StackOutputs): Promise<void> {
  const haproxy = await haproxyContainer(run.stack);
  const haproxyBefore = await haproxy.inspect();
  const runtime = new HaproxyRuntime(haproxy);
  const maxconnBefore = (await runtime.info()).Maxconn;
  if (maxconnBefore === String(CHANGED_MAXCONN)) throw new Error(`HAProxy already runs with Maxconn ${CHANGED_MAXCONN}; the change would prove nothing`);

  const fleet = await Fleet.open(outputs.urls.realtime!, run.certificates?.caCert, FLEET_SIZE);
  try {
    await fleet.echoAll("before the change");
    say(`${FLEET_SIZE} WebSocket clients connected to ${outputs.urls.realtime}; HAProxy runs with Maxconn ${maxconnBefore}`);

    await run.pulumi.must(["config", "set", "--stack", run.stack, "--path", "limits.maxConnections", String(CHANGED_MAXCONN)]);
    const preview = await run.pulumi.must(["preview", "--stack", run.stack, "--json", "--diff", "--non-interactive"], UP_TIMEOUT_MS);
    assertOnlySeedReplaced(parsePreviewDigest(preview), run.stack, preview);

    await run.pulumi.must(["up", "--stack", run.stack, "--yes", "--skip-preview", "--non-interactive"], UP_TIMEOUT_MS);
    // The image's watcher sees the new haproxy.cfg in the volume and reloads HAProxy (master-worker):
    // the new worker reports the new maxconn; the old one keeps the established WebSockets.
    await waitFor(async () => (await runtime.info()).Maxconn === String(CHANGED_MAXCONN), { timeoutMs: 30_000, intervalMs: 500, what: `HAProxy to report Maxconn ${CHANGED_MAXCONN}` });
    say(`HAProxy reports Maxconn ${CHANGED_MAXCONN}`);
    // A drop caused by the reload may take a moment to surface as a disconnect.
    await sleep(2_000);
    await fleet.echoAll("after the change");
    if (fleet.disconnects.length > 0) throw new Error(`WebSockets dropped during the change: ${fleet.disconnects.join("; ")}`);
    const haproxyAfter = await haproxy.inspect();
    if (haproxyAfter.Id !== haproxyBefore.Id || haproxyAfter.RestartCount !== haproxyBefore.RestartCount) {
      throw new Error(`the HAProxy container was replaced or restarted (restarts ${haproxyBefore.RestartCount} -> ${haproxyAfter.RestartCount})`);
    }
    say(`${FLEET_SIZE} WebSockets kept through the change, 0 disconnects; each still answers an echo`);
  } finally {
    fleet.close();
  }
  // The replacement seed, too, is created and never started.
  await assertContainerStates(run.stack, outputs);
}

// ---------------------------------------------------------------------------------------------

async function deployAndCheck(run: StackRun): Promise<void> {
  await configureStack(run);
  await run.pulumi.must(["up", "--stack", run.stack, "--yes", "--skip-preview", "--non-interactive"], UP_TIMEOUT_MS);
  const outputs = await readOutputs(run);
  await runCheck(run, outputs);
  await assertContainerStates(run.stack, outputs);
  if (run.live.liveChange) await liveConfigChange(run, outputs);
  await destroyAndAssertClean(run);
}

/** After a failure: whatever the stack created goes, by pulumi first and then by label. */
async function cleanUpAfterFailure(run: StackRun): Promise<void> {
  say(`cleaning up after the failure: pulumi destroy, then anything still labelled ${KIT_LABEL}=${run.stack}`);
  const destroyed = await run.pulumi.run(["destroy", "--stack", run.stack, "--yes", "--skip-preview", "--non-interactive"], UP_TIMEOUT_MS);
  if (destroyed.status !== 0) say(`pulumi destroy exited ${destroyed.status}; removing by label`);
  await removeByLabel(run.stack).catch((error: unknown) => say(`removeByLabel(${run.stack}): ${String(error)}`));
}

/** Deploys one topology, checks it and destroys it; on failure cleans up and rethrows. Always removes the stack. */
async function liveTopology(pulumi: Cli, live: LiveCase, work: string): Promise<void> {
  const stack = `live-${live.topology}-${randomBytes(3).toString("hex")}`;
  say("");
  say(`=== ${live.topology} (stack ${stack})`);
  const run: StackRun = { pulumi, stack, live, certificates: null, caFile: null };
  try {
    if (live.tls) {
      // Valid for the terminators' names too, as the other suites' certificates are.
      run.certificates = await createTestCertificates(["localhost", "127.0.0.1", "stunnel", "haproxy"]);
      run.caFile = path.join(work, `${stack}-ca.pem`);
      fs.writeFileSync(run.caFile, run.certificates.caCert);
    }
    await deployAndCheck(run);
  } catch (error) {
    await cleanUpAfterFailure(run);
    throw error;
  } finally {
    await pulumi.run(["stack", "rm", stack, "--yes", "--force", "--non-interactive"]);
    // `stack init` with the passphrase provider writes Pulumi.<stack>.yaml beside Pulumi.yaml.
    fs.rmSync(path.join(REPO, `Pulumi.${stack}.yaml`), { force: true });
    if (run.caFile) fs.rmSync(run.caFile, { force: true });
  }
}

function passedLine(live: LiveCase): string {
  const parts = ["pulumi up", "outputs", "realtime-kit check", "services running, seeds never started"];
  if (live.liveChange) parts.push(`limits.maxConnections change replaced only ${HAPROXY_SEED.name}, HAProxy reloaded with 0 of ${FLEET_SIZE} WebSockets dropped`);
  parts.push("pulumi destroy left no container, network or volume");
  return `PASSED: ${live.topology} - ${parts.join(", ")}`;
}

async function main(): Promise<void> {
  const pulumiPath = await preflight();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "rk-pulumi-live-"));
  const stateDir = path.join(work, "state");
  fs.mkdirSync(stateDir);
  const pulumi = cli(pulumiPath, deployEnv(stateDir));
  const passed: string[] = [];
  try {
    for (const live of CASES) {
      try {
        await liveTopology(pulumi, live, work);
      } catch (error) {
        say(`FAILED: ${live.topology}: ${(error as Error).message}`);
        const notRunYet = CASES.slice(CASES.indexOf(live) + 1).map((other) => other.topology);
        say(`summary: FAILED at ${live.topology}; passed: ${passed.join(", ") || "none"}; not run: ${notRunYet.join(", ") || "none"}`);
        process.exitCode = EXIT_FAILED;
        return;
      }
      passed.push(live.topology);
      say(passedLine(live));
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  say("");
  say(`summary: PASSED all ${passed.length} topologies (${passed.join(", ")}) with a real pulumi up and pulumi destroy`);
}

main().then(
  // Exit explicitly: closed Socket.IO clients and the Docker client may still hold the event loop.
  () => process.exit(process.exitCode ?? 0),
  (error: unknown) => {
    say(`FAILED: ${(error as Error).stack ?? String(error)}`);
    process.exit(EXIT_FAILED);
  },
);
