import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { Command } from "commander";
import fc from "fast-check";
import * as generate from "../../cli/commands/generate";
import { planDeployment } from "../../render/deployment";
import { rootStartedCapabilities } from "../../plan/hardening";
import { kitImage } from "../../plan/services";
import { HAPROXY_BACKENDS } from "../../render/haproxy";
import { proxiesOf } from "../../plan/names";
import { ConfigError, EXIT_BAD_INPUT } from "../../model/errors";
import { resolveModel } from "../../model/model";
import { brokenConfig, validConfig, type Config } from "./model-arbitraries";
import { useTempDir } from "../temp-dir";

/**
 * Property-based tests over the model (fast-check). Valid configurations drawn from the schema's
 * ranges always plan a deployment with the hardening invariants; a configuration broken in one
 * place always fails with exactly one ConfigError naming that field, and `generate` then writes
 * nothing. Whether the real programs accept the generated files is
 * test/hardening/config-properties.test.ts (it needs Docker).
 */

const resolve = (config: Config) => resolveModel(config, { baseDir: "/srv/project" });

/** Runs `realtime-kit generate <topology> --config <file> --out <dir>` in this process, capturing its output. */
async function generateInProcess(topology: string, configFile: string, out: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const program = new Command("realtime-kit").exitOverride();
  generate.register(program);
  const saved = { exitCode: process.exitCode, out: process.stdout.write, err: process.stderr.write };
  let stdout = "";
  let stderr = "";
  process.stdout.write = ((chunk: string | Uint8Array) => ((stdout += String(chunk)), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += String(chunk)), true)) as typeof process.stderr.write;
  process.exitCode = undefined;
  try {
    await program.parseAsync(["generate", topology, "--config", configFile, "--out", out], { from: "user" });
    return { code: Number(process.exitCode ?? 0), stdout, stderr };
  } finally {
    process.stdout.write = saved.out;
    process.stderr.write = saved.err;
    process.exitCode = saved.exitCode;
  }
}

describe("model properties (fast-check)", function () {
  this.timeout(120_000);

  it("any valid config plans a hardened deployment: only entry ports published, confined kit images, limits and TLS policy in the configs (300 runs)", () => {
    fc.assert(
      fc.property(validConfig(), (config) => {
        const model = resolve(config);
        const plan = planDeployment(model);
        assert.deepEqual(planDeployment(resolve(config)).files, plan.files, "planning is deterministic");
        const entry = [model.ports.http, model.tls?.httpsPort ?? null, model.ports.realtime].filter((p) => p !== null);
        for (const service of plan.services) {
          for (const published of service.publish) {
            assert.ok(entry.includes(published.hostPort), `${service.name} publishes ${published.hostPort}, not an entry port`);
            assert.equal(published.hostIp, undefined);
          }
          if (service.role === "app" || service.role === "redis") assert.deepEqual(service.publish, [], `${service.name} is internal`);
          if (service.image === kitImage(service.role)) {
            assert.equal(service.readOnlyRootFs, true, `${service.name} read-only`);
            assert.deepEqual(service.capabilities, service.user === "root" ? rootStartedCapabilities(service.role) : []);
          }
        }
        assert.ok(!model.cors.origins.includes("*"));
        const proxies = proxiesOf(model);
        if (proxies.haproxy) {
          const cfg = plan.files["haproxy.cfg"]!;
          assert.match(cfg, new RegExp(`^\\s*maxconn ${model.limits.maxConnections}$`, "m"));
          assert.match(cfg, new RegExp(`sc0_conn_rate gt ${model.limits.connectionRatePerClient}\\b`));
          assert.match(cfg, new RegExp(`content-length\\) gt ${model.limits.maxMessageBytes}\\b`));
          assert.doesNotMatch(cfg, /bind [^\n]*:8404[^\n]*\n[\s\S]*bind :8404/, "one monitor bind");
          if (model.tls) assert.match(cfg, new RegExp(`Strict-Transport-Security "max-age=${model.tls.hstsMaxAgeSeconds}"`));
          if (model.tls?.terminator === "haproxy") assert.match(cfg, new RegExp(`ssl-min-ver ${model.tls.minVersion}`));
        }
        if (proxies.nginx) assert.match(plan.files["nginx.conf"]!, new RegExp(`client_max_body_size ${model.limits.maxMessageBytes};`));
        if (proxies.stunnel) assert.match(plan.files["stunnel.conf"]!, new RegExp(`sslVersionMin = ${model.tls!.minVersion}`));
        assert.match(plan.files["realtime.env"]!, new RegExp(`${model.limits.maxMessageBytes}`));
      }),
      { numRuns: 300 },
    );
  });

  it("any config broken in one place fails with exactly one ConfigError naming that field (500 runs)", () => {
    fc.assert(
      fc.property(brokenConfig(), ({ config, field, how }) => {
        let thrown: unknown = null;
        try {
          resolve(config);
        } catch (error) {
          thrown = error;
        }
        assert.ok(thrown instanceof ConfigError, `${how}: expected a ConfigError, got ${thrown === null ? "no error" : String((thrown as Error).stack ?? thrown)}`);
        assert.equal(thrown.field, field, `${how}: the error names ${thrown.field}: ${thrown.problem}`);
        assert.equal(thrown.message, `${field}: ${thrown.problem}`);
        assert.ok(thrown.problem.length > 10 && !thrown.problem.includes("\n"), `${how}: one clear line, got ${JSON.stringify(thrown.problem)}`);
        assert.doesNotMatch(thrown.problem, /Invalid input|undefined|\[object Object\]/, `${how}: ${thrown.problem}`);
      }),
      { numRuns: 500 },
    );
  });

  describe("realtime-kit generate", () => {
    const dir = useTempDir("rk-prop-", "test");

    /** Writes `config` as work/config.json and runs `generate` on it into work/out. */
    const generateFromFile = async (work: string, config: { topology?: unknown }) => {
      fs.mkdirSync(work);
      const file = path.join(work, "config.json");
      fs.writeFileSync(file, JSON.stringify(config));
      return generateInProcess(String(config.topology), file, path.join(work, "out"));
    };

    it("a broken config exits 2 with one line naming the field, and writes nothing (150 runs)", async () => {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(brokenConfig(), async ({ config, field, how }) => {
          const work = path.join(dir(), String(++run));
          const result = await generateFromFile(work, config);
          assert.equal(result.code, EXIT_BAD_INPUT, `${how}: exit ${result.code}\n${result.stderr}`);
          const lines = result.stderr.trim().split("\n");
          assert.equal(lines.length, 1, `${how}: one line of error, got:\n${result.stderr}`);
          assert.ok(lines[0]!.startsWith(`realtime-kit: invalid input: ${field}: `), `${how}: ${lines[0]}`);
          assert.equal(result.stdout, "");
          assert.deepEqual(fs.readdirSync(work), ["config.json"], `${how}: generate left files behind`);
        }),
        { numRuns: 150 },
      );
    });

    it("a valid config writes exactly the planned files (60 runs)", async () => {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(validConfig(), async (config) => {
          const work = path.join(dir(), String(++run));
          const result = await generateFromFile(work, config);
          assert.equal(result.code, 0, result.stderr);
          const plan = planDeployment(resolveModel(config, { baseDir: work }));
          assert.deepEqual(fs.readdirSync(path.join(work, "out")).sort(), Object.keys(plan.files).sort());
          for (const [name, text] of Object.entries(plan.files)) assert.equal(fs.readFileSync(path.join(work, "out", name), "utf8"), text, name);
        }),
        { numRuns: 60 },
      );
    });
  });

  it("the broken-config generator can tell a wrong field from the right one (self-check)", () => {
    // Guards the property above against passing vacuously: the field it expects must differ from what a valid config gives.
    const sample = fc.sample(brokenConfig(), { numRuns: 200, seed: 7 });
    assert.ok(new Set(sample.map((b) => b.field)).size >= 15, `breakers cover ${new Set(sample.map((b) => b.field)).size} fields`);
    for (const broken of sample.slice(0, 20)) assert.throws(() => resolve(broken.config), ConfigError);
  });
});

