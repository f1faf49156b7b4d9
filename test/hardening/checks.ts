import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import WebSocket from "ws";
import { IMAGE_USERS } from "../../plan/hardening";
import { TLS12_CIPHERS, TLS13_CIPHERSUITES } from "../../render/tls";
import { fileVolumesOf } from "../../plan/volumes";
import { docker } from "../../driver/engine";
import { httpRequest, sendBody } from "../../driver/http";
import { canConnect } from "../../driver/ports";
import type { RunningTopology } from "../../driver/running";
import { request, whoami } from "../../driver/socket-client";
import { waitFor } from "../../driver/wait";
import { runRoundtrips } from "../../harness/client/agent";
import { startClientContainer } from "../../harness/client-containers";
import { KIT_LABEL } from "../../model/labels";
import { HEALTH_PATHS, INTERNAL_PORTS } from "../../model/layout";
import { burst, pollingManyRoundTrips, pollingSession, websocketOnlyRoundTrip } from "../integration/checks";
import { connectedClient, everyContainerHealthy, measure, publishedPorts } from "../integration/clients";
import { sendGarbage, type GarbageReport } from "./garbage";

// ------------------------------------------------------------------ confinement

interface ProcessInfo {
  pid: number;
  uid: number;
  /** Its parent's pid (the program is PID 1's child). */
  parent: number;
  command: string;
}

/** Every process of a container with its real uid, read from /proc inside it (the reading shell left out). */
async function processes(t: RunningTopology, service: string): Promise<ProcessInfo[]> {
  const script = 'for p in /proc/[0-9]*; do [ "${p#/proc/}" = "$$" ] && continue; s=$(awk \'/^Uid:/{u=$2} /^PPid:/{pp=$2} END{print u, pp}\' $p/status 2>/dev/null) || continue; [ -n "$s" ] && echo "${p#/proc/} $s $(tr "\\0" " " < $p/cmdline)"; done';
  const result = await t.exec(service, ["sh", "-c", script]);
  return result.stdout
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const [pid, uid, parent, ...command] = line.trim().split(" ");
      return { pid: Number(pid), uid: Number(uid), parent: Number(parent), command: command.join(" ") };
    })
    .filter((proc) => proc.command !== "" && !proc.command.startsWith("sh -c ") && !proc.command.startsWith("awk ") && !proc.command.startsWith("tr "));
}

export interface ConfinementRow {
  service: string;
  containerUser: string;
  programUids: number[];
  readOnly: boolean;
  tmpfs: string[];
  capAdd: string[];
}

/**
 * Every container runs as the plan says (docker inspect): read-only root, the plan's tmpfs,
 * every capability dropped but the plan's, no-new-privileges; the program's processes run
 * unprivileged (a root-started terminator keeps only its master as root); writing to / fails.
 */
