import assert from "node:assert/strict";
import { createTestCertificates } from "../../driver/certs";
import { docker, logsOf } from "../../driver/engine";
import { tarArchive } from "../../driver/tar";
import { buildPeerImages, peerFiles, PEERS, type Peer } from "../../bench/peers";

/** The bench's peers (bench/peers.ts) are compared with the kit only if their programs accept them: checked here as the bench checks them before each start. */
const NODES = ["realtime-1:8080", "realtime-2:8080"];

/** Runs the peer's own check on these files, in its image, with the node names resolvable and no network. */
async function check(peer: Peer, files: { content: string; target: string; mode: number }[]): Promise<{ exitCode: number; output: string }> {
  const container = await docker.createContainer({
    Image: peer.image,
    User: "root",
    Cmd: peer.check,
    Labels: { "io.realtime-kit.test": "bench-peers" },
    HostConfig: { NetworkMode: "none", ExtraHosts: ["realtime-1:127.0.0.1", "realtime-2:127.0.0.1"] },
  });
  try {
    await container.putArchive(tarArchive(files.map((file) => ({ path: file.target.replace(/^\//, ""), content: file.content, mode: file.mode }))), { path: "/" });
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    return { exitCode: StatusCode, output: await logsOf(container) };
  } finally {
    await container.remove({ force: true });
  }
}

describe("bench peers: each configuration passes its own program's check", function () {
  this.timeout(300_000);
  let tls: { cert: string; key: string };

  before(async () => {
    await buildPeerImages(() => undefined);
    const made = await createTestCertificates(PEERS.map((peer) => peer.key));
    tls = { cert: made.cert, key: made.key };
  });

  for (const peer of PEERS) {
    it(`${peer.key}: \`${peer.check.join(" ")}\` accepts it, and refuses it with an unknown directive added`, async () => {
      const files = peerFiles(peer, NODES, tls);
      const accepted = await check(peer, files);
      assert.equal(accepted.exitCode, 0, accepted.output);
      // The check can fail: the same configuration with a directive no version of the program knows.
      const [config, ...rest] = files;
      const broken = `${config!.content}realtime_kit_unknown_directive on;\n`;
      const refused = await check(peer, [{ ...config!, content: broken }, ...rest]);
      assert.notEqual(refused.exitCode, 0, `${peer.key} accepted a broken configuration: ${refused.output}`);
    });
  }
});
