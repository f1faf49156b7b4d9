import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { TOPOLOGY_NAMES } from "../../model/topologies";
import { PROJECT_ROOT } from "../../stacks/config";
import { runProgram, TLS_SECRETS } from "./harness";

/** A stack file's `realtime-kit:*` settings, keyed without the namespace. */
function stackConfig(file: string): Record<string, unknown> {
  const doc = YAML.parse(fs.readFileSync(path.join(PROJECT_ROOT, file), "utf8")) as { config?: Record<string, unknown> };
  const config: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(doc.config ?? {})) {
    assert.ok(key.startsWith("realtime-kit:"), `${file}: ${key} is outside the realtime-kit namespace`);
    config[key.slice("realtime-kit:".length)] = value;
  }
  return config;
}

describe("Pulumi program: the example stack files", () => {
  it("Pulumi.yaml names the project and points at stacks/", () => {
    const project = YAML.parse(fs.readFileSync(path.join(PROJECT_ROOT, "Pulumi.yaml"), "utf8")) as Record<string, any>;
    assert.equal(project.name, "realtime-kit");
    assert.equal(project.runtime.name, "nodejs");
    assert.equal(project.main, "stacks/");
    assert.ok(fs.existsSync(path.join(PROJECT_ROOT, project.main, "index.ts")));
  });

  for (const topology of TOPOLOGY_NAMES) {
    const file = `Pulumi.${topology}.yaml`;
    it(`${file} deploys topology ${topology} and holds no secrets`, async () => {
      const text = fs.readFileSync(path.join(PROJECT_ROOT, file), "utf8");
      assert.doesNotMatch(text, /-----BEGIN|secure:|tlsCert:|tlsKey:|registryPassword/, "no key material or secrets in the example");
      const config = stackConfig(file);
      assert.equal(config.topology, topology);
      const run = await runProgram(config, topology === "single" || topology === "node-proxy" ? {} : TLS_SECRETS, topology);
      assert.equal(run.outputs.topology, topology);
      assert.ok(Object.keys(run.outputs.urls).includes("chat"));
    });
  }

  it("the multi-host example in Pulumi.multi-node.yaml's comments is valid too", async () => {
    const text = fs.readFileSync(path.join(PROJECT_ROOT, "Pulumi.multi-node.yaml"), "utf8");
    const example = text
      .split("\n")
      .filter((line) => /^#\s{3}/.test(line))
      .map((line) => line.replace(/^#\s{3}/, ""))
      .filter((line) => /^(realtime-kit:|\s+- )/.test(line))
      .join("\n");
    const config: Record<string, unknown> = { ...stackConfig("Pulumi.multi-node.yaml") };
    for (const [key, value] of Object.entries(YAML.parse(example) as Record<string, unknown>)) config[key.slice("realtime-kit:".length)] = value;
    const run = await runProgram(config, TLS_SECRETS, "multi-node");
    assert.deepEqual(
      Object.fromEntries(Object.entries(run.outputs.nodes).map(([service, node]) => [service, node.host])),
      { redis: "edge", "app-1": "node2", "app-2": "node2", "realtime-1": "edge", "realtime-2": "node2", "realtime-3": "edge", "realtime-4": "node2", haproxy: "edge", stunnel: "edge" },
    );
  });
});
