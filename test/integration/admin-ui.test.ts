import assert from "node:assert/strict";
import type { Socket } from "socket.io-client";
import { httpRequest } from "../../driver/http";
import { whoami } from "../../driver/socket-client";
import { waitFor } from "../../driver/wait";
import { INTERNAL_PORTS } from "../../model/layout";
import { ADMIN_UI_PASSWORD_HASH_VARIABLE } from "../../plan/secrets";
import { client, connectedClient, publishedPorts } from "./clients";
import { useTopology } from "./helpers";

/** What @socket.io/admin-ui's server_stats event carries (of what is checked here). */
interface ServerStats {
  serverId: string;
  namespaces: { name: string; socketsCount: number }[];
}

/**
 * @socket.io/admin-ui (adminUi.enabled) over multi-node: the UI's own listener on realtime-1,
 * published on 127.0.0.1 only, with a password made for the run; through it the UI sees both
 * nodes (their stats reach it through the Redis adapter); the public entry refuses the namespace.
 */
describe("admin UI (adminUi.enabled) on multi-node", function () {
  this.timeout(120_000);
  const topology = useTopology("multi-node", ["adminUi.enabled=true", "adminUi.port=auto"]);
  const adminUrl = () => `http://127.0.0.1:${topology.t.model.adminUi!.port}`;
  const credentials = () => ({ username: topology.t.model.adminUi!.username, password: topology.t.adminUiPassword! });

  it("is published by realtime-1 alone, on 127.0.0.1 only; its pages and every asset they load answer there", async () => {
    const t = topology.t;
    const admin = (await publishedPorts(t.runId)).filter((port) => port.containerPort === INTERNAL_PORTS.adminUi);
    assert.deepEqual(admin, [{ service: "realtime-1", hostIp: "127.0.0.1", hostPort: t.model.adminUi!.port, containerPort: INTERNAL_PORTS.adminUi }]);
    const page = await httpRequest(`${adminUrl()}/`);
    assert.equal(page.status, 200);
    const assets = [...page.body.matchAll(/(?:src|href)="?(\/?(?:js|css|img)\/[^"\s>]+|\/?favicon\.png)"?/g)].map((match) => match[1]!.replace(/^\/?/, "/"));
    assert.ok(assets.some((asset) => asset.endsWith(".js")), `the page loads the UI's scripts: ${page.body.slice(0, 300)}`);
    for (const asset of assets) assert.equal((await httpRequest(`${adminUrl()}${asset}`)).status, 200, asset);
    assert.equal((await httpRequest(`${adminUrl()}/../../etc/passwd`)).status, 404, "nothing outside the UI's files");
  });

  it("with the run's password the UI sees both nodes and their clients (through the adapter); a wrong password is refused", async () => {
    const t = topology.t;
    const perNode = new Map<string, number>();
    for (let i = 0; i < 8 && perNode.size < 2; i++) {
      const socket = await connectedClient({ url: t.urls.realtime, ca: t.ca ?? undefined, transports: ["websocket"] });
      const { node } = await whoami(socket);
      perNode.set(node, (perNode.get(node) ?? 0) + 1);
    }
    assert.deepEqual([...perNode.keys()].sort(), ["realtime-1", "realtime-2"], "clients on both nodes");

    await assert.rejects(connectedClient({ url: `${adminUrl()}/admin`, auth: { ...credentials(), password: "not-the-password" }, transports: ["websocket"] }), /invalid credentials/i);

    const admin = client({ url: `${adminUrl()}/admin`, auth: credentials(), transports: ["websocket"] });
    const config = new Promise<{ supportedFeatures: string[] }>((resolve) => admin.once("config", resolve));
    const latest = new Map<string, ServerStats>();
    admin.on("server_stats", (stats: ServerStats) => latest.set(stats.serverId, stats));
    const mainSockets = (node: string) => latest.get(node)?.namespaces.find((namespace) => namespace.name === "/")?.socketsCount;
    await waitFor(() => [...perNode].every(([node, count]) => mainSockets(node) === count), {
      timeoutMs: 10_000,
      what: `server_stats from both nodes counting ${JSON.stringify(Object.fromEntries(perNode))}, got ${JSON.stringify([...latest.values()])}`,
    });
    const { supportedFeatures } = await config;
    assert.ok(!supportedFeatures.includes("DISCONNECT"), `read-only by default: ${supportedFeatures.join(", ")}`);
  });

  it("the public entry refuses the admin namespace, even with the password", async () => {
    const t = topology.t;
    await assert.rejects(
      connectedClient({ url: `${t.urls.realtime}/admin`, ca: t.ca ?? undefined, auth: credentials(), transports: ["websocket"] }),
      /served on the admin UI's own port only/,
    );
    // The public namespace still works beside it.
    const socket: Socket = await connectedClient({ url: t.urls.realtime, ca: t.ca ?? undefined });
    assert.ok(socket.connected);
  });

  it("the nodes hold only the password's bcrypt hash; no log shows the password", async () => {
    const t = topology.t;
    const { password } = credentials();
    for (const node of ["realtime-1", "realtime-2"]) {
      const env = (await (await t.engineContainer(node)).inspect()).Config.Env ?? [];
      assert.ok(env.some((entry) => /^ADMIN_UI_PASSWORD_HASH=\$2b\$10\$/.test(entry)), `${node} has the hash (${ADMIN_UI_PASSWORD_HASH_VARIABLE})`);
      assert.ok(!env.some((entry) => entry.includes(password)), `${node}'s environment holds no password`);
    }
    for (const service of t.deployment.services) assert.ok(!(await t.logs(service.name)).includes(password), `${service.name}'s log shows the password`);
  });
});
