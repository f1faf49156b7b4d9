import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { RealtimeDeployment, StackConfigError } from "../../index";
import { RecordingMocks, TLS_SECRETS, TYPES } from "./harness";

const REPO = path.resolve(__dirname, "..", "..");
const EXAMPLE = path.join(REPO, "examples", "pulumi-program");

function settle<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply(resolve));
}

describe("realtime-kit as a library: RealtimeDeployment in a Pulumi program of one's own", () => {
  it("examples/pulumi-program registers its own volume and the whole deployment, with outputs named for users", async () => {
    const mocks = new RecordingMocks();
    await pulumi.runtime.setMocks(mocks, "chat-platform", "prod", false);
    pulumi.runtime.setAllConfig(
      { "chat-platform:tlsCert": TLS_SECRETS.tlsCert, "chat-platform:tlsKey": TLS_SECRETS.tlsKey, "chat-platform:httpsPort": "8443", "chat-platform:realtimeNodes": "3" },
      ["chat-platform:tlsCert", "chat-platform:tlsKey"],
    );
    // Loaded after the mocks are in place, as Pulumi loads a program.
    const program = require(path.join(EXAMPLE, "index.ts")) as { urls: Record<string, string>; nodes: pulumi.Output<Record<string, { role: string; container: string }>>; network: pulumi.Output<string>; uploadsVolume: pulumi.Output<string> };
    const nodes = await settle(program.nodes);
    assert.equal(await settle(program.uploadsVolume), "prod-uploads");
    assert.deepEqual(mocks.resources.filter((resource) => resource.type === "docker:index/volume:Volume" && resource.name === "uploads").length, 1, "the program's own volume");
    assert.deepEqual(
      Object.keys(nodes).sort(),
      ["app-1", "app-2", "haproxy", "realtime-1", "realtime-2", "realtime-3", "redis", "stunnel"],
    );
    assert.equal(nodes["realtime-3"]!.container, "prod-realtime-3", "named after the Pulumi stack");
    assert.equal(program.urls.chat, "https://localhost:8443/chat/");
    assert.equal(await settle(program.network), "prod-net");
    const stunnel = mocks.resources.find((resource) => resource.type === TYPES.container && resource.name === "stunnel")!;
    assert.deepEqual(stunnel.inputs.ports, [{ internal: 8443, external: 8443 }]);
  });

  it("bad options or TLS material fail as a Pulumi run error naming the field, before any resource", async () => {
    await pulumi.runtime.setMocks(new RecordingMocks(), "chat-platform", "prod", false);
    const tls = { cert: TLS_SECRETS.tlsCert, key: TLS_SECRETS.tlsKey };
    const cases: [string, () => unknown, string, RegExp][] = [
      ["a node count out of range", () => new RealtimeDeployment("a", { options: { topology: "multi-node", realtime: { nodes: 0 } }, tls }), "realtime.nodes", /at least 1/],
      ["an https topology without tls", () => new RealtimeDeployment("b", { options: { topology: "ssl-split" } }), "tls", /serves https: give tls: \{ cert, key \}/],
      ["tls where nothing serves https", () => new RealtimeDeployment("c", { options: { topology: "single" }, tls }), "tls", /serves no https/],
      ["a key that is not PEM", () => new RealtimeDeployment("d", { options: { topology: "ssl-split" }, tls: { cert: tls.cert, key: "secret" } }), "tls.key", /is not a private key/],
    ];
    for (const [what, build, field, problem] of cases) {
      assert.throws(build, (error: unknown) => error instanceof StackConfigError && error.field === field && problem.test(error.problem), what);
    }
  });

  it("the library build (dist/, made by `npm ci` through `prepare`) gives plain Node the same exports under the package's name", () => {
    const build = spawnSync("npm", ["run", "--silent", "build"], { cwd: REPO, encoding: "utf8" });
    assert.equal(build.status, 0, build.stdout + build.stderr);
    const load = spawnSync(process.execPath, ["-e", "const kit = require('realtime-kit'); console.log(Object.keys(kit).sort().join(','), typeof kit.RealtimeDeployment)"], { cwd: REPO, encoding: "utf8" });
    assert.equal(load.status, 0, load.stderr);
    assert.equal(load.stdout.trim(), "RealtimeDeployment,StackConfigError function");
  });

  it("realtime-kit/server is @realtime-kit/server's build (server/dist), loadable by plain Node without the Redis packages", () => {
    const script = "const lib = require('realtime-kit/server'); console.log(typeof lib.createKitServer, typeof lib.readKitEnv, Object.keys(require.cache).some((f) => /node_modules[\\/](redis|@socket\.io[\\/]redis)/.test(f)))";
    const load = spawnSync(process.execPath, ["-e", script], { cwd: REPO, encoding: "utf8" });
    assert.equal(load.status, 0, load.stderr);
    assert.equal(load.stdout.trim(), "function function false", "the Redis packages are loaded only when Redis is given");
  });
});
