import assert from "node:assert/strict";
import { runOneShot } from "../../driver/engine";
import { IMAGE_NAMES } from "../../model/layout";

/**
 * The chat history a node keeps for itself (when Redis does not answer, or in topologies without
 * Redis), run inside the realtime image: the built code, not a copy.
 */
async function localHistory(size: number, messages: number): Promise<unknown[]> {
  const script = `
    const { ChatHistory } = require("/app/dist/chat.js");
    const history = new ChatHistory(null, ${size});
    for (let i = 0; i < ${messages}; i++) history.remember({ id: String(i), text: String(i), node: "test", at: i });
    history.current().then((kept) => console.log(JSON.stringify(kept)));
  `;
  const { exitCode, output } = await runOneShot({
    image: `${IMAGE_NAMES.realtime}:latest`,
    cmd: ["node", "-e", script],
    owner: "rk-test-history",
  });
  assert.equal(exitCode, 0, output);
  const line = output.split("\n").find((text) => text.startsWith("["));
  assert.ok(line, `no history printed:\n${output}`);
  return JSON.parse(line) as unknown[];
}

describe("realtime image: the history a node keeps (HISTORY_SIZE)", function () {
  this.timeout(60_000);

  it("keeps the newest HISTORY_SIZE messages", async () => {
    const kept = (await localHistory(3, 10)) as { text: string }[];
    assert.deepEqual(
      kept.map((message) => message.text),
      ["7", "8", "9"],
    );
  });

  it("keeps nothing with HISTORY_SIZE=0 (history off)", async () => {
    assert.deepEqual(await localHistory(0, 10), []);
  });
});