export async function confinement(t: RunningTopology): Promise<ConfinementRow[]> {
  const rows: ConfinementRow[] = [];
  for (const spec of t.deployment.services) {
    const info = await docker.getContainer(t.container(spec.name).getId()).inspect();
    const host = info.HostConfig as typeof info.HostConfig & { Tmpfs?: Record<string, string>; ReadonlyRootfs?: boolean };
    assert.equal(host.ReadonlyRootfs, spec.readOnlyRootFs, `${spec.name}: ReadonlyRootfs`);
    assert.equal(spec.readOnlyRootFs, true, `${spec.name}: the kit's image runs read-only`);
    assert.deepEqual(host.Tmpfs ?? {}, spec.tmpfs, `${spec.name}: tmpfs`);
    assert.deepEqual(host.CapDrop, ["ALL"], `${spec.name}: CapDrop`);
    assert.deepEqual((host.CapAdd ?? []).map((cap: string) => cap.replace(/^CAP_/, "")).sort(), [...(spec.capabilities ?? [])].sort(), `${spec.name}: CapAdd`);
    assert.ok((host.SecurityOpt ?? []).includes("no-new-privileges:true"), `${spec.name}: no-new-privileges`);
    const mounts = (info.Mounts ?? []).filter((mount) => mount.Type === "volume").map((mount) => [mount.Destination, mount.RW]);
    const planned = [...fileVolumesOf(t.deployment, spec).map((files) => [files.target, false]), ...(spec.dataDir ? [[spec.dataDir, true]] : [])];
    assert.deepEqual(mounts.sort(), planned.sort(), `${spec.name}: its files' folders are volumes mounted read-only, its data folder (if any) a writable volume`);

    const write = await t.exec(spec.name, ["sh", "-c", "touch /probe-root 2>&1; touch /usr/probe 2>&1; true"]);
    assert.match(write.output, /Read-only file system[\s\S]*Read-only file system/, `${spec.name}: writing to / or /usr did not fail: ${write.output}`);
    for (const dir of Object.keys(spec.tmpfs)) {
      const mounted = await t.exec(spec.name, ["sh", "-c", `grep -E ' ${dir} tmpfs ' /proc/mounts`]);
      assert.equal(mounted.exitCode, 0, `${spec.name}: ${dir} is not a tmpfs`);
    }

    const procs = await processes(t, spec.name);
    assert.ok(procs.length > 0, `${spec.name}: no processes seen`);
    // PID 1 is the images' run-with-json-logs, which writes the program's lines as JSON and passes
    // signals on: it runs as the user the container starts as, and so does the config watcher of
    // the edge images (reload-on-change.sh and its `sleep`): in a root-started terminator it must
    // read the 0600 key to check a renewal. The program is PID 1's child (its master).
    const runner = procs.find((proc) => proc.pid === 1);
    assert.match(runner?.command ?? "", /^perl \/usr\/local\/lib\/realtime-kit\/run-with-json-logs --program /, `${spec.name}: PID 1`);
    const watcher = procs.filter((proc) => proc.pid !== 1 && /reload-on-change\.sh|^sleep \d+$/.test(proc.command));
    const program = procs.filter((proc) => proc.pid !== 1 && !/healthcheck|openssl|redis-cli|ruby -rnet|node -e/.test(proc.command) && !watcher.includes(proc));
    const master = program.find((proc) => proc.parent === 1);
    assert.ok(master, `${spec.name}: no program under PID 1: ${JSON.stringify(procs)}`);
    if (spec.user !== "root") assert.equal(runner!.uid, master.uid, `${spec.name}: PID 1 runs as the program's user`);
    const unprivileged = program.filter((proc) => proc.uid !== 0);
    if (["haproxy", "nginx", "stunnel", "prometheus"].includes(spec.role)) {
      assert.ok(watcher.some((proc) => /reload-on-change\.sh/.test(proc.command)), `${spec.name}: no config watcher: ${JSON.stringify(procs)}`);
      const expectedUid = runner!.uid;
      assert.ok(watcher.every((proc) => proc.uid === expectedUid), `${spec.name}: the watcher runs as uid ${expectedUid}: ${JSON.stringify(watcher)}`);
    }
    if (spec.user === "root") {
      // Started as root to read the key: the process that serves traffic must have dropped.
      assert.ok(unprivileged.length > 0, `${spec.name}: every process runs as root: ${JSON.stringify(procs)}`);
      assert.ok(program.filter((proc) => proc.uid === 0).every((proc) => proc === master), `${spec.name}: a root process besides the master: ${JSON.stringify(procs)}`);
    } else {
      assert.deepEqual([runner!, ...program].filter((proc) => proc.uid === 0), [], `${spec.name}: root processes`);
    }
    rows.push({
      service: spec.name,
      containerUser: info.Config.User || "(image default)",
      programUids: [...new Set(program.map((proc) => proc.uid))],
      readOnly: host.ReadonlyRootfs === true,
      tmpfs: Object.keys(spec.tmpfs),
      capAdd: spec.capabilities ?? [],
    });
    if (spec.role === "haproxy") {
      // The tmpfs owner in the plan is the image's haproxy user.
      const id = await t.exec(spec.name, ["sh", "-c", "id -u haproxy; id -g haproxy"]);
      assert.deepEqual(id.stdout.trim().split("\n").map(Number), [IMAGE_USERS.haproxy.uid, IMAGE_USERS.haproxy.gid], "IMAGE_USERS.haproxy matches the image");
    }
  }
  return rows;
}

