import path from "node:path";
import type { StartedTestContainer } from "testcontainers";
import { createTestCertificates } from "../driver/certs";
import { logsOf } from "../driver/engine";
import { sleep } from "../driver/wait";
import { KitContainer } from "../driver/kit-container";
import { KIT_LABEL } from "../model/labels";
import { IMAGE_NAMES, INTERNAL_PORTS } from "../model/layout";
import { run } from "../scripts/lib/proc";
import type { Deployed } from "./lab";
import type { EdgeContainer } from "./measure/edge-cpu";

/**
 * What a user would set up instead of the kit, in front of the same realtime nodes: each written
 * fresh from the documentation it follows (named in its configuration), with only the nodes' names,
 * the TLS files and what the Socket.IO image on the other side needs changed (each change says why).
 * They run in the bench only, on a kit deployment's network, in front of its realtime nodes.
 */
export interface Peer {
  key: string;
  title: string;
  /** The documentation the configuration follows. */
  follows: string;
  image: string;
  /** Its configuration for these realtime nodes (`host:port`), reading the certificate and key from PEER_TLS. */
  configuration(nodes: string[]): { file: string; text: string };
  /** Checks the configuration with the program itself; the peer starts only if it passes. */
  check: string[];
  command: string[];
}

/** Where every peer finds its certificate and key, and HAProxy the two in one file. */
const PEER_DIR = "/etc/peer";
const PEER_TLS = { cert: `${PEER_DIR}/server.crt`, key: `${PEER_DIR}/server.key`, bundle: `${PEER_DIR}/server.pem` };
/** The port each peer serves TLS on (not 443: nothing here needs a privileged port). */
export const PEER_PORT = 8443;
/** Caddy 2 is not among the kit's images: built from bench/peers/caddy for the bench alone. */
const CADDY_IMAGE = "rkb-peer/caddy:latest";

export const PEERS: Peer[] = [
  {
    key: "peer-nginx",
    title: "nginx as the Socket.IO docs set it up (hash $remote_addr), TLS in nginx",
    follows: "socket.io/docs/v4/using-multiple-nodes (NginX configuration), examples/cluster-nginx/nginx/nginx.conf",
    image: IMAGE_NAMES.nginx,
    configuration: (nodes) => ({
      file: "nginx.conf",
      text: [
        "# The Socket.IO documentation's nginx set-up for several nodes: socket.io/docs/v4/using-multiple-nodes,",
        "# \"NginX configuration\", as the Socket.IO repository's examples/cluster-nginx/nginx/nginx.conf has it.",
        "# Changed: the upstream servers (this deployment's nodes); TLS in nginx as nginx's own documentation",
        "# sets it up (\"Configuring HTTPS servers\": listen ... ssl, ssl_certificate, ssl_certificate_key).",
        "worker_processes 4;",
        "",
        "events {",
        "  worker_connections 1024;",
        "}",
        "",
        "http {",
        "  server {",
        `    listen ${PEER_PORT} ssl;`,
        `    ssl_certificate ${PEER_TLS.cert};`,
        `    ssl_certificate_key ${PEER_TLS.key};`,
        "",
        "    location / {",
        "      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "      proxy_set_header Host $host;",
        "",
        "      proxy_pass http://nodes;",
        "",
        "      # enable WebSockets",
        "      proxy_http_version 1.1;",
        "      proxy_set_header Upgrade $http_upgrade;",
        '      proxy_set_header Connection "upgrade";',
        "    }",
        "  }",
        "",
        "  upstream nodes {",
        "    # sticky sessions by the complete client address, the docs' first choice",
        "    hash $remote_addr consistent;",
        ...nodes.map((node) => `    server ${node};`),
        "  }",
        "}",
        "",
      ].join("\n"),
    }),
    check: ["nginx", "-t", "-c", `${PEER_DIR}/nginx.conf`],
    command: ["nginx", "-c", `${PEER_DIR}/nginx.conf`, "-g", "daemon off;"],
  },
  {
    key: "peer-haproxy",
    title: "HAProxy as the Socket.IO cluster example sets it up (cookie insert), TLS in HAProxy",
    follows: "socket.io/docs/v4/using-multiple-nodes (HAProxy configuration), examples/cluster-haproxy/haproxy/haproxy.cfg",
    image: IMAGE_NAMES.haproxy,
    configuration: (nodes) => ({
      file: "haproxy.cfg",
      text: [
        "# The Socket.IO repository's examples/cluster-haproxy/haproxy/haproxy.cfg, the HAProxy set-up",
        "# socket.io/docs/v4/using-multiple-nodes points to (\"HAProxy configuration\").",
        "# Changed: `nbproc 2` left out (HAProxy 2.5 and later refuse it; threads, one per core, replace it);",
        "# `daemon` left out (the container's process stays in the foreground); the servers (this",
        "# deployment's nodes); the health check path (/healthz, what these nodes answer, for /health);",
        "# TLS on the bind line, as HAProxy's documentation sets it up (`ssl crt`).",
        "global",
        "  maxconn 4096",
        "",
        "defaults",
        "  mode http",
        "  balance roundrobin",
        "  option http-server-close",
        "  timeout connect     5s",
        "  timeout client      30s",
        "  timeout client-fin  30s",
        "  timeout server      30s",
        "  timeout tunnel      1h",
        "  default-server inter 1s rise 2 fall 1 on-marked-down shutdown-sessions",
        "  option forwardfor",
        "",
        "listen chat",
        `  bind *:${PEER_PORT} ssl crt ${PEER_TLS.bundle}`,
        "  default_backend nodes",
        "",
        "backend nodes",
        "  option httpchk HEAD /healthz",
        "  http-check expect status 200",
        "  cookie serverid insert",
        ...nodes.map((node, index) => `  server node${index + 1} ${node} cookie node${index + 1} check`),
        "",
      ].join("\n"),
    }),
    check: ["haproxy", "-c", "-f", `${PEER_DIR}/haproxy.cfg`],
    command: ["haproxy", "-db", "-f", `${PEER_DIR}/haproxy.cfg`],
  },
  {
    key: "peer-caddy",
    title: "Caddy 2 (lb_policy cookie), TLS in Caddy",
    follows: "socket.io/docs/v4/reverse-proxy (Caddy 2); caddyserver.com/docs/caddyfile/directives/reverse_proxy (load balancing)",
    image: CADDY_IMAGE,
    configuration: (nodes) => ({
      file: "Caddyfile",
      text: [
        "# The Socket.IO documentation's Caddy 2 set-up (socket.io/docs/v4/reverse-proxy, \"Caddy 2\"):",
        "# reverse_proxy to the Socket.IO server, nothing else, since Caddy proxies WebSockets by itself.",
        "# Changed: several upstreams with cookie stickiness (Caddy's reverse_proxy documentation,",
        "# \"Load balancing\": lb_policy cookie); the deployment's own certificate instead of one from",
        "# an ACME issuer (`tls cert key`: nothing here reaches one); the site on its own port.",
        `https://:${PEER_PORT} {`,
        `  tls ${PEER_TLS.cert} ${PEER_TLS.key}`,
        "  reverse_proxy {",
        `    to ${nodes.join(" ")}`,
        "    lb_policy cookie",
        "  }",
        "}",
        "",
      ].join("\n"),
    }),
    check: ["caddy", "validate", "--config", `${PEER_DIR}/Caddyfile`, "--adapter", "caddyfile"],
    command: ["caddy", "run", "--config", `${PEER_DIR}/Caddyfile`, "--adapter", "caddyfile"],
  },
];

