import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import YAML from "yaml";
import { runProgram, TLS_SECRETS, TYPES } from "./harness";

// The other tests in test/pulumi load the program through tsx (mocha's loader). `pulumi up` does not:
// the nodejs language host runs @pulumi/pulumi/cmd/run, whose run.js registers ts-node (the vendored
// ts-node@7.0.1, as the project has none) with the project's typescript and type checking on, and
// requires "." from stacks/ (Pulumi.yaml `main`). These tests run the program that way, in a plain
// `node` child (test/pulumi/loader/run-like-pulumi.js) with mocks in place of the engine.

const REPO = path.resolve(__dirname, "..", "..");
const STACKS = path.join(REPO, "stacks");
const DRIVER = path.join(__dirname, "loader", "run-like-pulumi.js");
const VENDORED_TS_NODE = path.join(REPO, "node_modules", "@pulumi", "pulumi", "vendor", "ts-node@7.0.1", "index.js");
const RESULT = "LOADER-RESULT ";

interface Spec {
  program: string;
  project?: string;
  stack: string;
  config?: Record<string, unknown>;
  secrets?: Record<string, string>;
}

interface LoaderResult {
  resources: { type: string; name: string }[];
  outputs: Record<string, any> | null;
  loader: {
    execArgv: string[];
    nodeOptions: string;
    cwd: string;
    typescriptEnv: string | undefined;
    tsHandler: string | null;
    tsNode: string[];
    typescript: string | null;
    typescriptVersion: string | null;
    tsx: string[];
    programFiles: string[];
  };
}

interface ChildRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  result: LoaderResult | undefined;
}

/** Scratch space: each child gets its own empty ts-node cache, so every file is compiled and type-checked. */
let scratch = "";

/** Runs the driver with plain node; never rejects (a spawn failure is a failed run). */
function runLikePulumi(spec: Spec, timeoutMs = 170_000): Promise<ChildRun> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    // Nothing from this shell may change how the child loads TypeScript or what config it sees.
    if (key === "NODE_OPTIONS" || key === "TRACEPARENT" || key.startsWith("TS_NODE_") || key.startsWith("PULUMI_NODEJS_") || key.startsWith("PULUMI_CONFIG")) continue;
    env[key] = value;
  }
  env.TS_NODE_CACHE_DIRECTORY = fs.mkdtempSync(path.join(scratch, "ts-node-cache-"));
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [DRIVER, JSON.stringify(spec)], { cwd: REPO, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      stderr += `\n[loader.test] killed after ${timeoutMs} ms`;
      child.kill("SIGKILL");
    }, timeoutMs);
    const finish = (code: number | null) => {
      clearTimeout(timer);
      const line = stdout.split("\n").find((candidate) => candidate.startsWith(RESULT));
      const result = line ? (JSON.parse(line.slice(RESULT.length)) as LoaderResult) : undefined;
      resolve({ code, stdout, stderr, ms: Date.now() - started, result });
    };
    child.on("error", (error) => {
      stderr += `\n[loader.test] spawn failed: ${error.message}`;
      finish(null);
    });
    child.on("close", (code) => finish(code));
  });
}

/** A stack file's `realtime-kit:*` settings, keyed without the namespace (what `pulumi up` passes the program). */
function stackConfig(stack: string): Record<string, unknown> {
  const doc = YAML.parse(fs.readFileSync(path.join(REPO, `Pulumi.${stack}.yaml`), "utf8")) as { config?: Record<string, unknown> };
  return Object.fromEntries(Object.entries(doc.config ?? {}).map(([key, value]) => [key.replace(/^realtime-kit:/, ""), value]));
}

/** The run succeeded and printed its result. */
function succeeded(run: ChildRun): LoaderResult {
  assert.equal(run.code, 0, `the program failed under Pulumi's loader (exit ${run.code}):\n${run.stderr}`);
  assert.ok(run.result, `no ${RESULT.trim()} line:\n${run.stdout}\n${run.stderr}`);
  return run.result;
}

