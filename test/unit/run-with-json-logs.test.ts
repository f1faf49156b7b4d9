import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import path from "node:path";

/** The runner every kit image starts as PID 1 (the copies are identical, see images.test.ts); Debian's perl runs it here as in the images. */
const RUNNER = path.resolve(__dirname, "../../images/redis/run-with-json-logs");

function run(program: string, script: string, ...args: string[]): { status: number | null; stdout: Array<Record<string, unknown>>; stderr: Array<Record<string, unknown>> } {
  const result = spawnSync("perl", [RUNNER, "--program", program, "--", "bash", "-c", script, "bash", ...args], { encoding: "utf8", timeout: 10_000 });
  const parse = (text: string) => text.split("\n").filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
  return { status: result.status, stdout: parse(result.stdout), stderr: parse(result.stderr) };
}

/** The fields a line became, without `t` (the time the runner read it), after checking `t`'s form. */
function withoutTime(fields: Record<string, unknown>): Record<string, unknown> {
  const { t, ...rest } = fields;
  if (t !== undefined) assert.match(String(t), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
  return rest;
}

describe("run-with-json-logs: every line an image's program prints becomes one JSON object", () => {
  it("reads the lines of Redis, stunnel, nginx's error log and HAProxy's notices into a level and a msg (lines these programs wrote)", () => {
    const cases: Array<[string, string, Record<string, unknown>]> = [
      ["redis", "1:C 04 Dec 2026 12:54:30.169 # oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo", { level: "warning", msg: "oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo", pid: 1, role: "child" }],
      ["redis", "1:M 04 Dec 2026 12:54:30.173 * Ready to accept connections", { level: "notice", msg: "Ready to accept connections", pid: 1, role: "master" }],
      ["redis", "1:signal-handler (1796388872) Received SIGTERM scheduling shutdown...", { level: "warning", msg: "Received SIGTERM scheduling shutdown...", pid: 1 }],
      ["stunnel", "2026.12.04 12:52:54 LOG5[ui]: Configuration successful", { level: "notice", msg: "Configuration successful", thread: "ui" }],
      ["stunnel", "2026.12.04 12:52:54 LOG3[ui]: No trusted certificates found", { level: "err", msg: "No trusted certificates found", thread: "ui" }],
      ["stunnel", "2026.12.04 12:52:54 LOG5[0]: Service [https] accepted connection from 127.0.0.1:56404", { level: "notice", msg: "Service [https] accepted connection from 127.0.0.1:56404", thread: "0" }],
      [
        "nginx",
        "2026/12/04 12:52:54 [error] 22#22: *5 connect() failed (111: Connection refused) while connecting to upstream, client: 172.28.0.6",
        { level: "error", msg: "connect() failed (111: Connection refused) while connecting to upstream, client: 172.28.0.6", pid: 22, connection: 5 },
      ],
      ["nginx", '2026/12/04 12:52:50 [notice] 1#1: using the "epoll" event method', { level: "notice", msg: 'using the "epoll" event method', pid: 1 }],
      ["nginx", 'nginx: [emerg] unknown directive "lisen" in /etc/realtime-kit/nginx.conf:12', { level: "emerg", msg: 'unknown directive "lisen" in /etc/realtime-kit/nginx.conf:12' }],
      ["haproxy", "[NOTICE]   (1) : New worker (13) forked", { level: "notice", msg: "New worker (13) forked", pid: 1 }],
      ["haproxy", "[WARNING]  (13) : Server realtime_pool/realtime-2 is DOWN, reason: Layer4 connection problem", { level: "warning", msg: "Server realtime_pool/realtime-2 is DOWN, reason: Layer4 connection problem", pid: 13 }],
    ];
    for (const [program, line, fields] of cases) {
      const result = run(program, `printf '%s\\n' "$1"`, line);
      assert.deepEqual(result.stdout.map(withoutTime), [{ program, ...fields }], line);
    }
  });

  it("passes JSON lines unchanged, keeps stdout and stderr apart, levels other text by its stream, keeps non-UTF-8 text valid JSON and writes a last line without its newline", () => {
    const result = run("puma", `echo '{"msg":"already json","n":1}'; echo 'Puma starting in single mode...'; echo 'Read error: #<EOFError>' >&2; printf '\\377 not utf-8\\n\\n'; printf 'the last line'; exit 3`);
    assert.equal(result.status, 3, "the program's exit status");
    assert.deepEqual(result.stdout.map(withoutTime), [
      { msg: "already json", n: 1 },
      { program: "puma", level: "info", msg: "Puma starting in single mode..." },
      { program: "puma", level: "info", msg: "\u00ff not utf-8" },
      { program: "puma", level: "info", msg: "the last line" },
    ]);
    assert.deepEqual(result.stderr.map(withoutTime), [{ program: "puma", level: "error", msg: "Read error: #<EOFError>" }]);
  });

  it("passes signals on, writes what the program printed while stopping, and exits with its status (128 + n when signal n ended it)", async () => {
    const runner = spawn("perl", [RUNNER, "--program", "node", "--", "bash", "-c", `trap 'echo "stopping on USR1"; exit 7' USR1; echo ready; while :; do sleep 0.05; done`]);
    let stdout = "";
    runner.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => runner.on("exit", (code) => resolve(code)));
    const deadline = Date.now() + 10_000;
    while (!stdout.includes("ready") && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    runner.kill("SIGUSR1");
    assert.equal(await exited, 7);
    assert.deepEqual(stdout.trim().split("\n").map((line) => withoutTime(JSON.parse(line))).map((fields) => fields.msg), ["ready", "stopping on USR1"]);
    assert.equal(run("node", "kill -KILL $$").status, 137);
    assert.equal(run("node", "exec /nonexistent/program").status, 127);
  });

  it("does not wait for processes the program left behind that still hold its output open", () => {
    const started = Date.now();
    const result = run("haproxy", "sleep 30 & echo started a watcher; exit 0");
    assert.equal(result.status, 0);
    assert.deepEqual(result.stdout.map((fields) => fields.msg), ["started a watcher"]);
    assert.ok(Date.now() - started < 5_000, `returned after ${Date.now() - started} ms`);
    spawnSync("pkill", ["-f", "^sleep 30$"]);
  });

  it("refuses a call without --program or without a command", () => {
    for (const args of [["--", "true"], ["--program", "x", "--"], ["--colour", "x", "--", "true"]]) {
      const result = spawnSync("perl", [RUNNER, ...args], { encoding: "utf8" });
      assert.equal(result.status, 64, args.join(" "));
      assert.match(result.stderr, /run-with-json-logs/);
    }
  });
});
