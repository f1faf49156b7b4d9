import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { docker } from "../../driver/engine";
import { httpRequest } from "../../driver/http";
import { freePorts } from "../../driver/ports";
import { queryByLabel } from "../../driver/prometheus";
import { deploymentContainers, readLogs } from "../../driver/logs";
import { readRuns } from "../../driver/runs";
import { waitFor } from "../../driver/wait";
import { DRIVER_LABEL, KIT_LABEL, LOCAL_DRIVER } from "../../model/labels";
import { runCli } from "../cli-process";
import { connectedClient } from "./clients";
import { REPO } from "./helpers";
import { useTempDir } from "../temp-dir";

async function harnessContainers(runId: string): Promise<number> {
  const filters = JSON.stringify({ label: [`${KIT_LABEL}=${runId}`, `${DRIVER_LABEL}=${LOCAL_DRIVER}`] });
  return (await docker.listContainers({ all: true, filters })).length;
}

describe("CLI: up, check, down", function () {
  // up and down keep their records in ./.realtime-kit of the folder they run in: a private
  // folder keeps `down` from touching a deployment someone started from the repository.
  const cwd = useTempDir("rk-cli-", "describe");
  /** `up single` on the given port, its stdout and stderr collected; `ready` gives the run id once it says it is up. */
  const startUp = (port: number, ...extra: string[]) => {
    const up = spawn(process.execPath, [path.join(REPO, "bin", "realtime-kit.js"), "up", "single", "--set", `ports.http=${port}`, ...extra], { cwd: cwd(), stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    up.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    up.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => up.on("close", (code) => resolve(code)));
    const upLine = /is up \(run (up-[0-9a-f]+)\)/;
    const ready = async () => {
      await waitFor(() => upLine.test(output), { timeoutMs: 90_000, what: `up to print its URLs (output so far: ${output})` });
      return upLine.exec(output)![1]!;
    };
    /** Stops it if a failed test left it running. */
    const stopped = async () => {
      if (up.exitCode === null) up.kill("SIGTERM");
      await exited;
    };
    return { up, output: () => output, exited, ready, stopped };
  };

  for (const command of ["up", "down", "check"]) {
    it(`\`${command} --help\` prints its usage and exits 0`, async function () {
      const result = await runCli([command, "--help"]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, new RegExp(`Usage: realtime-kit ${command}`));
    });
  }

  it("`up` fails with exit 2 naming ports.http when the port is taken, and leaves nothing behind", async function () {
    const [port] = await freePorts(1);
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(port, "0.0.0.0", () => resolve()));
    try {
      const result = await runCli(["up", "single", "--set", `ports.http=${port}`], { cwd: cwd() });
      assert.equal(result.code, 2, result.stdout + result.stderr);
      assert.match(result.stderr, new RegExp(`invalid input: ports\\.http: ${port} is already in use`));
      assert.deepEqual(readRuns(cwd()), []);
    } finally {
      blocker.close();
    }
  });

  it("`check` exits 2 on a bad URL and 1 when the deployment does not answer", async function () {
    const bad = await runCli(["check", "localhost:8080"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /invalid input: <url>/);
    const [port] = await freePorts(1);
    const dead = await runCli(["check", `http://localhost:${port}`, "--idle", "0"]);
    assert.equal(dead.code, 1, dead.stdout);
    assert.match(dead.stdout, /FAIL second stack/);
    assert.match(dead.stdout, /FAIL Socket\.IO handshake/);
    assert.equal(dead.stdout.match(/^skip \[kit server\] .*: skipped: no handshake, so whether the server is the kit's is unknown$/gm)?.length, 3, dead.stdout);
    assert.match(dead.stdout, /4 of 7 checks failed/);
  });

  it("`up single` prints its URLs and stays; `check` passes against it; `down` stops it and removes everything", async function () {
    const [port] = await freePorts(1);
    const { up, output, exited, ready, stopped } = startUp(port);
    try {
      const runId = await ready();
      assert.match(output(), new RegExp(`chat +http://localhost:${port}/chat/`));
      assert.ok(readRuns(cwd()).some((run) => run.runId === runId && run.pid === up.pid), "the run is recorded in .realtime-kit/runs");
      assert.equal(await harnessContainers(runId), 1);

      const check = await runCli(["check", `http://localhost:${port}`, "--no-app", "--idle", "1"]);
      assert.equal(check.code, 0, check.stdout + check.stderr);

      const down = await runCli(["down"], { cwd: cwd() });
      assert.equal(down.code, 0, down.stderr);
      assert.match(down.stdout, new RegExp(`${runId} \\(single\\): stopped`));
      assert.equal(await exited, 0, output());
      assert.match(output(), new RegExp(`removed 1 container\\(s\\), 1 network\\(s\\) and 0 volume\\(s\\) of ${runId}`));
      assert.equal(await harnessContainers(runId), 0);
      assert.ok(!readRuns(cwd()).some((run) => run.runId === runId), "the record is gone");
    } finally {
      await stopped();
    }
  });

  it("`up` removes everything on Ctrl-C (SIGINT)", async function () {
    const [port] = await freePorts(1);
    const { up, exited, ready, stopped } = startUp(port);
    try {
      const runId = await ready();
      up.kill("SIGINT");
      assert.equal(await exited, 0);
      assert.equal(await harnessContainers(runId), 0);
      const networks = await docker.listNetworks({ filters: JSON.stringify({ label: [`${KIT_LABEL}=${runId}`] }) });
      assert.equal(networks.length, 0);
    } finally {
      await stopped();
    }
  });

  it("`up --with-metrics` prints the Prometheus URL, published on 127.0.0.1 only even with --listen 0.0.0.0, scraping the node; its data volume goes with the run", async function () {
    const [port, metricsPort] = await freePorts(2);
    const { up, output, exited, ready, stopped } = startUp(port, "--with-metrics", "--set", `metrics.port=${metricsPort}`, "--set", "metrics.scrapeInterval=1s", "--listen", "0.0.0.0");
    try {
      const runId = await ready();
      const url = `http://127.0.0.1:${metricsPort}/`;
      assert.match(output(), new RegExp(`prometheus +${url.replace(/\./g, "\\.")} +Prometheus`));
      const filters = JSON.stringify({ label: [`${KIT_LABEL}=${runId}`] });
      const containers = await docker.listContainers({ filters });
      const bindings = (name: string) => containers.find((info) => info.Names.some((n) => n.endsWith(`-${name}`)))!.Ports.filter((p) => p.PublicPort !== undefined).map((p) => p.IP);
      assert.deepEqual(bindings("prometheus"), ["127.0.0.1"], "Prometheus is published on the loopback address only");
      assert.deepEqual(bindings("realtime-1"), ["0.0.0.0"], "the entry port follows --listen");
      await waitFor(async () => (await queryByLabel(url.slice(0, -1), "up", "service"))["realtime-1"] === 1, { timeoutMs: 30_000, intervalMs: 250, what: "Prometheus to scrape realtime-1" });
      // The web UI (Debian's classic one) and every script and stylesheet it loads: the image prunes Debian's JavaScript packages.
      const page = await httpRequest(`${url}classic/graph`);
      assert.equal(page.status, 200);
      const assets = [...page.body.matchAll(/(?:src|href)="(\/classic\/static\/[^"]+)"/g)].map((match) => match[1]!);
      assert.ok(assets.length >= 10, `only ${assets.length} assets on the page`);
      for (const asset of assets) assert.equal((await httpRequest(`${url}${asset.slice(1)}`)).status, 200, asset);
      const prometheusLines = await readLogs((await deploymentContainers(docker, runId)).filter((entry) => entry.service === "prometheus"));
      assert.ok(prometheusLines.length > 0);
      for (const line of prometheusLines) assert.equal(typeof line.fields?.level, "string", `Prometheus logs JSON: ${line.text}`);
      const volumes = (await docker.listVolumes({ filters })).Volumes ?? [];
      assert.ok(volumes.some((volume) => volume.Name.endsWith("-prometheus-data")), `no data volume among ${volumes.map((volume) => volume.Name).join(", ")}`);
      up.kill("SIGTERM");
      assert.equal(await exited, 0, output());
      assert.match(output(), new RegExp(`removed \\d+ container\\(s\\), 1 network\\(s\\) and ${volumes.length} volume\\(s\\) of ${runId}`));
      assert.equal((await docker.listVolumes({ filters })).Volumes?.length ?? 0, 0);
    } finally {
      await stopped();
    }
  });

  it("`up --with-admin-ui` writes the admin UI's password to a 0600 file of the run, never prints it, and removes it with the run", async function () {
    const [port, adminPort] = await freePorts(2);
    const { up, output, exited, ready, stopped } = startUp(port, "--with-admin-ui", "--set", `adminUi.port=${adminPort}`);
    try {
      await ready();
      const passwordFile = /admin UI +password in (\S+) \(user admin; server URL in the UI: http:\/\/127\.0\.0\.1:(\d+)\/admin\)/.exec(output());
      assert.ok(passwordFile, output());
      assert.equal(Number(passwordFile[2]), adminPort);
      const file = path.resolve(cwd(), passwordFile[1]!);
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
      const password = fs.readFileSync(file, "utf8").trim();
      assert.match(password, /^\S{16,}$/);
      assert.ok(!output().includes(password), "the password is not printed");
      const admin = await connectedClient({ url: `http://127.0.0.1:${adminPort}/admin`, auth: { username: "admin", password }, transports: ["websocket"] });
      admin.close();
      up.kill("SIGTERM");
      assert.equal(await exited, 0, output());
      assert.ok(!fs.existsSync(file), "removed with the run's files");
    } finally {
      await stopped();
    }
  });
});