/** The program was compiled by the vendored ts-node Pulumi registered, from stacks/, with no tsx anywhere. */
function assertPulumiLoader(result: LoaderResult, programDir: string): void {
  const { loader } = result;
  assert.deepEqual(loader.execArgv, [], "plain node: no --require/--import/--loader");
  assert.equal(loader.nodeOptions, "", "no NODE_OPTIONS");
  assert.deepEqual(loader.tsx, [], "tsx never loaded");
  assert.deepEqual(loader.tsNode, [VENDORED_TS_NODE], "run.js registered the vendored ts-node@7.0.1");
  assert.match(loader.tsHandler ?? "", /shouldIgnore\(filename, ignore\)/, "require.extensions['.ts'] is ts-node's handler");
  assert.equal(loader.typescript, require.resolve("typescript"), "with the project's own typescript");
  assert.equal(loader.typescriptVersion, (require("typescript") as { version: string }).version);
  assert.equal(loader.typescriptEnv, "true");
  assert.equal(loader.cwd, programDir, "run from the program directory, as the CLI does for a `main` directory");
  assert.ok(loader.programFiles.includes(path.join(programDir, "index.ts")), `${programDir}/index.ts compiled by ts-node`);
}

function types(result: LoaderResult): string[] {
  return [...new Set(result.resources.map((resource) => resource.type))];
}

function namesOf(result: LoaderResult, type: string): string[] {
  return result.resources.filter((resource) => resource.type === type).map((resource) => resource.name).sort();
}

/** The same config run in this process (tsx-loaded, harness.ts): the resources it registers and its outputs. */
async function underTsx(config: Record<string, unknown>, secrets: Record<string, string>, stack: string) {
  const run = await runProgram(config, secrets, stack);
  // index.ts exports adminUiPassword as undefined without the admin UI: Pulumi then has no such output.
  const { adminUiPassword, ...outputs } = run.outputs;
  return { resources: run.resources.map(({ type, name }) => `${type} ${name}`).sort(), outputs: adminUiPassword ? { ...outputs, adminUiPassword: adminUiPassword.value } : outputs };
}

/** A throwaway Pulumi program in os.tmpdir(); @pulumi/pulumi resolves through a node_modules link to the repository's. */
function throwawayProgram(name: string, valueLine: string): string {
  const dir = path.join(scratch, name);
  fs.mkdirSync(dir);
  fs.symlinkSync(path.join(REPO, "node_modules"), path.join(dir, "node_modules"), "dir");
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: `loader-${name}`, private: true }));
  fs.writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: { strict: true } }));
  fs.writeFileSync(
    path.join(dir, "index.ts"),
    [
      'import * as pulumi from "@pulumi/pulumi";',
      valueLine,
      'new pulumi.ComponentResource("loadercheck:index:Marker", "ran", {});',
      "export const value = n;",
      "",
    ].join("\n"),
  );
  return dir;
}

