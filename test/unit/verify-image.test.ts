import assert from "node:assert/strict";
import { foreignImages, serviceForImage } from "../../driver/verify-image";
import { ConfigError } from "../../model/errors";
import { loadModel } from "../../model/load";

describe("the contract check picks the images that are not the kit's", () => {
  it("none for the kit's own images", () => {
    assert.deepEqual(foreignImages(loadModel({ topology: "multi-node" })), []);
  });

  it("the first node of each pool that runs an image of one's own, with the environment the kit gives it", () => {
    const model = loadModel({ topology: "multi-node", sets: ["realtime.image=myorg/poll:1", "app.image=myorg/api:2", "app.healthPath=/health"] });
    const [realtime, app] = foreignImages(model);
    assert.equal(realtime!.name, "realtime-1");
    assert.equal(realtime!.image, "myorg/poll:1");
    assert.equal(realtime!.env.SESSION_ID_PREFIX, "realtime-1");
    assert.equal(realtime!.env.HEALTH_PATH, "/healthz");
    assert.match(realtime!.env.REDIS_URL!, /^redis:\/\/redis:6379$/);
    assert.equal(app!.name, "app-1");
    assert.equal(app!.env.HEALTH_PATH, "/health");
    assert.equal(foreignImages(loadModel({ topology: "ssl-split", sets: ["app.image=myorg/api:2"] })).map((service) => service.name).join(), "app-1");
  });

  it("verify-image --role app for a topology with no second stack is bad input naming --role", () => {
    assert.throws(() => serviceForImage(loadModel({ topology: "single" }), "app", "myorg/api:2"), (error: unknown) => error instanceof ConfigError && error.field === "--role");
  });
});