// ------------------------------------------------------------------ ports

/**
 * From this machine only the entry ports answer: the engine publishes nothing else, and every
 * port any container listens on inside the network (exposed by its image, its service port, the
 * kit's internal ports) refuses connections on localhost. The control: the same internal ports
 * do answer inside the network, so the check is not vacuous.
 */
export async function onlyEntryPortsFromOutside(t: RunningTopology): Promise<{ entry: number[]; probed: number[] }> {
  // The deployment's Prometheus is for operators, on the loopback address like every port `up` publishes here.
  const entry = [t.model.ports.http, t.model.tls?.httpsPort ?? null, t.model.ports.realtime, t.model.prometheus?.port ?? null].filter((port): port is number => port !== null).sort();
  const published = await publishedPorts(t.runId);
  assert.deepEqual([...new Set(published.map((port) => port.hostPort))].sort(), entry, `published: ${JSON.stringify(published)}`);
  for (const port of published) assert.equal(port.hostIp, "127.0.0.1", `${port.service} publishes on ${port.hostIp}`);

  const internal = new Set<number>(Object.values(INTERNAL_PORTS));
  for (const spec of t.deployment.services) {
    internal.add(spec.port);
    const info = await docker.getContainer(t.container(spec.name).getId()).inspect();
    for (const key of Object.keys(info.Config.ExposedPorts ?? {})) internal.add(Number(key.split("/")[0]));
  }
  // Ports that other workloads on this engine publish are theirs, not a leak of this run.
  const others = new Set<number>();
  for (const info of await docker.listContainers()) {
    if (info.Labels?.[KIT_LABEL] === t.runId) continue;
    for (const port of info.Ports ?? []) if (port.PublicPort) others.add(port.PublicPort);
  }
  const probed: number[] = [];
  for (const port of [...internal].sort((a, b) => a - b)) {
    if (entry.includes(port) || others.has(port)) continue;
    probed.push(port);
    assert.equal(await canConnect(port), false, `localhost:${port} (an internal port of this deployment) accepts connections from outside`);
  }
  // Control: the internal ports are live inside the network (retried: a busy machine answers slowly).
  for (const spec of t.deployment.services) {
    if (spec.role === "redis" || spec.role === "stunnel") continue;
    const [port, route] =
      spec.role === "haproxy"
        ? [INTERNAL_PORTS.haproxyMonitor, "/healthz"]
        : spec.role === "app"
          ? [spec.port, t.model.app!.healthPath]
          : spec.role === "nginx"
            ? [spec.port, "/nginx-healthz"]
            : spec.role === "prometheus"
              ? [spec.port, HEALTH_PATHS.prometheus]
              : [spec.port, "/healthz"];
    await waitFor(async () => (await t.fetchInside(`http://${spec.name}:${port}${route}`).catch(() => ({ status: 0 }))).status === 200, {
      timeoutMs: 30_000,
      intervalMs: 1000,
      what: `${spec.name}:${port}${route} to answer inside the network (control)`,
    });
  }
  if (t.deployment.files["haproxy.cfg"]) {
    // The runtime API is a unix socket, the stats page on the unpublished monitor port.
    assert.match(t.deployment.files["haproxy.cfg"], /^\s*stats socket \/run\/haproxy\/admin\.sock /m);
    assert.doesNotMatch(t.deployment.files["haproxy.cfg"], /stats socket (ipv4@|ipv6@|[\d.]*:\d)/);
  }
  return { entry, probed };
}

// ------------------------------------------------------------------ CORS

/** The realtime endpoint's origin from this machine, and the page origin the model allows by default. */
function realtimeEndpoint(t: RunningTopology): { url: string; pageOrigin: string } {
  const pageOrigin = t.urls.https ?? t.urls.http;
  return { url: t.urls.realtime, pageOrigin };
}

