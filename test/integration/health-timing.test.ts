import assert from "node:assert/strict";
import { docker, removeByLabel } from "../../driver/engine";
import { freePorts } from "../../driver/ports";
import type { RunningTopology } from "../../driver/running";
import { newRunId, startTopology } from "../../driver/start";
import { loadModel } from "../../model/load";

/**
 * What `up` leaves running: the images' own health-check timing (each check is a `docker exec`
 * costing the host about 0.1 s of CPU), yet ready as soon as the checks pass, not one interval later.
 */
describe("health checks of a deployment started with the default options", function () {
  this.timeout(120_000);
  const runId = newRunId("it");
  let t: RunningTopology;

  before(async () => {
    const [http] = await freePorts(1);
    t = await startTopology(loadModel({ topology: "single", sets: [`ports.http=${http}`] }), { runId });
  });
  after(() => removeByLabel(runId));

  it("keeps the image's HEALTHCHECK interval", async () => {
    const container = await t.engineContainer("realtime-1");
    const [info, image] = await Promise.all([container.inspect(), docker.getImage("realtime-kit/realtime:latest").inspect()]);
    const imageCheck = (image.Config as { Healthcheck?: { Interval?: number } }).Healthcheck;
    assert.equal(imageCheck?.Interval, 5e9, "the realtime image checks every 5 s");
    assert.equal(info.Config.Healthcheck?.Interval ?? imageCheck?.Interval, 5e9);
  });

  it("returns only once the service answers its health check", async () => {
    // startTopology ran the image's check itself: the node answers now, before Docker's first check.
    const response = await fetch(`${t.urls.http}/healthz`);
    assert.equal(response.status, 200);
  });

  it("lets Docker report the container healthy by its own schedule", async () => {
    const container = await t.engineContainer("realtime-1");
    const deadline = Date.now() + 30_000;
    let status = "";
    while (Date.now() < deadline) {
      status = (await container.inspect()).State.Health?.Status ?? "none";
      if (status === "healthy") break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    assert.equal(status, "healthy");
  });
});
