import assert from "node:assert/strict";
import { docker } from "../../driver/engine";
import { freePorts } from "../../driver/ports";
import { KIT_LABEL } from "../../model/labels";
import { runCli } from "../cli-process";
import { useTopology } from "./helpers";
import { checkPassesForOwnImages, voteAcrossNodes, voteOverBothTransports } from "./own-images/checks";
import { broken, buildBrokenImages, buildExamples, LIVE_POLL, OWN_IMAGE_SETS, STATUS_API } from "./own-images/images";

/** Labels (run ids) of everything the kit made on this engine whose id starts with `prefix`. */
async function leftovers(prefix: string): Promise<string[]> {
  const containers = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [KIT_LABEL] }) });
  const networks = await docker.listNetworks({ filters: JSON.stringify({ label: [KIT_LABEL] }) });
  return [...containers.map((c) => c.Labels[KIT_LABEL]!), ...networks.map((n) => n.Labels?.[KIT_LABEL] ?? "")].filter((id) => id.startsWith(prefix));
}

/**
 * Images that are not the kit's (own-images/images.ts): the examples deployed through the local
 * driver with real clients, and broken variants the contract check must refuse, each with its own
 * message.
 */
describe("your own images: the examples deployed, broken images refused", function () {
  before(async function () {
    this.timeout(900_000);
    await buildExamples();
    await buildBrokenImages();
  });

  describe("verify-image", function () {
    it("passes the example Socket.IO application (multi-node, session stickiness) and the example second stack", async function () {
      const realtime = await runCli(["verify-image", LIVE_POLL]);
      assert.equal(realtime.code, 0, realtime.stdout + realtime.stderr);
      for (const step of ["HEALTHCHECK", "starts and answers GET /healthz on PORT=8080", "Socket.IO handshake", "session ids begin with SESSION_ID_PREFIX", "a client connects, polls, upgrades to WebSocket", "stops within 10 s of SIGTERM"]) {
        assert.ok(realtime.stdout.includes(`ok   ${step}`), `${step}:\n${realtime.stdout}`);
      }
      const app = await runCli(["verify-image", STATUS_API, "--role", "app", "--set", "app.healthPath=/health"]);
      assert.equal(app.code, 0, app.stdout + app.stderr);
      assert.match(app.stdout, /ok {3}starts and answers GET \/health on PORT=3000/);
      assert.match(app.stdout, /ok {3}stops within 10 s of SIGTERM: exit 0/);
    });

    it("passes the example under cookie stickiness: it sets the cookie it is told to", async function () {
      const result = await runCli(["verify-image", LIVE_POLL, "--set", "realtime.stickiness=cookie", "--set", "realtime.cookieName=pollnode"]);
      assert.equal(result.code, 0, result.stdout + result.stderr);
      assert.match(result.stdout, /ok {3}sets the pollnode cookie \(realtime\.stickiness: cookie\): pollnode=/);
    });

    const refused: [string, string, RegExp][] = [
      ["an image that does not exist", "realtime-kit-example/not-there:1", /no image realtime-kit-example\/not-there:1 on this Docker engine: build it/],
      ["an image without a HEALTHCHECK", broken("no-healthcheck"), /the image has no HEALTHCHECK, and both drivers wait on it .*Add one that asks the health route/s],
      ["an image with no health route", broken("no-health-route"), /GET \/healthz answered 404; it must answer 200 once the node is ready/],
      ["a health route that answers 500", broken("health-500"), /GET \/healthz answered 500; it must answer 200/],
      ["a server that does not prefix its session ids", broken("no-session-prefix"), /does not begin with "realtime-1\.": HAProxy routes each session's requests by it/],
      ["a server that ignores SIGTERM", broken("ignores-sigterm"), /still running 1\d\.\d s after SIGTERM and was killed: on SIGTERM, fail the health route/],
    ];
    for (const [what, image, message] of refused) {
      it(`refuses ${what} with its own message, exit 2, and leaves nothing behind`, async function () {
        this.timeout(120_000);
        const result = await runCli(["verify-image", image]);
        assert.equal(result.code, 2, result.stdout + result.stderr);
        assert.match(result.stdout, message);
        assert.match(result.stderr, new RegExp(`^realtime-kit: invalid input: realtime\\.image: ${image.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} does not meet the contract`));
        assert.deepEqual(await leftovers("verify-"), []);
      });
    }

    it("`up` checks an image of one's own first: a broken one deploys nothing and exits 2", async function () {
      this.timeout(120_000);
      const [http, https] = await freePorts(2);
      const result = await runCli(["up", "multi-node", "--set", `ports.http=${http}`, "--set", `ports.https=${https}`, "--set", `realtime.image=${broken("health-500")}`]);
      assert.equal(result.code, 2, result.stdout + result.stderr);
      assert.match(result.stderr, /invalid input: realtime\.image: image realtime-kit-example\/broken:health-500 does not meet the kit's contract \(README: Your own images\): starts and answers GET \/healthz on PORT=8080: GET \/healthz answered 500/);
      assert.doesNotMatch(result.stdout, /starting multi-node/);
      assert.deepEqual(await leftovers("up-"), []);
      assert.deepEqual(await leftovers("verify-"), []);
    });
  });

  const deployments = [
    { topology: "multi-node", title: "multi-node: live-poll on 2 realtime nodes, status-api on 2 app nodes", vote: ["a vote on one node reaches a voter on the other, and voters are counted across nodes (Redis adapter)", voteAcrossNodes] },
    { topology: "ssl-split", title: "ssl-split: live-poll behind stunnel and HAProxy, status-api behind nginx", vote: ["clients vote over wss and over https long-polling", voteOverBothTransports] },
  ] as const;
  for (const { topology: name, title, vote } of deployments) {
    describe(title, function () {
      const topology = useTopology(name, OWN_IMAGE_SETS);

      it("`realtime-kit check` passes over https with the CA: every Socket.IO step; the kit-server probes skipped by name", async function () {
        await checkPassesForOwnImages(topology.t, topology.caFile);
      });

      it(vote[0], async function () {
        await vote[1](topology.t);
      });
    });
  }
});