/**
 * CORS is never `*`: by default the realtime server allows only the deployment's own page origin;
 * a foreign Origin is refused on polling (403, no CORS headers) and on the WebSocket upgrade.
 */
export async function corsDefaults(t: RunningTopology): Promise<void> {
  const { url, pageOrigin } = realtimeEndpoint(t);
  const ca = t.ca ?? undefined;
  assert.deepEqual(t.model.cors.origins, [pageOrigin.replace(/:(80|443)$/, "")], "the default CORS origin is the page's own");
  assert.equal(t.deployment.files["realtime.env"]!.match(/^CORS_ORIGINS=(.*)$/m)?.[1], pageOrigin);
  const handshake = `${url}/socket.io/?EIO=4&transport=polling`;
  const allowed = await httpRequest(handshake, { ca, headers: { Origin: pageOrigin } });
  assert.equal(allowed.status, 200, allowed.body);
  assert.equal(allowed.headers["access-control-allow-origin"], pageOrigin);
  for (const foreign of ["http://evil.example", "https://localhost.evil.example", "null", `${pageOrigin}.evil.example`]) {
    const refused = await httpRequest(handshake, { ca, headers: { Origin: foreign } });
    assert.equal(refused.status, 403, `Origin ${foreign} got ${refused.status}`);
    assert.equal(refused.headers["access-control-allow-origin"], undefined, `Origin ${foreign} got CORS headers`);
  }
  // Preflight from a foreign origin: no allow-origin, never "*".
  const preflight = await httpRequest(handshake, { ca, method: "OPTIONS", headers: { Origin: "http://evil.example", "Access-Control-Request-Method": "POST" } });
  assert.notEqual(preflight.headers["access-control-allow-origin"], "*");
  assert.notEqual(preflight.headers["access-control-allow-origin"], "http://evil.example");

  const wsUrl = `${url.replace(/^http/, "ws")}/socket.io/?EIO=4&transport=websocket`;
  assert.equal(await upgradeStatus(wsUrl, pageOrigin, ca), 101, "the page's origin upgrades");
  assert.equal(await upgradeStatus(wsUrl, "http://evil.example", ca), 403, "a foreign origin must not upgrade");
  // And Socket.IO's own client, over each transport.
  const socket = await connectedClient({ url, transports: ["websocket"], ca, extraHeaders: { Origin: pageOrigin } });
  assert.equal((await whoami(socket)).transport, "websocket");
}

function upgradeStatus(url: string, origin: string, ca: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { origin, ca, handshakeTimeout: 10_000 });
    ws.once("open", () => {
      ws.close();
      resolve(101);
    });
    ws.once("unexpected-response", (_request, response) => {
      resolve(response.statusCode ?? 0);
      ws.terminate();
    });
    ws.once("error", (error) => reject(error));
  });
}

// ------------------------------------------------------------------ request limits

export interface LimitReport {
  websocketOver: string;
  pollingOver: number[];
  httpBodyOver: Record<string, number>;
}

/**
 * limits.maxMessageBytes: a Socket.IO message over it is refused (WebSocket closed; a polling
 * POST answered 413, announced with Content-Length or sent chunked) while one under it goes
 * through; an HTTP body over it to the second stack is answered 413 and one under it arrives
 * whole. A reset or a timeout is not a refusal: every over-limit request must get its 413.
 * Bodies with a Content-Length ask first (Expect: 100-continue, as curl does for large bodies),
 * so the answer comes before the body. The realtime node stays healthy throughout.
 */