/** A peer running in front of a deployment's nodes. */
export interface RunningPeer {
  peer: Peer;
  /** Socket.IO URL as seen on the deployment's network. */
  url: string;
  /** The CA its certificate is from (the clients verify it). */
  ca: string;
  edge: EdgeContainer;
  container: StartedTestContainer;
}

/** Builds the peers' own image (Caddy; nginx and HAProxy are the kit's Debian packages). */
export async function buildPeerImages(log: (line: string) => void): Promise<void> {
  const folder = path.join(__dirname, "peers", "caddy");
  const result = await run("docker", ["build", "-q", "-t", CADDY_IMAGE, folder], { env: { ...process.env, DOCKER_BUILDKIT: "0" }, timeoutMs: 10 * 60_000 });
  if (result.code !== 0) throw new Error(`docker build of bench/peers/caddy failed: ${result.stderr.slice(-1500)}`);
  log(`peers: ${CADDY_IMAGE} built in ${(result.durationMs / 1000).toFixed(1)} s`);
}

/**
 * Starts a peer on the deployment's network in front of its realtime nodes, after its own program
 * accepted the configuration; removed with the deployment (it carries the run's label).
 */
export async function startPeer(d: Deployed, peer: Peer): Promise<RunningPeer> {
  const name = peer.key;
  const tls = await createTestCertificates([name], 1, `realtime-kit bench ${name} CA`);
  const files = peerFiles(peer, d.t.realtimeNodes.map((node) => `${node}:${INTERNAL_PORTS.realtime}`), tls);
  // The program's own check first: its output, not a refused connection later, says what is wrong.
  const script = `${shellWords(peer.check)} >/tmp/check.log 2>&1 || { cat /tmp/check.log >&2; exit 70; }; exec ${shellWords(peer.command)}`;
  const container = await new KitContainer(peer.image)
    .onNetwork(d.t.networkName, name)
    .withName(`${d.t.runId}-${name}`)
    .withLabels({ [KIT_LABEL]: d.t.runId })
    .withUser("root")
    .withoutHealthCheck()
    .withCopyContentToContainer(files)
    .withCommand(["sh", "-c", script])
    .start();
  const url = `https://${name}:${PEER_PORT}`;
  const engineContainer = d.t.engines.edge.getContainer(container.getId());
  // Serving once a handshake through it reaches a node (its health checks may hold the nodes back at first).
  const deadline = Date.now() + 30_000;
  while (!(await d.probe.handshakeAnswers(url, tls.caCert))) {
    const state = (await engineContainer.inspect()).State;
    if (!state.Running) throw new Error(`${name} exited (${state.ExitCode}): ${(await logsOf(engineContainer)).slice(-1500)}`);
    if (Date.now() > deadline) throw new Error(`${name} did not pass a Socket.IO handshake to the nodes within 30 s`);
    await sleep(500);
  }
  return { peer, url, ca: tls.caCert, edge: { name, container: engineContainer }, container };
}

/** A peer's files: its configuration for these nodes, and the certificate and key where it reads them. */
export function peerFiles(peer: Peer, nodes: string[], tls: { cert: string; key: string }): { content: string; target: string; mode: number }[] {
  const config = peer.configuration(nodes);
  return [
    { content: config.text, target: `${PEER_DIR}/${config.file}`, mode: 0o644 },
    { content: tls.cert, target: PEER_TLS.cert, mode: 0o644 },
    { content: tls.key, target: PEER_TLS.key, mode: 0o600 },
    { content: `${tls.cert}\n${tls.key}`, target: PEER_TLS.bundle, mode: 0o600 },
  ];
}

function shellWords(words: string[]): string {
  return words.map((word) => `'${word.replace(/'/g, "'\\''")}'`).join(" ");
}