describe("free text that reaches a config file is held to the grammar of the program reading it", () => {
  /** Characters people type into paths, and those HAProxy's config parser treats specially. */
  const alphabet = fc.constantFrom(..."abcXYZ019-._~!&()*+,;=:@/?%#\"'\\$ {}é中\t".split(""), "${X}", "%2F", "%zz", "%4");
  const text = fc.array(alphabet, { minLength: 0, maxLength: 12 }).map((parts) => `/${parts.join("")}`);

  it("app.healthPath: refused with one error naming it, or written into haproxy.cfg as one plain token", () => {
    fc.assert(
      fc.property(text, (healthPath) => {
        let model: ReturnType<typeof resolve>;
        try {
          model = resolve({ topology: "multi-node", app: { healthPath } });
        } catch (error) {
          assert.ok(error instanceof ConfigError, String(error));
          assert.equal(error.field, "app.healthPath");
          return;
        }
        // Accepted: nothing HAProxy reads specially (comment, quote, escape, variable, whitespace), %-escapes well formed.
        assert.doesNotMatch(healthPath, /[#"'\\$\s{}]|[^\x21-\x7e]|%(?![0-9A-Fa-f]{2})/, `accepted ${JSON.stringify(healthPath)}`);
        const appBackend = planDeployment(model).files["haproxy.cfg"]!.split(/\nbackend /).find((section) => section.startsWith(`${HAPROXY_BACKENDS.app}\n`))!;
        const line = appBackend.split("\n").find((candidate) => candidate.trim().startsWith("http-check send"))!;
        assert.equal(line.trim(), `http-check send meth GET uri ${healthPath}`);
      }),
      { numRuns: 500, seed: 15 },
    );
  });

  it("accepts the paths health routes really have", () => {
    for (const healthPath of ["/ping", "/up", "/health/live", "/status?verbose=1", "/api/v1/health-check", "/%7Euser/ok", "/a(b)*c;d=e:f@g"]) {
      assert.equal(resolve({ topology: "multi-node", app: { healthPath } }).app!.healthPath, healthPath);
    }
  });
});
