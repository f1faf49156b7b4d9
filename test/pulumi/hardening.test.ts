import assert from "node:assert/strict";
import { planDeployment, type ServiceSpec } from "../../configs/deployment";
import { CONFIG_DIR, CONTAINER_PATHS } from "../../model/layout";
import { resolveModel } from "../../model/model";
import { PROJECT_ROOT } from "../../stacks/config";
import { reveal, runProgram, TLS_SECRETS, TYPES, type Run } from "./harness";

/**
 * The Pulumi program applies the plan's confinement (read-only root, tmpfs, capabilities,
 * no-new-privileges, upload folders as volumes) to every container, exactly as the plan says;
 * the live harness applies the same specs (test/hardening/confinement.test.ts checks it with
 * docker inspect).
 */

function specs(config: Record<string, unknown>): ServiceSpec[] {
  return planDeployment(resolveModel(config, { baseDir: PROJECT_ROOT })).services;
}

function assertConfined(run: Run, spec: ServiceSpec): void {
  const { inputs } = run.container(spec.name);
  assert.equal(inputs.readOnly, spec.readOnlyRootFs, `${spec.name}: readOnly`);
  assert.deepEqual(inputs.tmpfs ?? {}, spec.tmpfs, `${spec.name}: tmpfs`);
  assert.deepEqual(inputs.volumes, spec.uploadDirs.map((containerPath) => ({ containerPath })), `${spec.name}: upload folders as anonymous volumes`);
  assert.deepEqual(inputs.capabilities, spec.capabilities ? { drops: ["ALL"], adds: spec.capabilities } : undefined, `${spec.name}: capabilities`);
  assert.deepEqual(inputs.securityOpts, spec.noNewPrivileges ? ["no-new-privileges:true"] : undefined, `${spec.name}: no-new-privileges`);
  // Every upload lands inside one of the volumes (Docker refuses uploads into a read-only root elsewhere).
  for (const upload of reveal<{ file: string }[]>(inputs.uploads ?? [])) {
    assert.ok(spec.uploadDirs.some((dir) => upload.file.startsWith(`${dir}/`)), `${spec.name}: ${upload.file} is outside its volumes ${spec.uploadDirs.join(", ")}`);
  }
}

const CASES: { what: string; config: Record<string, unknown>; secrets?: Record<string, string> }[] = [
  { what: "single", config: { topology: "single", ports: { http: 8080 } } },
  { what: "node-proxy, HAProxy in front", config: { topology: "node-proxy", front: "haproxy", ports: { http: 8080, realtime: 8090 } } },
  { what: "ssl-split (stunnel, nginx with static files)", config: { topology: "ssl-split", ports: { http: 8080, https: 8443 } }, secrets: TLS_SECRETS },
  { what: "multi-node, native TLS in HAProxy", config: { topology: "multi-node", ports: { http: 8080, https: 8443 }, tls: { terminator: "haproxy" } }, secrets: TLS_SECRETS },
];

describe("Pulumi program: container hardening from the plan", () => {
  for (const { what, config, secrets } of CASES) {
    it(`${what}: every container gets the plan's read-only root, tmpfs, capabilities and volumes`, async () => {
      const run = await runProgram(config, secrets ?? {}, "hardening");
      const plan = specs(config);
      assert.equal(run.ofType(TYPES.container).length, plan.length);
      for (const spec of plan) assertConfined(run, spec);
    });
  }

  it("the kit's images all run read-only with every capability dropped; only root-started terminators keep SETUID/SETGID", () => {
    const plan = [...specs(CASES[2]!.config), ...specs(CASES[3]!.config)];
    for (const spec of plan) {
      assert.equal(spec.readOnlyRootFs, true, spec.name);
      assert.equal(spec.noNewPrivileges, true, spec.name);
      assert.deepEqual(spec.capabilities, spec.user === "root" ? ["SETUID", "SETGID"] : [], spec.name);
    }
    const byName = (name: string, list: ServiceSpec[]) => list.find((spec) => spec.name === name)!;
    const sslSplit = specs(CASES[2]!.config);
    assert.match(byName("nginx", sslSplit).tmpfs["/tmp"]!, /^rw,noexec,nosuid,nodev,size=\d+m$/);
    assert.deepEqual(byName("nginx", sslSplit).uploadDirs, [CONFIG_DIR, CONTAINER_PATHS.staticDir]);
    assert.deepEqual(byName("stunnel", sslSplit).uploadDirs, [CONFIG_DIR, `${CONFIG_DIR}/tls`]);
    assert.match(byName("haproxy", sslSplit).tmpfs["/run/haproxy"]!, /uid=\d+,gid=\d+,mode=0770/, "unprivileged HAProxy owns its socket folder");
    assert.match(byName("haproxy", specs(CASES[3]!.config)).tmpfs["/run/haproxy"]!, /mode=0755/, "root-started HAProxy keeps a root-owned socket folder");
    assert.deepEqual(byName("redis", specs(CASES[3]!.config)).tmpfs, {}, "Redis writes nothing (no persistence)");
  });

  it("an operator's own image runs with Docker's defaults (the kit cannot know what it writes)", async () => {
    const config = { topology: "node-proxy", ports: { http: 8080 }, app: { image: "example/rails:1" } };
    const app = specs(config).find((spec) => spec.role === "app")!;
    assert.deepEqual([app.readOnlyRootFs, app.tmpfs, app.capabilities, app.noNewPrivileges], [false, {}, null, false]);
    const run = await runProgram(config, {}, "hardening");
    assertConfined(run, app);
    assert.equal(run.container("realtime-1").inputs.readOnly, true, "the kit's realtime image next to it is still confined");
  });

  it("the body-buffer tmpfs grows with limits.maxMessageBytes", () => {
    const big = specs({ topology: "node-proxy", ports: { http: 8080 }, limits: { maxMessageBytes: 50 * 1024 * 1024 } });
    assert.match(big.find((spec) => spec.role === "app")!.tmpfs["/tmp"]!, /size=400m$/);
  });
});
