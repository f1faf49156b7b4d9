import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { createTestCertificates } from "../../driver/certs";
import { resolveModel } from "../../model/model";
import { PROJECT_ROOT } from "../../stacks/config";
import { StackConfigError } from "../../stacks/config";
import { runProgram, TLS_SECRETS } from "./harness";

/** The ConfigError text `realtime-kit generate` gives for the same options. */
function cliError(config: Record<string, unknown>): string {
  try {
    resolveModel(config, { baseDir: PROJECT_ROOT });
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(config)} to be rejected`);
}

/** Runs the program and returns the error it fails with. */
async function programError(config: Record<string, unknown>, secrets: Record<string, string> = {}): Promise<StackConfigError> {
  try {
    await runProgram(config, secrets);
  } catch (error) {
    assert.ok(error instanceof StackConfigError, `expected a StackConfigError, got ${String(error)}`);
    return error;
  }
  throw new Error(`expected the program to fail for ${JSON.stringify(config)}`);
}

describe("Pulumi program: stack config", () => {
  describe("bad model options fail with the model's own ConfigError text", () => {
    const cases: [string, Record<string, unknown>][] = [
      ["realtime.nodes=2 for single", { topology: "single", realtime: { nodes: 2 } }],
      ["no topology", {}],
      ["an unknown topology", { topology: "mesh" }],
      ["an option that does not fit the topology", { topology: "single", front: "haproxy" }],
      ["an unknown option (a typo in the stack file)", { topology: "single", realtme: { nodes: 1 } }],
      ["an unknown nested option", { topology: "single", ports: { htp: 8080 } }],
      ["a port given as text", { topology: "single", ports: { http: "8080" } }],
      ["a malformed duration", { topology: "single", timeouts: { client: "a minute" } }],
      ["clashing public ports", { topology: "ssl-split", ports: { http: 8443, https: 8443 } }],
      ["hosts outside multi-node", { topology: "node-proxy", hosts: [{ name: "a", docker: "unix:///var/run/docker.sock", address: "10.0.0.1" }] }],
      ["an unknown host in realtime.hosts", { topology: "multi-node", hosts: [{ name: "a", docker: "unix:///var/run/docker.sock", address: "10.0.0.1" }], realtime: { hosts: ["b"] } }],
    ];
    for (const [what, config] of cases) {
      it(what, async () => {
        const error = await programError(config, TLS_SECRETS);
        assert.equal(error.message, cliError(config));
        assert.match(error.message, /^[\w.]+: /, "field: problem");
      });
    }

    it("is a RunError, so `pulumi up` prints just the message, without a stack trace", async () => {
      const error = await programError({ topology: "single", realtime: { nodes: 2 } });
      assert.ok(pulumi.RunError.isInstance(error));
      assert.equal(error.message, "realtime.nodes: single runs exactly 1 realtime node (got 2); use topology multi-node for more");
      assert.equal(error.field, "realtime.nodes");
    });
  });

  describe("TLS material comes from the stack's secrets", () => {
    it("ssl-split without tlsCert names the secret and how to set it", async () => {
      const error = await programError({ topology: "ssl-split" }, { tlsKey: TLS_SECRETS.tlsKey });
      assert.equal(error.field, "tlsCert");
      assert.match(error.message, /^tlsCert: is required: topology ssl-split serves https/);
      assert.ok(error.message.includes("realtime-kit:tlsCert"));
      assert.ok(error.message.includes('pulumi config set --secret tlsCert -- "$(cat cert.pem)"'));
    });

    it("multi-node without tlsKey names the key's secret", async () => {
      const error = await programError({ topology: "multi-node" }, { tlsCert: TLS_SECRETS.tlsCert });
      assert.equal(error.field, "tlsKey");
      assert.ok(error.message.includes('pulumi config set --secret tlsKey -- "$(cat key.pem)"'));
    });

    it("text that is not PEM is refused", async () => {
      const error = await programError({ topology: "ssl-split" }, { ...TLS_SECRETS, tlsCert: "/home/me/cert.pem" });
      assert.equal(error.field, "tlsCert");
      assert.match(error.message, /is not a certificate chain \(no PEM block found\)/);
    });

    it("a key that does not belong to the certificate is refused before anything is deployed", async () => {
      const other = await createTestCertificates(["localhost"]);
      const error = await programError({ topology: "ssl-split" }, { tlsCert: TLS_SECRETS.tlsCert, tlsKey: other.key });
      assert.equal(error.field, "tlsKey");
      assert.match(error.message, /^tlsKey: does not belong to the certificate in tlsCert/);
    });

    it("tls.certFile / tls.keyFile (the CLI's way) point to the secrets instead", async () => {
      const error = await programError({ topology: "ssl-split", tls: { certFile: "cert.pem", keyFile: "key.pem" } }, TLS_SECRETS);
      assert.equal(error.field, "tls.certFile");
      assert.ok(error.message.includes("pulumi config set --secret tlsCert"));
      const keyOnly = await programError({ topology: "ssl-split", tls: { keyFile: "key.pem" } }, TLS_SECRETS);
      assert.equal(keyOnly.field, "tls.keyFile");
    });

    it("TLS secrets on a topology without TLS are refused rather than ignored", async () => {
      const error = await programError({ topology: "single" }, TLS_SECRETS);
      assert.equal(error.message, "tlsCert: does not apply to topology single: only ssl-split and multi-node terminate TLS; remove it (pulumi config rm tlsCert)");
    });

    it("the TLS secrets are not read as model options", async () => {
      const run = await runProgram({ topology: "ssl-split" }, TLS_SECRETS);
      assert.equal(run.outputs.topology, "ssl-split");
    });
  });

  describe("structured values", () => {
    it("accept what `pulumi config set --path` stores (numbers and booleans typed)", async () => {
      const run = await runProgram({ topology: "multi-node", realtime: { nodes: 3, adapter: "redis-streams", connectionStateRecovery: true } }, TLS_SECRETS);
      assert.deepEqual(Object.keys(run.outputs.nodes).filter((name) => name.startsWith("realtime-")), ["realtime-1", "realtime-2", "realtime-3"]);
    });

    it("a structured option that is not JSON says how to set its fields", async () => {
      const error = await programError({ topology: "single", ports: "http=8080" });
      assert.equal(error.message, "ports: is not valid structured config; set its fields one by one, e.g. pulumi config set --path ports.<field> <value>");
    });

    it("a missing static folder fails like the CLI's check", async () => {
      const error = await programError({ topology: "ssl-split", staticDir: "no/such/folder" }, TLS_SECRETS);
      assert.equal(error.field, "staticDir");
      assert.match(error.message, /is not a readable folder/);
    });
  });

  describe("registry", () => {
    it("keeps the password out of plain config", async () => {
      const error = await programError({ topology: "single", registry: { server: "registry.example.com", password: "hunter2" } });
      assert.equal(error.field, "registry.password");
      assert.ok(error.message.includes("pulumi config set --secret registryPassword"));
    });

    it("needs a server address", async () => {
      const error = await programError({ topology: "single", registry: { username: "ci" } });
      assert.equal(error.field, "registry.server");
    });

    it("needs the user and the password before anything is built, not at push time", async () => {
      const noPassword = await programError({ topology: "single", registry: { server: "registry.example.com", username: "ci" } });
      assert.equal(noPassword.field, "registryPassword");
      assert.match(noPassword.message, /^registryPassword: is required with registry\.server: .*pulumi config set --secret registryPassword <password>$/);
      const noUser = await programError({ topology: "single", registry: { server: "registry.example.com" } }, { registryPassword: "hunter2" });
      assert.equal(noUser.field, "registry.username");
    });

    it("pushes the built images under the registry's name, with the password kept secret", async () => {
      const run = await runProgram({ topology: "single", registry: { server: "registry.example.com:5000", username: "ci" } }, { registryPassword: "hunter2" });
      const [image] = run.ofType("docker:index/image:Image");
      assert.equal(image!.inputs.imageName, "registry.example.com:5000/realtime-kit/realtime:latest");
      assert.equal(image!.inputs.skipPush, false);
      assert.ok(JSON.stringify(image!.inputs.registry).includes("4dabf18193072939515e22adb298388d"), "the registry credentials are secret");
    });
  });
});
