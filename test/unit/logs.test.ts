import assert from "node:assert/strict";
import type Docker from "dockerode";
import { formatLine, jsonLine, readLogs, selectServices, type ServiceContainer } from "../../driver/logs";
import { ConfigError } from "../../model/errors";

/** One frame of Docker's multiplexed log stream: stream type 1 (stdout) or 2 (stderr), length, payload. */
function frame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text, "utf8");
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

function fakeContainer(service: string, raw: Buffer): ServiceContainer {
  return { service, container: { logs: async () => raw } as unknown as Docker.Container };
}

describe("realtime-kit logs: reading Docker's log streams", () => {
  it("splits frames into lines (a line may span frames), keeps stdout and stderr apart, parses JSON objects, keeps other text (an image of one's own may write it) and merges services in time order", async () => {
    const haproxy = fakeContainer(
      "haproxy",
      Buffer.concat([
        frame(1, '2026-12-03T10:00:00.200000000Z {"server":"realtime-1","sta'),
        frame(2, "2026-12-03T10:00:00.300000000Z [WARNING] Server realtime_pool/realtime-2 is DOWN\n"),
        frame(1, 'tus":101}\n2026-12-03T10:00:00.400000000Z not json {\n'),
      ]),
    );
    const node = fakeContainer("realtime-1", frame(1, '2026-12-03T10:00:00.250000000Z {"msg":"connected","sid":"realtime-1.abc"}\n2026-12-03T10:00:00.500000000Z [1,2]\n'));
    const lines = await readLogs([haproxy, node]);
    assert.deepEqual(
      lines.map((line) => [line.service, line.at.slice(17, 23), line.stream, line.fields]),
      [
        ["haproxy", "00.200", "stdout", { server: "realtime-1", status: 101 }],
        ["realtime-1", "00.250", "stdout", { msg: "connected", sid: "realtime-1.abc" }],
        ["haproxy", "00.300", "stderr", null],
        ["haproxy", "00.400", "stdout", null],
        ["realtime-1", "00.500", "stdout", null],
      ],
    );
    assert.equal(formatLine(lines[2]!, 10), "haproxy     10:00:00.300  [WARNING] Server realtime_pool/realtime-2 is DOWN");
    assert.deepEqual(JSON.parse(jsonLine(lines[0]!)), { service: "haproxy", at: "2026-12-03T10:00:00.200000000Z", stream: "stdout", server: "realtime-1", status: 101 });
    assert.deepEqual(JSON.parse(jsonLine(lines[3]!)), { service: "haproxy", at: "2026-12-03T10:00:00.400000000Z", stream: "stdout", msg: "not json {" });
  });

  it("selects a service, a pool by its prefix, or every service; an unknown one is bad input naming the services", () => {
    const all = ["app-1", "haproxy", "realtime-1", "realtime-2"].map((service) => fakeContainer(service, Buffer.alloc(0)));
    assert.deepEqual(selectServices(all, "realtime", "rk-1").map((entry) => entry.service), ["realtime-1", "realtime-2"]);
    assert.deepEqual(selectServices(all, "realtime-2", "rk-1").map((entry) => entry.service), ["realtime-2"]);
    assert.equal(selectServices(all, undefined, "rk-1").length, 4);
    assert.throws(() => selectServices(all, "redis", "rk-1"), (error: ConfigError) => error.field === "service" && /has no service "redis"; its services are app-1, haproxy, realtime-1, realtime-2/.test(error.message));
    assert.throws(() => selectServices([], undefined, "rk-9"), (error: ConfigError) => error.field === "--deployment" && /io\.realtime-kit\.deployment=rk-9/.test(error.message));
  });
});
