import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { useTempDir } from "../temp-dir";

const BIN = path.resolve(__dirname, "../../bin/realtime-kit.js");

function kit(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 30_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("realtime-kit command", function () {
  this.timeout(60_000);
  const dir = useTempDir("rk-cli-", "test");

  it("lists the four topologies, one line each", () => {
    const { status, stdout } = kit("topologies");
    assert.equal(status, 0);
    assert.deepEqual(
      stdout.trim().split("\n").map((line) => line.split(/\s+/)[0]),
      ["single", "node-proxy", "ssl-split", "multi-node"],
    );
  });

  it("has --help on every command", () => {
    for (const command of ["topologies", "options", "generate", "validate"]) {
      const { status, stdout } = kit(command, "--help");
      assert.equal(status, 0, command);
      assert.match(stdout, new RegExp(`Usage: realtime-kit ${command}`));
    }
  });

  it("generate writes exactly the files the topology needs", () => {
    const out = path.join(dir(), "out");
    const { status, stdout } = kit("generate", "ssl-split", "--out", out, "--set", "ports.https=8443");
    assert.equal(status, 0);
    assert.match(stdout, /wrote/);
    assert.deepEqual(fs.readdirSync(out).sort(), ["README.md", "haproxy.cfg", "nginx.conf", "realtime.env", "stunnel.conf"]);
    assert.match(fs.readFileSync(path.join(out, "nginx.conf"), "utf8"), /https:\/\/localhost:8443/);
  });

  it("regenerating into its own folder replaces files the new topology no longer needs", () => {
    const out = path.join(dir(), "out");
    assert.equal(kit("generate", "multi-node", "--out", out).status, 0);
    assert.equal(kit("generate", "single", "--out", out).status, 0);
    assert.deepEqual(fs.readdirSync(out).sort(), ["README.md", "realtime.env"]);
  });

  it("reads a config file", () => {
    const config = path.join(dir(), "deploy.yaml");
    fs.writeFileSync(config, "topology: multi-node\nrealtime:\n  nodes: 4\n");
    const out = path.join(dir(), "out");
    assert.equal(kit("generate", "multi-node", "--out", out, "--config", config).status, 0);
    assert.match(fs.readFileSync(path.join(out, "haproxy.cfg"), "utf8"), /server realtime-4 realtime-4:8080/);
  });

  const badInputs: [string, string[], RegExp][] = [
    ["unknown topology", ["generate", "mesh"], /topology: expected one of "single", "node-proxy", "ssl-split", "multi-node" \(got "mesh"\)/],
    ["option that does not fit", ["generate", "single", "--set", "realtime.nodes=2"], /realtime\.nodes: single runs exactly 1 realtime node/],
    ["port clash", ["generate", "multi-node", "--set", "ports.https=80"], /ports\.https: 80 is already used by ports\.http/],
    ["port out of range", ["generate", "single", "--set", "ports.http=0"], /ports\.http: expected a port number from 1 to 65535 \(got 0\)/],
    ["zero nodes", ["generate", "multi-node", "--set", "realtime.nodes=0"], /realtime\.nodes: at least 1 node/],
    ["missing certificate", ["generate", "ssl-split", "--set", "tls.certFile=/nonexistent/c.pem", "--set", "tls.keyFile=/nonexistent/k.pem"], /tls\.certFile: cannot read \/nonexistent\/c\.pem/],
    ["malformed value", ["generate", "single", "--set", "timeouts.client=soon"], /timeouts\.client: expected a duration/],
    ["a health path HAProxy would read as a comment", ["generate", "multi-node", "--set", "app.healthPath=/a#b"], /app\.healthPath: expected a path starting with \/ .*# quotes \\ \$ and spaces are not allowed \(got "\/a#b"\)/],
    ["a health path with a quote", ["generate", "multi-node", "--set", `app.healthPath=/a"b`], /app\.healthPath: expected a path/],
    ["a health path with a broken %-escape", ["generate", "multi-node", "--set", "app.healthPath=/a%zz"], /app\.healthPath: expected a path/],
    ["a realtime health path with a space", ["generate", "multi-node", "--set", "realtime.healthPath=/a b"], /realtime\.healthPath: expected a path/],
    ["a timeout beyond HAProxy's timer maximum", ["generate", "multi-node", "--set", "timeouts.tunnel=30d"], /timeouts\.tunnel: expected a duration from 100ms to 24d/],
    ["a timeout in milliseconds beyond it", ["generate", "multi-node", "--set", "timeouts.client=9999999999999"], /timeouts\.client: expected a duration from 100ms to 24d, .* \(got 9999999999999\)/],
    ["a check interval of 1 ms", ["generate", "multi-node", "--set", "timeouts.healthCheckInterval=1ms"], /timeouts\.healthCheckInterval: expected a duration from 100ms to 24d, .* \(got "1ms"\)/],
    ["a ping interval beyond any timer", ["generate", "multi-node", "--set", "realtime.pingInterval=1e21"], /realtime\.pingInterval: expected a duration from 100ms to 24d/],
    ["a port in hexadecimal", ["generate", "single", "--set", "ports.http=0x50"], /ports\.http: 0x50 is not a decimal number \(YAML reads it as 80\); write the number in decimal, e\.g\. 80/],
    ["a port with a leading zero", ["generate", "single", "--set", "ports.http=080"], /ports\.http: 080 is not a decimal number/],
    ["the same --set key twice", ["generate", "single", "--set", "ports.http=81", "--set", "ports.http=82"], /ports\.http: is set twice with --set \(ports\.http=81, then ports\.http=82\); give it once/],
    ["a --set value cut by a YAML comment", ["generate", "multi-node", "--set", "app.healthPath=/up #now"], /app\.healthPath: .* which YAML reads as the start of a comment/],
    ["a limit out of range", ["generate", "multi-node", "--set", "limits.maxConnections=5"], /limits\.maxConnections: expected a whole number of connections from 100 to 1000000 \(got 5\)/],
    ["--validate where nothing is validated", ["generate", "single", "--validate"], /--validate: single generates no haproxy\.cfg, nginx\.conf, stunnel\.conf or prometheus\.yml/],
  ];
  for (const [name, args, message] of badInputs) {
    it(`bad input (${name}): one clear error, exit 2, nothing written`, () => {
      const out = path.join(dir(), "out");
      const { status, stderr, stdout } = kit(...args, "--out", out);
      assert.equal(status, 2, stderr);
      assert.match(stderr, message);
      assert.equal(stderr.trim().split("\n").length, 1, `more than one line: ${stderr}`);
      assert.equal(stdout, "");
      assert.equal(fs.existsSync(out), false);
      assert.deepEqual(fs.readdirSync(dir()), [], "no staging folder left behind");
    });
  }

  it("an output folder that cannot be created (under a file, in /proc, in /sys): one line naming --out, exit 2, nothing left", () => {
    const file = path.join(dir(), "a-file");
    fs.writeFileSync(file, "");
    for (const out of [path.join(file, "out"), path.join(file, "deeper", "out"), "/proc/realtime-kit-out", "/sys/realtime-kit-out"]) {
      const { status, stderr, stdout } = kit("generate", "single", "--out", out);
      assert.equal(status, 2, `${out}: ${stderr}`);
      assert.match(stderr, new RegExp(`^realtime-kit: invalid input: --out: cannot create ${out.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\(.+\\); choose a folder you can write`));
      assert.equal(stderr.trim().split("\n").length, 1, stderr);
      assert.equal(stdout, "");
    }
    assert.deepEqual(fs.readdirSync(dir()), ["a-file"], "nothing written beside it");
  });

  // A bad config file: generate exits 2 with an error that names the problem, and writes nothing.
  const badConfigFiles = [
    { title: "a config file with a number in hexadecimal names the field", yaml: "topology: single\nports:\n  http: 0x50\n", error: /ports\.http: 0x50 is not a decimal number \(YAML reads it as 80\)/ },
    { title: "bad input: malformed config file", yaml: "topology: single\n  realtime: [\n", error: /--config: .*deploy\.yaml is not valid YAML/ },
  ];
  for (const { title, yaml, error } of badConfigFiles) {
    it(title, () => {
      const config = path.join(dir(), "deploy.yaml");
      fs.writeFileSync(config, yaml);
      const out = path.join(dir(), "out");
      const { status, stderr } = kit("generate", "single", "--out", out, "--config", config);
      assert.equal(status, 2);
      assert.match(stderr, error);
      assert.equal(fs.existsSync(out), false);
    });
  }

  it("refuses to write into a folder it did not create, and leaves it untouched", () => {
    const out = path.join(dir(), "mine");
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, "notes.txt"), "keep me");
    const { status, stderr } = kit("generate", "single", "--out", out);
    assert.equal(status, 2);
    assert.match(stderr, /--out: .* holds files realtime-kit did not write \(notes\.txt\)/);
    assert.deepEqual(fs.readdirSync(out), ["notes.txt"]);
  });

  it("usage errors exit 2", () => {
    assert.equal(kit("generate", "single").status, 2, "missing --out");
    assert.equal(kit("frobnicate").status, 2);
  });

  it("restart-realtime: a malformed --stop-timeout is one error naming it, before any engine is touched", () => {
    const { status, stderr } = kit("restart-realtime", "--run", "rk-none", "--stop-timeout", "ten");
    assert.equal(status, 2);
    assert.match(stderr.trim(), /^.*--stop-timeout: expected a whole number of seconds, e\.g\. --stop-timeout 10$/);
    assert.equal(stderr.trim().split("\n").length, 1, stderr);
  });

  it("prints the options reference from the schema", () => {
    const { status, stdout } = kit("options");
    assert.equal(status, 0);
    assert.match(stdout, /\| `realtime\.stickiness` \| `"session"` \|/);
    assert.match(stdout, /\| `timeouts\.tunnel` \| `"1h"` \|/);
  });
});
