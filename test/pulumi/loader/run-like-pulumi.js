"use strict";
// Runs a Pulumi program the way `pulumi up` (CLI 3.248, nodejs language host) runs it, with
// recording mocks in place of the engine. Run it with plain `node`: no tsx, no --require, no
// NODE_OPTIONS, so the only TypeScript loader is the one Pulumi's own code registers.
//
//   node test/pulumi/loader/run-like-pulumi.js '<spec>'
//   spec: { program: <dir>, project, stack, config: { key: value }, secrets: { key: value } }
//
// What the CLI and the language host do, and how this does the same:
//   - Pulumi.yaml `main: stacks/` is a directory: the CLI makes it the working directory and runs
//     "." as the program (project.GetPwdMain). Here: process.chdir(spec.program), program ".".
//   - `runtime.options.typescript: true`: the host sets PULUMI_NODEJS_TYPESCRIPT=true.
//   - The host execs `node <@pulumi/pulumi/cmd/run> --monitor=... --project=... --stack=... .`.
//     Here: the same entry point (cmd/run/index.js), loaded with that argv. It installs the
//     uncaught-error and exit-code handling, then calls run.js `run(argv, programStarted,
//     reportLoggedError, isErrorReported)`, which registers ts-node (tsutils.typeScriptRequireStrings:
//     the project's ts-node, else the vendored ts-node@7.0.1, with the project's typescript) and
//     requires the program inside the root Stack resource. (run.js cannot be loaded on its own: it
//     requires "." = cmd/run/index.js, whose top level parses process.argv and runs the program.)
// The one difference: pulumi.runtime.setMocks + setAllConfig, before anything loads, stand in for
// the engine and for the stack config the host passes in PULUMI_CONFIG. The monitor address is
// "mock", which Pulumi's settings treat as "use the mock monitor".
//
// Exit code: cmd/run/index.js's own (0, or 1 / 32 after an uncaught error, e.g. a TSError).
// Output: one line `LOADER-RESULT <json>` when the event loop drains: every registered resource
// (type, name), the stack outputs as the engine received them, and how the program was loaded.

const path = require("node:path");

const spec = JSON.parse(process.argv[2]);
const project = spec.project || "realtime-kit";
const RESULT = "LOADER-RESULT ";

const pulumi = require("@pulumi/pulumi");
const settings = require("@pulumi/pulumi/runtime/settings");
const rpc = require("@pulumi/pulumi/runtime/rpc");

// The engine: record each registration; resources get their inputs back as their state.
const resources = [];
const mocks = {
  newResource(args) {
    resources.push({ type: args.type, name: args.name });
    return { id: `${args.name}-id`, state: { ...args.inputs } };
  },
  call(args) {
    return args.inputs;
  },
};

function collect() {
  // Stack outputs as the engine received them (registerResourceOutputs on the root Stack).
  const monitor = settings.getMonitor();
  const registered = monitor && typeof monitor.getRegisteredResources === "function" ? monitor.getRegisteredResources() : new Map();
  const stackUrn = [...registered.keys()].find((urn) => urn.includes("::pulumi:pulumi:Stack::"));
  const state = stackUrn ? registered.get(stackUrn).state : undefined;
  const outputs = state && typeof state.toJavaScript === "function" ? rpc.deserializeProperties(state) : null;

  const cached = Object.keys(require.cache);
  const tsHandler = require.extensions[".ts"];
  const typescriptFile = cached.find((file) => /[\\/]node_modules[\\/]typescript[\\/]lib[\\/]typescript\.js$/.test(file));
  const loader = {
    execArgv: process.execArgv,
    nodeOptions: process.env.NODE_OPTIONS || "",
    cwd: process.cwd(),
    typescriptEnv: process.env.PULUMI_NODEJS_TYPESCRIPT,
    tsHandler: typeof tsHandler === "function" ? tsHandler.toString() : null,
    tsNode: cached.filter((file) => /[\\/]ts-node(@[^\\/]+)?[\\/]/.test(file)),
    typescript: typescriptFile || null,
    typescriptVersion: typescriptFile ? require.cache[typescriptFile].exports.version : null,
    tsx: cached.filter((file) => /[\\/]node_modules[\\/]tsx[\\/]/.test(file)),
    programFiles: cached.filter((file) => /\.tsx?$/.test(file) && !file.split(path.sep).includes("node_modules")),
  };
  return { resources, outputs, loader };
}

async function main() {
  await pulumi.runtime.setMocks(mocks, project, spec.stack, false);
  // The mock monitor has no SignalAndWaitForShutdown; the engine answers it once the update is done.
  const monitor = settings.getMonitor();
  if (typeof monitor.signalAndWaitForShutdown !== "function") monitor.signalAndWaitForShutdown = (_req, callback) => callback(null, {});

  const all = {};
  for (const [key, value] of Object.entries({ ...(spec.config || {}), ...(spec.secrets || {}) })) {
    all[`${project}:${key}`] = typeof value === "string" ? value : JSON.stringify(value);
  }
  pulumi.runtime.setAllConfig(all, Object.keys(spec.secrets || {}).map((key) => `${project}:${key}`));

  // The language host's environment, working directory and command line.
  process.env.PULUMI_NODEJS_TYPESCRIPT = "true";
  process.chdir(spec.program);
  const entry = require.resolve("@pulumi/pulumi/cmd/run");
  process.argv = [process.execPath, entry, "--monitor=mock", `--project=${project}`, `--stack=${spec.stack}`, "."];

  let reported = false;
  process.on("beforeExit", () => {
    if (reported) return;
    reported = true;
    process.stdout.write(`${RESULT}${JSON.stringify(collect())}\n`);
  });

  require(entry);
}

main().catch((err) => {
  console.error(`driver failed before the program ran: ${(err && err.stack) || err}`);
  process.exitCode = 2;
});