export async function requestLimits(t: RunningTopology): Promise<LimitReport> {
  const limit = t.model.limits.maxMessageBytes;
  const ca = t.ca ?? undefined;
  const url = t.urls.realtime;
  const report: LimitReport = { websocketOver: "", pollingOver: [], httpBodyOver: {} };

  // WebSocket: just under goes through; over closes the connection.
  const socket = await connectedClient({ url, transports: ["websocket"], ca });
  const under = "u".repeat(Math.floor(limit / 2));
  const echoed = await request<{ payload: { text: string } }>(socket, "echo", { text: under });
  assert.equal(echoed.payload.text.length, under.length, "a message under the limit is echoed");
  const closed = new Promise<string>((resolve) => socket.once("disconnect", (reason) => resolve(reason)));
  socket.emit("echo", { text: "o".repeat(limit * 2) });
  report.websocketOver = await Promise.race([closed, new Promise<string>((resolve) => setTimeout(() => resolve("still connected"), 15_000))]);
  assert.match(report.websocketOver, /transport (close|error)/, `an oversized WebSocket message did not end the connection: ${report.websocketOver}`);

  // Polling: an oversized POST into a real session is refused; a small one into another session is accepted.
  const session = await pollingSession(url, ca);
  const bigPacket = Buffer.from(`42["echo",{"text":"${"p".repeat(limit * 2)}"}]`);
  for (const chunked of [false, true]) {
    const over = await sendBody(`${url}/socket.io/?EIO=4&transport=polling&sid=${session.sid}`, bigPacket, { ca, chunked, expectContinue: !chunked, headers: session.headers });
    report.pollingOver.push(over.status);
    assert.equal(over.status, 413, `an oversized polling POST (${chunked ? "chunked" : "Content-Length"}) got ${over.status} ${over.body.slice(0, 200)}`);
  }
  const fresh = await pollingSession(url, ca);
  const small = await sendBody(`${url}/socket.io/?EIO=4&transport=polling&sid=${fresh.sid}`, Buffer.from('42["echo",{"text":"small"}]'), { ca, headers: fresh.headers });
  assert.equal(small.status, 200, `a small polling POST after the big ones: ${small.status} ${small.body}`);

  // HTTP bodies to the second stack, through every entry that serves it.
  if (t.model.app) {
    const entries = [t.urls.http, ...(t.urls.https ? [t.urls.https] : [])];
    for (const entry of entries) {
      for (const chunked of [false, true]) {
        const over = await sendBody(`${entry}/api/upload`, Buffer.alloc(limit * 2, 0x61), { ca, chunked, expectContinue: !chunked });
        report.httpBodyOver[`${new URL(entry).protocol.replace(":", "")} ${chunked ? "chunked" : "content-length"}`] = over.status;
        assert.equal(over.status, 413, `a ${limit * 2}-byte ${chunked ? "chunked " : ""}body to the second stack via ${entry} got ${over.status} ${over.body.slice(0, 200)}`);
      }
      for (const chunked of [false, true]) {
        const body = Buffer.alloc(Math.floor(limit / 2), 0x61);
        const ok = await sendBody(`${entry}/api/upload`, body, { ca, chunked });
        assert.equal(ok.status, 200, `a ${chunked ? "chunked " : ""}body under the limit via ${entry}: ${ok.status} ${ok.body.slice(0, 200)}`);
        assert.equal((JSON.parse(ok.body) as { bytes: number }).bytes, body.length, "it arrived whole");
      }
    }
  }
  await everyContainerHealthy(t);
  await websocketOnlyRoundTrip(t);
  return report;
}

// ------------------------------------------------------------------ TLS

export interface TlsRow {
  version: string;
  ok: boolean;
  protocol: string;
  cipher: string;
  detail: string;
}

