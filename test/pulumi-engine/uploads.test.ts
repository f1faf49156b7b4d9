import assert from "node:assert/strict";
import crypto from "node:crypto";
import { docker, removeByLabel } from "../../driver/engine";
import { IMAGE_NAMES } from "../../model/layout";
import { KIT_LABEL } from "../../model/labels";
import { CONTAINER } from "./provider/container";
import type { Applied } from "./provider/engine";
import { targetFor } from "./provider/provider";
import { VOLUME } from "./provider/volume";

/**
 * Why the kit fills volumes through seed containers: the docker provider copies each `uploads`
 * entry as a tar of the file's full path to "/", and Docker refuses that copy into a container
 * whose root is read-only even when the file's folder is a volume. Before the seeds, the Pulumi
 * program put its uploads on the confined containers themselves, and `pulumi up` stopped with
 * "Unable to upload volume content" for HAProxy, nginx and stunnel (the applied program failed
 * exactly so on the previous stacks/).
 */
describe("the provider's uploads and a read-only container (the Docker behaviour the seeds answer)", function () {
  this.timeout(60_000);
  const owner = `pe-up-${crypto.randomBytes(3).toString("hex")}`;
  const image = `${IMAGE_NAMES.haproxy}:latest`;
  const labels = [{ label: KIT_LABEL, value: owner }];
  const upload = { file: "/etc/realtime-kit/haproxy.cfg", content: "# a config\n", permissions: "0644", owner: "0", group: "0" };

  // The default provider's: this machine's engine.
  const local = targetFor(undefined, []);
  after(() => removeByLabel(owner));

  it("is refused for a read-only container, even with the file's folder as a volume", async () => {
    await assert.rejects(
      CONTAINER.create(docker, { name: `${owner}-confined`, image, readOnly: true, volumes: [{ containerPath: "/etc/realtime-kit" }], uploads: [upload], start: false, labels }, local),
      /Unable to upload volume content: .*container rootfs is marked read-only/,
    );
  });

  it("is accepted by a seed (writable, never started) into a named volume that a read-only service then reads", async () => {
    const volume = await VOLUME.create(docker, { name: `${owner}-config`, labels }, local);
    const seed = await CONTAINER.create(docker, {
      name: `${owner}-seed`,
      image,
      start: false,
      mustRun: false,
      networkMode: "none",
      mounts: [{ type: "volume", source: volume.outputs.name, target: "/etc/realtime-kit" }],
      uploads: [upload, { file: "/etc/realtime-kit/tls/server.pem.key", content: "not a key\n", permissions: "0600", owner: "0", group: "0" }],
      labels,
    }, local);
    assert.equal((await docker.getContainer(seed.id).inspect()).State.Status, "created");
    const reader = await docker.createContainer({
      Image: image,
      User: "root",
      Cmd: ["bash", "-c", "cat /etc/realtime-kit/haproxy.cfg; stat -c '%a %u:%g' /etc/realtime-kit/tls/server.pem.key; touch /etc/realtime-kit/x 2>&1 || true"],
      Labels: { [KIT_LABEL]: owner },
      HostConfig: { ReadonlyRootfs: true, CapDrop: ["ALL"], NetworkMode: "none", Mounts: [{ Type: "volume", Source: volume.outputs.name, Target: "/etc/realtime-kit", ReadOnly: true }] },
    });
    await reader.start();
    await reader.wait();
    const output = (await reader.logs({ stdout: true, stderr: true })).toString("utf8");
    assert.match(output, /# a config/);
    assert.match(output, /600 0:0/, "the key is root-owned and 0600");
    assert.match(output, /Read-only file system/, "the service cannot change what it was given");
    await CONTAINER.delete(docker, { id: seed.id, inputs: {}, outputs: {}, type: "", name: "", engine: docker } as Applied);
  });
});
