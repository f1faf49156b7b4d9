import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import fc from "fast-check";
import { planDeployment } from "../../render/deployment";
import { validateDirectory } from "../../driver/validate";
import { resolveModel } from "../../model/model";
import { validConfig } from "../unit/model-arbitraries";

/**
 * Property: any valid model yields configs the real programs accept. fast-check draws configs
 * from the schema's ranges (topology, node counts, stickiness, terminator, TLS version, ports,
 * timeouts, limits, hostnames, CORS origins, ...); each one's generated haproxy.cfg, nginx.conf
 * and stunnel.conf go through `haproxy -c`, `nginx -t` and a real stunnel start in the kit's
 * images (driver/validate.ts: warnings count as failures). A failure prints the shrunk config.
 */

const RUNS = Number(process.env.RK_PROPERTY_RUNS ?? 20);
/** Fixed unless asked otherwise, so a CI failure is reproducible; RK_PROPERTY_SEED explores. */
const SEED = Number(process.env.RK_PROPERTY_SEED ?? 4242);

describe(`generated configs of arbitrary valid models pass the real programs (${RUNS} runs, seed ${SEED})`, function () {
  this.timeout(RUNS * 60_000);
  let root: string;
  before(() => (root = fs.mkdtempSync(path.join(os.tmpdir(), "rk-prop-validate-"))));
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it("haproxy -c, nginx -t and stunnel accept every generated file, without a warning", async function () {
    // Topologies that generate something to check (node-proxy with Node in front runs no proxy).
    const withProxies = validConfig(["node-proxy", "ssl-split", "multi-node"]).filter((config) => config.topology !== "node-proxy" || config.front === "haproxy");
    let run = 0;
    const started = Date.now();
    const checked: Record<string, number> = {};
    await fc.assert(
      fc.asyncProperty(withProxies, async (config) => {
        const dir = path.join(root, String(++run));
        fs.mkdirSync(dir);
        const plan = planDeployment(resolveModel(config, { baseDir: dir }));
        for (const [name, text] of Object.entries(plan.files)) fs.writeFileSync(path.join(dir, name), text!);
        const results = await validateDirectory(dir);
        assert.ok(results.length > 0, "nothing was validated");
        for (const result of results) {
          checked[result.program] = (checked[result.program] ?? 0) + 1;
          assert.ok(result.ok, `${result.program} rejected ${result.file} of ${JSON.stringify(config)}:\n${result.output.slice(-3000)}`);
        }
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
    process.stdout.write(`      ${run} configs validated in ${((Date.now() - started) / 1000).toFixed(1)} s: ${JSON.stringify(checked)}\n`);
  });
});
