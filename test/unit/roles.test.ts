import assert from "node:assert/strict";
import { planDeployment } from "../../render/deployment";
import { type ServiceSpec } from "../../plan/services";
import type { ImageName } from "../../model/layout";
import { resolveModel } from "../../model/model";
import type { ConfigInput } from "../../model/schema";
import { deploymentParts } from "../../plan/roles";

const servicesOf = (input: ConfigInput): ServiceSpec[] => planDeployment(resolveModel(input, { baseDir: "/srv" })).services;
const names = (services: ServiceSpec[]) => services.map((service) => service.name);

describe("plan roles: the deployment's parts both drivers place", () => {
  it("groups known roles into redis, realtime, app, edge and monitoring, in start order, each part in plan order", () => {
    const parts = deploymentParts(servicesOf({ topology: "multi-node", metrics: { prometheus: true } }));
    assert.deepEqual(Object.keys(parts), ["redis", "realtime", "app", "edge", "monitoring"]);
    assert.deepEqual(
      Object.values(parts).map(names),
      [["redis"], ["realtime-1", "realtime-2"], ["app-1", "app-2"], ["haproxy", "stunnel"], ["prometheus"]],
    );
    assert.deepEqual(deploymentParts(servicesOf({ topology: "multi-node" })).monitoring, []);
    assert.deepEqual(names(deploymentParts(servicesOf({ topology: "ssl-split" })).edge), ["nginx", "haproxy", "stunnel"]);
  });

  it("places every service of every topology exactly once", () => {
    const topologies = [{ topology: "single" }, { topology: "node-proxy" }, { topology: "ssl-split" }, { topology: "multi-node" }] as ConfigInput[];
    for (const input of [...topologies, ...topologies.map((base) => ({ ...base, metrics: { prometheus: true } }))]) {
      const services = servicesOf(input);
      const placed = Object.values(deploymentParts(services)).flat();
      assert.deepEqual(names(placed).sort(), names(services).sort(), input.topology);
    }
  });

  it("keeps empty parts for roles a topology does not have", () => {
    const parts = deploymentParts(servicesOf({ topology: "single" }));
    assert.deepEqual(parts.redis, []);
    assert.deepEqual(parts.edge, []);
    assert.ok(parts.realtime.length > 0);
  });

  it("throws for a role no driver knows, naming the service and the role", () => {
    const [first, ...rest] = servicesOf({ topology: "multi-node" });
    const stray: ServiceSpec = { ...first!, name: "memcached-1", role: "memcached" as ImageName };
    assert.throws(
      () => deploymentParts([...rest, stray]),
      (error: Error) => {
        assert.equal(error.message, "planned service memcached-1 has role memcached, which no driver can place; add it to plan/roles.ts");
        return true;
      },
    );
  });
});
