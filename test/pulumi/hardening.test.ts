import assert from "node:assert/strict";
import { planDeployment, type Deployment } from "../../render/deployment";
import type { ServiceSpec } from "../../plan/services";
import { dataVolumeName, fileVolumesOf, volumeNames } from "../../plan/volumes";
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

function plan(config: Record<string, unknown>): Deployment {
  return planDeployment(resolveModel(config, { baseDir: PROJECT_ROOT }));
}

function specs(config: Record<string, unknown>): ServiceSpec[] {
  return plan(config).services;
}

function assertConfined(run: Run, spec: ServiceSpec, deployment: Deployment): void {
  const { inputs } = run.container(spec.name);
  assert.equal(inputs.readOnly, spec.readOnlyRootFs, `${spec.name}: readOnly`);
  assert.deepEqual(inputs.tmpfs ?? {}, spec.tmpfs, `${spec.name}: tmpfs`);
  assert.equal(inputs.uploads, undefined, `${spec.name}: nothing is uploaded into the confined container itself`);
  assert.equal(inputs.volumes, undefined, `${spec.name}: no anonymous volumes`);
  assert.deepEqual(inputs.capabilities, spec.capabilities ? { drops: ["ALL"], adds: spec.capabilities } : undefined, `${spec.name}: capabilities`);
  assert.deepEqual(inputs.securityOpts, spec.noNewPrivileges ? ["no-new-privileges:true"] : undefined, `${spec.name}: no-new-privileges`);
  // Its files come in named volumes, mounted read-only, each filled by a seed that is never started;
  // the state it keeps (Prometheus's series) in a data volume of its own, the one writable mount.
  const volumes = fileVolumesOf(deployment, spec);
  const data = spec.dataDir ? [{ type: "volume", source: dataVolumeName("hardening", spec), target: spec.dataDir }] : [];
  assert.deepEqual(
    inputs.mounts ?? [],
    [...volumes.map((files) => ({ type: "volume", source: volumeNames("hardening", spec, files).volume, target: files.target, readOnly: true })), ...data],
    `${spec.name}: file volumes mounted read-only, a data volume writable`,
  );
  for (const files of volumes) {
    const seed = run.container(`${spec.name}-${files.name}-seed`).inputs;
    assert.deepEqual([seed.start, seed.mustRun, seed.readOnly, seed.networkMode], [false, false, undefined, "none"], `${spec.name}: its seed is created, never started, writable, offline`);
    for (const upload of reveal<{ file: string }[]>(seed.uploads)) {
      assert.ok(upload.file.startsWith(`${files.target}/`), `${spec.name}: ${upload.file} lands outside its volume ${files.target}`);
    }
  }
}

const CASES: { what: string; config: Record<string, unknown>; secrets?: Record<string, string> }[] = [
  { what: "single", config: { topology: "single", ports: { http: 8080 } } },
  { what: "node-proxy, HAProxy in front", config: { topology: "node-proxy", front: "haproxy", ports: { http: 8080, realtime: 8090 } } },
  { what: "ssl-split (stunnel, nginx with static files)", config: { topology: "ssl-split", ports: { http: 8080, https: 8443 } }, secrets: TLS_SECRETS },
  { what: "multi-node, native TLS in HAProxy", config: { topology: "multi-node", ports: { http: 8080, https: 8443 }, tls: { terminator: "haproxy" } }, secrets: TLS_SECRETS },
  { what: "multi-node with Prometheus", config: { topology: "multi-node", ports: { http: 8080, https: 8443 }, metrics: { prometheus: true } }, secrets: TLS_SECRETS },
];

describe("Pulumi program: container hardening from the plan", () => {
  for (const { what, config, secrets } of CASES) {
    it(`${what}: every container gets the plan's read-only root, tmpfs, capabilities and volumes`, async () => {
      const run = await runProgram(config, secrets ?? {}, "hardening");
      const deployment = plan(config);
      const seeds = deployment.services.reduce((count, spec) => count + fileVolumesOf(deployment, spec).length, 0);
      assert.equal(run.ofType(TYPES.container).length, deployment.services.length + seeds);
      for (const spec of deployment.services) assertConfined(run, spec, deployment);
    });
  }

  it("the kit's images all run read-only with every capability dropped; only root-started terminators keep SETUID/SETGID (and HAProxy's master KILL, to stop its old worker on a reload)", () => {
    for (const spec of [...specs(CASES[2]!.config), ...specs(CASES[3]!.config), ...specs(CASES[4]!.config)]) {
      assert.equal(spec.readOnlyRootFs, true, spec.name);
      assert.equal(spec.noNewPrivileges, true, spec.name);
      assert.deepEqual(spec.capabilities, spec.user === "root" ? (spec.role === "haproxy" ? ["SETUID", "SETGID", "KILL"] : ["SETUID", "SETGID"]) : [], spec.name);
    }
    const byName = (name: string, list: ServiceSpec[]) => list.find((spec) => spec.name === name)!;
    const sslSplit = specs(CASES[2]!.config);
    assert.match(byName("nginx", sslSplit).tmpfs["/tmp"]!, /^rw,noexec,nosuid,nodev,size=\d+m$/);
    const sslSplitPlan = plan(CASES[2]!.config);
    const targets = (name: string) => fileVolumesOf(sslSplitPlan, byName(name, sslSplit)).map((files) => files.target);
    assert.deepEqual(targets("nginx"), [CONFIG_DIR, CONTAINER_PATHS.staticDir]);
    assert.deepEqual(targets("stunnel"), [CONFIG_DIR], "the certificate and key sit in the config volume, under tls/");
    assert.match(byName("haproxy", sslSplit).tmpfs["/run/haproxy"]!, /uid=\d+,gid=\d+,mode=0770/, "unprivileged HAProxy owns its socket folder");
    assert.match(byName("haproxy", specs(CASES[3]!.config)).tmpfs["/run/haproxy"]!, /mode=0755/, "root-started HAProxy keeps a root-owned socket folder");
    assert.deepEqual(byName("redis", specs(CASES[3]!.config)).tmpfs, {}, "Redis writes nothing (no persistence)");
  });

  it("an operator's own image runs with Docker's defaults (the kit cannot know what it writes)", async () => {
    const config = { topology: "node-proxy", ports: { http: 8080 }, app: { image: "example/rails:1" } };
    const app = specs(config).find((spec) => spec.role === "app")!;
    assert.deepEqual([app.readOnlyRootFs, app.tmpfs, app.capabilities, app.noNewPrivileges], [false, {}, null, false]);
    const run = await runProgram(config, {}, "hardening");
    assertConfined(run, app, plan(config));
    assert.equal(run.container("realtime-1").inputs.readOnly, true, "the kit's realtime image next to it is still confined");
  });

  it("the body-buffer tmpfs grows with limits.maxMessageBytes", () => {
    const big = specs({ topology: "node-proxy", ports: { http: 8080 }, limits: { maxMessageBytes: 50 * 1024 * 1024 } });
    assert.match(big.find((spec) => spec.role === "app")!.tmpfs["/tmp"]!, /size=400m$/);
  });
});