describe("Pulumi program under Pulumi's own loader (cmd/run, vendored ts-node 7, type-checked)", function () {
  this.timeout(180_000);

  const single = { stack: "single", config: stackConfig("single"), secrets: {} as Record<string, string> };
  const multi = { stack: "multi-node", config: stackConfig("multi-node"), secrets: TLS_SECRETS };
  const runs: Record<string, Promise<ChildRun>> = {};

  before(() => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), "realtime-kit-loader-"));
    // All children at once: each spends most of its time type-checking.
    runs.single = runLikePulumi({ program: STACKS, stack: single.stack, config: single.config, secrets: single.secrets });
    runs.multi = runLikePulumi({ program: STACKS, stack: multi.stack, config: multi.config, secrets: multi.secrets });
    runs.typeError = runLikePulumi({ program: throwawayProgram("type-error", 'const n: number = "x";'), project: "loadercheck", stack: "dev" });
    runs.typeOk = runLikePulumi({ program: throwawayProgram("type-ok", "const n: number = 1;"), project: "loadercheck", stack: "dev" });
  });

  after(async () => {
    await Promise.all(Object.values(runs));
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  });

  it("stack single (Pulumi.single.yaml): loads through ts-node from stacks/, deploys, and exports topology and urls", async () => {
    const result = succeeded(await runs.single!);
    assertPulumiLoader(result, STACKS);
    for (const file of ["deploy.ts", "config.ts", path.join("components", "deployment.ts")]) {
      assert.ok(result.loader.programFiles.includes(path.join(STACKS, file)), `stacks/${file} compiled by ts-node`);
    }
    assert.deepEqual(namesOf(result, "pulumi:pulumi:Stack"), ["realtime-kit-single"], "ran inside the root Stack resource");
    for (const type of [TYPES.container, TYPES.network, TYPES.image]) assert.ok(types(result).includes(type), `registers a ${type}`);
    assert.deepEqual(namesOf(result, TYPES.container), ["realtime-1"]);
    assert.equal(result.outputs?.topology, "single");
    assert.equal(result.outputs?.topology, single.config.topology);
    assert.match(result.outputs?.urls?.chat ?? "", /^http:\/\/localhost:8080\//);
    assert.equal(result.outputs?.network, "single-net");
  });

  it("stack multi-node (Pulumi.multi-node.yaml + TLS secrets): loads and deploys every service", async () => {
    const result = succeeded(await runs.multi!);
    assertPulumiLoader(result, STACKS);
    for (const type of [TYPES.container, TYPES.network, TYPES.image]) assert.ok(types(result).includes(type), `registers a ${type}`);
    const containers = namesOf(result, TYPES.container);
    for (const service of ["redis", "app-1", "app-2", "realtime-1", "realtime-2", "realtime-3", "haproxy", "stunnel"]) {
      assert.ok(containers.includes(service), `container ${service} in ${containers.join(", ")}`);
    }
    assert.equal(result.outputs?.topology, "multi-node");
    assert.equal(result.outputs?.topology, multi.config.topology);
    assert.deepEqual(Object.keys(result.outputs?.urls ?? {}).sort(), ["chat", "realtime", "site", "site-tls"]);
    assert.match(result.outputs?.urls?.chat ?? "", /^https:\/\/chat\.localhost:8443\//);
  });

  it("registers exactly what the tsx-loaded program does, with the same outputs", async () => {
    for (const [key, stack] of [["single", single], ["multi", multi]] as const) {
      const result = succeeded(await runs[key]!);
      const tsx = await underTsx(stack.config, stack.secrets, stack.stack);
      const pulumiLoaded = result.resources.filter((resource) => resource.type !== "pulumi:pulumi:Stack").map(({ type, name }) => `${type} ${name}`).sort();
      assert.deepEqual(pulumiLoaded, tsx.resources, `${stack.stack}: resources`);
      assert.deepEqual(result.outputs, tsx.outputs, `${stack.stack}: stack outputs`);
    }
  });

  it("negative control: the same loader rejects a program with a type error (TSError), so these tests can fail", async () => {
    const run = await runs.typeError!;
    assert.notEqual(run.code, 0, `a type error must fail the run:\n${run.stdout}\n${run.stderr}`);
    assert.equal(run.code, 32, "cmd/run's exit code for an error run.js already logged");
    assert.match(run.stderr, /failed with an unhandled exception:\s*TSError: ⨯ Unable to compile TypeScript:/);
    assert.match(run.stderr, /index\.ts\(2,7\): error TS2322: Type 'string' is not assignable to type 'number'\./);
    assert.ok(run.result, "the driver still reports what was registered");
    assert.deepEqual(namesOf(run.result, "loadercheck:index:Marker"), [], "the program body never ran");
  });

  it("control: the same throwaway program without the type error runs (the failure above is the type check)", async () => {
    const run = await runs.typeOk!;
    const result = succeeded(run);
    assertPulumiLoader(result, path.join(scratch, "type-ok"));
    assert.deepEqual(namesOf(result, "loadercheck:index:Marker"), ["ran"]);
    assert.deepEqual(result.outputs, { value: 1 });
  });
});
