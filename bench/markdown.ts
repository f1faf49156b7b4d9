import { memoryPerConnection, type BenchResults } from "./results";
import { percentChange, ratio } from "./stats";
import { INTERNAL_PORTS } from "../model/layout";

const s = (ms: number | null | undefined) => (ms === null || ms === undefined ? "n/a" : (ms / 1000).toFixed(1));
const kb = (bytes: number | undefined) => (bytes === undefined ? "n/a" : `${(bytes / 1024).toFixed(1)}`);
const mib = (bytes: number | undefined) => (bytes === undefined ? "n/a" : (bytes / 2 ** 20).toFixed(0));
const table = (head: string[], rows: (string | number)[][]) =>
  [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`, ...rows.map((row) => `| ${row.join(" | ")} |`)].join("\n");
const met = (value: BenchResults["targets"][number]["met"]) =>
  value === null ? "not measured" : value === "undecided" ? "undecided (within this run's noise)" : value ? "met" : "**missed**";
const interval = (i: [number, number] | null | undefined) => (i ? ` (${percentChange(i[0])} to ${percentChange(i[1])})` : "");

/** The results as markdown: every figure beside its same-run baseline. */
export function renderMarkdown(r: BenchResults, plotFile: string): string {
  const c = r.config;
  const out: string[] = [];
  out.push(`# realtime-kit benchmark (${r.mode} mode)`, "");
  out.push(`Run ${r.startedAt}, ${Math.round(r.durationS)} s (${(r.durationS / 60).toFixed(1)} min) in all.`);
  if (r.machine) {
    const m = r.machine;
    out.push(
      `Machine: ${m.cores} x ${m.cpu}, ${m.memoryGiB} GiB, ${m.kernel}, Docker ${m.docker}, Node ${m.node} (host) and the images' Node in the containers.`,
      `Limits inside the containers: open files ${m.nodeNofile} (realtime node, soft/hard), ${m.clientNofile.replace(" ", "/")} (client containers); ip_local_port_range ${m.localPortRange}; somaxconn ${m.somaxconn}.`,
    );
  }
  out.push(`Deployment settings for every run: ${r.settings.map((x) => `\`${x}\``).join(", ")}.`);
  out.push(
    "Deployments run the images' own health-check timing (every 5-10 s, as `pulumi up` and `up` leave them): each check is a `docker exec`, about 0.1 s of CPU here, and the 2 s checks the tests use would put their own latency spikes into every figure.",
    "",
  );
  out.push("Shared, noisy machine: compare each figure with its baseline in the same row (measured in the same run, interleaved), not with other runs.", "");
  if (r.failures.length > 0) out.push("**Sections that failed:**", ...r.failures.map((f) => `- ${f}`), "");

  out.push("## Targets", "", table(["what", "target", "measured", "result"], r.targets.map((t) => [t.what, t.target, t.measured, `${met(t.met)}${t.why ? ` (${t.why})` : ""}`])), "");

  if (r.roundtrip.length > 0) {
    out.push(
      "## 1. Socket.IO event round trip, through the topology vs straight to one realtime node",
      "",
      `From a client container on the deployment's network, websocket transport, \`echo\` event with ack. Paced: ${c.roundtrip.pacedClients} clients x ${c.roundtrip.ratePerClient} events/s. Closed loop: ${c.roundtrip.loadClients} clients, next event as soon as the ack is back. Direct (baseline) = the same client to realtime-1:${INTERNAL_PORTS.realtime}, interleaved with the entry in ${c.roundtrip.slices} slices of ${s(c.roundtrip.sliceMs)} s each.`,
      "",
      table(
        ["topology", "direct p50 / p99 ms", "entry p50 / p99 ms", "p99 vs direct (95% interval)", "direct events/s", "entry events/s", "events/s vs direct", "entry p99 at full load ms (direct)", "edge CPU us/event"],
        r.roundtrip.map((rt) => [
          rt.title,
          `${rt.paced.direct.p50} / ${rt.paced.direct.p99}`,
          `${rt.paced.entry.p50} / ${rt.paced.entry.p99}`,
          `${percentChange(rt.paced.p99Ratio)}${interval(rt.paced.p99RatioInterval)}`,
          rt.load.directEps,
          rt.load.entryEps,
          percentChange(rt.load.epsRatio),
          `${rt.load.entry.p99} (${rt.load.direct.p99})`,
          rt.edgeCpu ? `${rt.edgeCpu.usPerEvent}${rt.edgeCpu.interval ? ` (${rt.edgeCpu.interval[0]} to ${rt.edgeCpu.interval[1]})` : ""}` : "n/a (no proxy)",
        ]),
      ),
      "",
    );
    out.push(
      "In single and node-proxy (Node in front) the Socket.IO entry point is realtime-1 itself, so those rows compare the node with itself: their spread is this run's noise floor. The 95% interval of each p99 ratio comes from a paired bootstrap over the interleaved slices (1,000 resamples of slice indices, both targets' events of each drawn slice): the p99 target counts as met or missed only when the whole interval lies on one side of +10%.",
      "",
    );
    const errors = r.roundtrip.filter((rt) => rt.errors.length > 0);
    for (const rt of errors) out.push(`- ${rt.key} errors: ${rt.errors.join("; ")}`);
    if (errors.length) out.push("");
  }

  if (r.capacity) {
    const cap = r.capacity;
    const mem = memoryPerConnection(cap);
    const node = Object.keys(cap.points[0]?.memory ?? {}).find((name) => name.startsWith("realtime-")) ?? "realtime-1";
    out.push(
      "## 2. Idle connections on one realtime node",
      "",
      `single topology, websocket clients held by ${c.connections.holders} client containers (each its own source address and open-file limit) straight to ${node}; at each step a paced probe (${c.connections.probeClients} clients x ${c.connections.probeRate} events/s for ${s(c.connections.probeMs)} s). The node is restarted before the ramp, so earlier sections' load does not inflate its heap. Memory: the engine's account of the ${node} container (cgroup usage minus inactive page cache), as \`docker stats\` shows it, and its split into the process's own memory and kernel objects charged to the container.`,
      "",
      table(
        ["connections held", "sockets on the node", `${node} memory MiB`, "of it: process / kernel MiB", "KB / connection", "probe p50 ms", "probe p99 ms", "p99 vs 0 connections"],
        cap.points.map((p) => {
          const detail = p.memoryDetail?.[node];
          return [p.held, p.sockets ?? "no answer", mib(p.memory[node]), detail ? `${mib(detail.process)} / ${mib(detail.kernel)}` : "n/a", p.held > 0 ? kb(p.memory[node]! / p.held) : "-", p.latency.p50, p.latency.p99, percentChange(ratio(p.latency.p99, cap.points[0]!.latency.p99))];
        }),
      ),
      "",
      `Reached ${mem?.held ?? 0} connections; ${mem ? `${kb(mem.total)} KB per connection (container memory / connections), ${kb(mem.marginal)} KB marginal (growth over the idle node / connections added)${mem.marginalProcess !== null && mem.marginalKernel !== null ? `, of which ${kb(mem.marginalProcess)} KB in the Node process and ${kb(mem.marginalKernel)} KB in kernel objects (socket structures)` : ""}` : "no memory figure"}. Latency ${cap.degradesAt === null ? "did not degrade (p99 never above twice its value with no connections held) within the measured range" : `degrades (p99 above twice its value with no connections held) from ${cap.degradesAt} connections`}.${cap.stoppedBecause ? ` The ramp stopped early: ${cap.stoppedBecause}.` : ""}`,
      "",
      "OS limits: on this machine none could be raised. The engine (dockerd) runs with an open-file hard limit of 20000, which every container inherits; `--ulimit nofile=` above it and `ulimit -n` above it fail with EPERM. So one node tops out just under 20,000 sockets (each WebSocket is one file descriptor, plus the process's own). The load is spread over several client containers, each its own source address with its own 20000 open files and its own 28,232 local ports (ip_local_port_range 32768-60999), so the clients are never the limit.",
      "On a normal Linux host, to hold more: raise dockerd's limit (`LimitNOFILE=1048576` in a systemd drop-in for docker.service, then `systemctl daemon-reload && systemctl restart docker`), give the container its own (`docker run --ulimit nofile=1048576:1048576`, `ulimits` in compose), widen the client port range (`sysctl -w net.ipv4.ip_local_port_range=\"1024 65535\"`) or use several client source addresses, and behind HAProxy raise `limits.maxConnections` (about 2 open files per connection).",
      "",
    );
  }

  if (r.ramps.length > 0 || r.capacity) {
    const all = [...(r.capacity ? [r.capacity] : []), ...r.ramps];
    out.push(
      "### Latency against connections held, per topology",
      "",
      `Idle connections held through each topology's entry point (the single topology's are the node test above). Plot: [${plotFile}](${plotFile}).`,
      "",
      table(
        ["topology", ...[...new Set(all.flatMap((ramp) => ramp.points.map((p) => p.target)))].sort((a, b) => a - b).map((n) => `p99 ms @ ${n}`), "degrades from"],
        all.map((ramp) => {
          const steps = [...new Set(all.flatMap((x) => x.points.map((p) => p.target)))].sort((a, b) => a - b);
          return [ramp.title, ...steps.map((n) => ramp.points.find((p) => p.target === n)?.latency.p99 ?? "-"), ramp.degradesAt ?? "not in range"];
        }),
      ),
      "",
    );
    for (const ramp of r.ramps.filter((x) => x.stoppedBecause)) out.push(`- ${ramp.key}: ${ramp.stoppedBecause}`);
    out.push("");
  }

  if (r.tls) {
    const [st, hp] = r.tls.sides;
    out.push(
      "## 3. TLS: stunnel -> HAProxy against HAProxy native TLS",
      "",
      `Both ssl-split deployments up at once, measured in ${c.tls.slices} alternating slices of ${s(c.tls.sliceMs)} s: full handshakes (no session resumption), ${c.tls.concurrency} at a time, from a client container to the TLS port. Added round trip: the paced echo through TLS and the proxies minus straight to the node (section 1).`,
      "",
      table(
        ["terminator", "handshakes/s", "handshake p50 / p99 ms", "added round trip p50 / p99 ms", "protocol"],
        r.tls.sides.map((x) => [x.title, x.handshakesPerS, `${x.handshake.p50} / ${x.handshake.p99}`, `${x.addedP50} / ${x.addedP99}`, `${x.protocol} ${x.cipher}`]),
      ),
      "",
    );
    if (st && hp && r.tls.faster) {
      const fast = r.tls.faster === "haproxy" ? hp : st;
      const slow = r.tls.faster === "haproxy" ? st : hp;
      out.push(
        `Faster at handshakes: **${r.tls.faster === "haproxy" ? "HAProxy native TLS" : "stunnel -> HAProxy"}**, ${ratio(fast.handshakesPerS, slow.handshakesPerS)}x the handshakes/s of the other in this run. Choose it with \`--set tls.terminator=${r.tls.faster}\` (or \`tls: {terminator: ${r.tls.faster}}\` in the config file).`,
        "",
      );
    }
  }

  if (r.broadcast) {
    const b = r.broadcast;
    out.push(
      "## 4. Broadcast across nodes (Redis adapter) against one node",
      "",
      `One sender emits ${c.broadcast.messages} chat messages (at most ${c.broadcast.window} unacknowledged); the server broadcasts each to every other socket. Receivers connect straight to the nodes, spread evenly. ${c.broadcast.repeats} run(s) each, alternating.`,
      "",
      table(
        ["deployment", "nodes", "receivers", "delivered / expected", "deliveries/s", "vs single node", "delivery p50 / p99 ms"],
        [b.single, b.multi].map((x) => [x.key, x.nodes, x.receivers, `${x.delivered} / ${x.expected}`, x.deliveriesPerS, x === b.single ? "baseline" : percentChange(b.ratio), `${x.latency.p50} / ${x.latency.p99}`]),
      ),
      "",
    );
  }

  if ((r.peers ?? []).length > 0) {
    out.push(
      "## 6. Against what users would set up instead (peers)",
      "",
      `In front of the same two realtime nodes of each multi-node deployment: the kit's entry point and three peers written from their documentation (bench/peers.ts names the section each follows), all with TLS, measured in one interleaved run from one client container (${c.roundtrip.slices} slices; paced ${c.roundtrip.pacedClients} clients x ${c.roundtrip.ratePerClient} events/s, closed loop ${c.roundtrip.loadClients} clients). CPU per event: the cgroup CPU time of the entry's edge containers (the kit: stunnel and HAProxy, or HAProxy alone; a peer: its one container) over that entry's own measured windows, divided by the events it carried; 95% intervals by a bootstrap over the slices.`,
      "",
    );
    for (const comparison of r.peers) {
      out.push(
        `Beside \`${comparison.kit}\` (direct to realtime-1: p50 ${comparison.direct.p50} ms, p99 ${comparison.direct.p99} ms):`,
        "",
        table(
          ["entry", "p50 / p99 ms", "p99 vs direct (95% interval)", "events/s (closed loop)", "edge CPU us/event (95% interval)", "TLS handshakes/s (p50 ms)", "edge memory per idle connection KB (processes; range over the steps)", "node killed: clients back, worst / median ms"],
          comparison.rows.map((row) => [
            row.title,
            `${row.paced.p50} / ${row.paced.p99}`,
            `${percentChange(row.p99Ratio)}${interval(row.p99RatioInterval)}`,
            row.eps,
            row.cpu ? `${row.cpu.usPerEvent}${row.cpu.interval ? ` (${row.cpu.interval[0]} to ${row.cpu.interval[1]})` : ""}` : "n/a",
            row.handshakesPerS === null ? "n/a" : `${row.handshakesPerS} (${row.handshake?.p50 ?? "n/a"})`,
            row.idle ? `${kb(row.idle.bytesPerConnection)} (${kb(row.idle.processBytesPerConnection)}${row.idle.range ? `; ${kb(row.idle.range[0])} to ${kb(row.idle.range[1])}` : ""}) at ${row.idle.held}` : "n/a",
            row.failover ? `${row.failover.worstMs ?? `${row.failover.notBack} of ${row.failover.clients} not back`} / ${row.failover.medianMs ?? "n/a"} (${row.failover.clients} clients)` : "n/a (no client on a killed node)",
          ]),
        ),
        "",
      );
      for (const row of comparison.rows.filter((one) => one.errors.length > 0)) out.push(`- ${row.key} errors: ${row.errors.join("; ")}`);
    }
    out.push(
      `Handshakes: full TLS handshakes (no resumption), ${c.tls.concurrency} at a time, ${c.tls.slices} slices of ${s(c.tls.sliceMs)} s per entry, the entries' order reversed every other slice. Idle connections: ${c.peers.idleConnections} WebSockets held through each entry in turn from a client container of their own, added in ${c.peers.idleSteps ?? 1} equal steps; the edge's memory (docker stats' figure; in brackets its processes' own) before and after, per connection, and the lowest and highest of the same figure over the single steps (the connections each step added). Node killed: ${c.peers.failoverClients} clients per entry, reconnecting with Socket.IO's default backoff (1 s, jitter 0.5), each node in turn killed (SIGKILL) behind every entry at once; the time from the kill until each client that was on it answered an event from the other node.`,
      "",
    );
  }
  if (r.startup.length > 0) {
    const base = r.startup.find((x) => x.key === "single")?.upMs ?? 0;
    out.push(
      "## 5. Bring-up and build times",
      "",
      "Bring-up: from the call until every service passes its image's health check, run by the harness as `up` does (images built), one deployment after the other. Teardown: removal of every container and the network.",
      "",
      table(["topology", "up s", "vs single", "teardown s"], r.startup.map((x) => [x.title, s(x.upMs), x.key === "single" ? "baseline" : `${ratio(x.upMs, base)}x`, s(x.downMs)])),
      "",
    );
  }
  if (r.builds) {
    out.push(
      "Image builds (`docker build`, classic builder, as `npm run setup` runs it). Cold: `--no-cache` (the local base image kept; apt and npm fetch again). Warm: with the layer cache.",
      "",
      table(
        ["image", "cold s", "warm s", "cold / warm"],
        [
          ...r.builds.map((x) => [x.image, s(x.coldMs), s(x.warmMs), x.coldMs === null ? "cold not measured in quick mode" : `${ratio(x.coldMs, x.warmMs)}x`]),
          ["all", s(r.builds.every((x) => x.coldMs !== null) ? r.builds.reduce((a, x) => a + x.coldMs!, 0) : null), s(r.builds.reduce((a, x) => a + x.warmMs, 0)), ""],
        ],
      ),
      "",
    );
  }
  out.push(
    "## Method and tools",
    "",
    "- Load: the kit's own Socket.IO client agent approach (socket.io-client, bundled with esbuild, run with the realtime image's Node in client containers on the deployment's network), so the load comes from several source addresses and never from the host's loopback; percentiles from HDR histograms (hdr-histogram-js) merged exactly across runs; plot by Vega-Lite rendered headlessly to SVG by Vega.",
    "- Every load is bounded: a fixed number of connections and a fixed time window; the agents stop by themselves. Targets are only the deployment's own containers on networks this run created.",
    "",
  );
  return out.join("\n");
}