/** `openssl s_client` from this machine against the https port. */
function sClient(port: number, caFile: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn("openssl", ["s_client", "-connect", `127.0.0.1:${port}`, "-servername", "localhost", "-CAfile", caFile, "-brief", ...args], { stdio: ["pipe", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stdin.end();
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/**
 * TLS policy with `openssl s_client`, one handshake per protocol version: 1.0 and 1.1 are refused
 * by the server (protocol_version alert), 1.2 and 1.3 negotiate a cipher of the kit's list with a
 * verified certificate; CBC/RSA-kex TLS 1.2 ciphers are refused; https responses carry HSTS.
 */
export async function tlsPolicy(t: RunningTopology): Promise<TlsRow[]> {
  const port = t.model.tls!.httpsPort;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rk-hardening-"));
  const caFile = path.join(dir, "ca.pem");
  fs.writeFileSync(caFile, t.ca!);
  const rows: TlsRow[] = [];
  try {
    // SECLEVEL=0 lets this OpenSSL 3 offer the old versions at all, so their failure is the server's refusal.
    const versions: [string, string[]][] = [
      ["tls1", ["-tls1", "-cipher", "DEFAULT@SECLEVEL=0"]],
      ["tls1_1", ["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"]],
      ["tls1_2", ["-tls1_2"]],
      ["tls1_3", ["-tls1_3"]],
    ];
    for (const [version, args] of versions) {
      const { output } = await sClient(port, caFile, args);
      const ok = /CONNECTION ESTABLISHED/.test(output);
      rows.push({
        version,
        ok,
        protocol: /Protocol version: (\S+)/.exec(output)?.[1] ?? "",
        cipher: /Ciphersuite: (\S+)/.exec(output)?.[1] ?? "",
        detail: (output.split("\n").find((line) => /alert|error|Verification/i.test(line)) ?? "").trim().slice(0, 160),
      });
    }
    const [tls1, tls11, tls12, tls13] = rows as [TlsRow, TlsRow, TlsRow, TlsRow];
    for (const old of [tls1, tls11]) {
      assert.equal(old.ok, false, `${old.version} was accepted`);
      // The server's protocol_version alert, not this client declining to offer the version.
      assert.match(old.detail, /alert protocol version/i, `${old.version} failed for another reason: ${old.detail}`);
    }
    assert.equal(tls12.ok, true, `TLS 1.2: ${tls12.detail}`);
    assert.equal(tls12.protocol, "TLSv1.2");
    assert.ok(TLS12_CIPHERS.split(":").includes(tls12.cipher), `TLS 1.2 cipher ${tls12.cipher} is not on the kit's list`);
    assert.equal(tls13.ok, true, `TLS 1.3: ${tls13.detail}`);
    assert.equal(tls13.protocol, "TLSv1.3");
    assert.ok(TLS13_CIPHERSUITES.split(":").includes(tls13.cipher), `TLS 1.3 suite ${tls13.cipher} is not on the kit's list`);
    // Weak TLS 1.2 ciphers (CBC, RSA key exchange, 3DES) are not offered by the server.
    const weak = await sClient(port, caFile, ["-tls1_2", "-cipher", "AES128-SHA:AES256-SHA:AES128-GCM-SHA256:ECDHE-RSA-AES128-SHA:DES-CBC3-SHA@SECLEVEL=0"]);
    assert.doesNotMatch(weak.output, /CONNECTION ESTABLISHED/, `a weak TLS 1.2 cipher was accepted:\n${weak.output}`);
    assert.match(weak.output, /handshake failure|no shared cipher/i, weak.output);
    rows.push({ version: "tls1_2 weak ciphers", ok: false, protocol: "", cipher: "", detail: (weak.output.split("\n").find((line) => /alert|error/i.test(line)) ?? "").trim().slice(0, 160) });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }

  // HSTS on every kind of https response: the chat page, a Socket.IO handshake, the second stack / static files.
  const hsts = new RegExp(`^max-age=${t.model.tls!.hstsMaxAgeSeconds}$`);
  const https = t.urls.https!;
  const paths = ["/chat/", "/socket.io/?EIO=4&transport=polling", t.model.app ? "/ping" : null, t.model.topology === "ssl-split" ? "/static/" : null, "/no-such-page"].filter((p): p is string => p !== null);
  for (const p of paths) {
    const response = await httpRequest(`${https}${p}`, { ca: t.ca! });
    assert.match(String(response.headers["strict-transport-security"]), hsts, `${p} (${response.status}) has no HSTS header`);
  }
  return rows;
}

// ------------------------------------------------------------------ handshake flood

export interface FloodReport {
  total: number;
  accepted: number;
  refused: number;
  other: Record<string, number>;
  ms: number;
  limit: number;
  bystander: number;
}

/**
 * A flood of Socket.IO handshakes (a new TCP + TLS connection each) from one client address.
 * It is bounded by limits.connectionRatePerClient per 10 s (HAProxy's stick table, or the realtime
 * server itself where it is the front door) while another address is still served.
 */
export async function handshakeFlood(t: RunningTopology): Promise<FloodReport> {
  const limit = t.model.limits.connectionRatePerClient;
  const url = `${t.internalUrls.realtime}/socket.io/?EIO=4&transport=polling`;
  const [flooder, bystander] = await Promise.all([startClientContainer(t, { name: "flooder" }), startClientContainer(t, { name: "bystander" })]);
  const total = limit + 300;
  // Concurrency 24: the flood outruns the rate limit even on a slow machine.
  const flood = await burst(flooder, url, total, 24);
  const after = await burst(bystander, url, 5, 1);
  const report: FloodReport = { total, accepted: flood.ok, refused: flood.refused, other: flood.other, ms: flood.ms, limit, bystander: after.ok };
  measure(`hardening.${t.model.topology}.${t.model.tls?.terminator ?? t.model.front ?? "node"}.handshake-flood`, flood.ok, "accepted", `${flood.refused} refused of ${total} in ${flood.ms} ms; bystander ${after.ok}/5`);
  // Over a window of w seconds at most limit * (1 + w / 10) connections can pass a 10 s sliding rate.
  const ceiling = Math.ceil(limit * (1 + flood.ms / 10_000));
  assert.ok(flood.refused >= 1, `the flooding address was never refused: ${JSON.stringify(flood)}`);
  assert.ok(flood.ok <= ceiling, `${flood.ok} handshakes passed, more than the rate allows (${ceiling}): ${JSON.stringify(flood)}`);
  assert.equal(after.ok, 5, `another address was not served right after the flood: ${JSON.stringify(after)}`);
  await everyContainerHealthy(t);
  return report;
}

// ------------------------------------------------------------------ garbage

export interface ContainerState {
  startedAt: string;
  restarts: number;
}

async function containerStates(t: RunningTopology): Promise<Record<string, ContainerState>> {
  const states: Record<string, ContainerState> = {};
  for (const spec of t.deployment.services) {
    const info = await docker.getContainer(t.container(spec.name).getId()).inspect();
    states[spec.name] = { startedAt: info.State.StartedAt, restarts: info.RestartCount };
  }
  return states;
}

/**
 * Garbage on every public port of the deployment; afterwards every container is the same
 * running process (same start time, no restart), healthy, and real clients still work.
 */
export async function garbageOnEveryPort(t: RunningTopology, seed = 20_24): Promise<Record<string, GarbageReport>> {
  const before = await containerStates(t);
  const ports: { name: string; port: number; tls: boolean }[] = [{ name: "http", port: t.model.ports.http, tls: false }];
  if (t.model.tls) ports.push({ name: "https", port: t.model.tls.httpsPort, tls: true });
  if (t.model.ports.realtime !== null) ports.push({ name: "realtime", port: t.model.ports.realtime, tls: false });
  const reports: Record<string, GarbageReport> = {};
  for (const { name, port, tls } of ports) reports[name] = await sendGarbage({ port, tls, ca: t.ca ?? undefined }, seed + port);
  await everyContainerHealthy(t);
  assert.deepEqual(await containerStates(t), before, "a container restarted or was replaced during the garbage");
  await websocketOnlyRoundTrip(t);
  if (t.model.realtime.stickiness === "cookie") {
    const report = await runRoundtrips({ mode: "roundtrips", url: t.urls.realtime, clients: 2, rounds: 10, transports: ["polling"], ca: t.ca ?? undefined, withCredentials: true });
    for (const one of report.clients) assert.deepEqual([one.errors, one.acks], [[], 10], `polling client ${one.index} after the garbage`);
  } else await pollingManyRoundTrips(t, t.urls.realtime, 2, 10);
  if (t.model.app) {
    const page = await httpRequest(`${t.urls.http}${t.model.app.healthPath}`);
    assert.equal(page.status, 200, "the second stack still answers");
  }
  return reports;
}
