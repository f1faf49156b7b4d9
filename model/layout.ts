/**
 * Where things live inside the containers. Generators, images, the Pulumi program and the test
 * harness all read these constants, so a path or port is written down exactly once.
 */

/** Ports the programs listen on inside their containers (never published as such). */
export const INTERNAL_PORTS = {
  /** Socket.IO server: chat page, /socket.io/, /echo, /healthz, /stats. */
  realtime: 8080,
  /** Socket.IO server, split-port option: only the realtime endpoints answer here. */
  realtimeSplit: 8081,
  /** Socket.IO server: Prometheus metrics (GET /metrics), internal only. */
  realtimeMetrics: 9464,
  /** Realtime node: @socket.io/admin-ui's listener (adminUi.enabled); realtime-1's is published on 127.0.0.1 only. */
  adminUi: 9400,
  /** nginx: public plain-HTTP listener (static assets and the second stack). */
  nginx: 8080,
  /** nginx: listener for traffic HAProxy forwards after TLS; trusts X-Forwarded-Proto. */
  nginxFromHaproxy: 8082,
  /** HAProxy: plain HTTP entry. */
  haproxyHttp: 8080,
  /** HAProxy: split-port realtime entry (node-proxy with HAProxy in front). */
  haproxyRealtimeSplit: 8081,
  /** HAProxy: decrypted traffic from stunnel (the chapter's :4000). */
  haproxyFromTls: 4000,
  /** HAProxy: native TLS entry (`bind ... ssl`). */
  haproxyTls: 8443,
  /** HAProxy: monitor URI, stats page and Prometheus exporter (/metrics), internal only. */
  haproxyMonitor: 8404,
  /** stunnel: TLS entry. */
  stunnel: 8443,
  redis: 6379,
  /** Redis's TLS port: the one the edge host publishes for realtime nodes on other machines. */
  redisTls: 6380,
  /** Prometheus (metrics.prometheus): query API and web UI, published on the loopback address only. */
  prometheus: 9090,
} as const;

/**
 * multi-node over several hosts: ports a service on another machine than the edge publishes on
 * that machine's private address (never on every interface), so the edge can reach it.
 * Realtime node i listens on 18080 + i, app node i on 13000 + i (i from 1); Redis, on the edge
 * host, on 6379 for realtime nodes elsewhere (Redis's TLS port behind it). With metrics.prometheus, realtime node i's metrics
 * port on 19464 + i, for the Prometheus server on the edge host.
 *
 * A rolling restart across hosts starts a realtime node's new instance beside the old one on the
 * same machine, while the old one still holds its ports: the new instance publishes on the other
 * port of a pair (18180 + i, and 19564 + i for metrics), and the next restart goes back.
 */
export const CROSS_HOST_PORTS = {
  realtimeBase: 18080,
  realtimeAlternateBase: 18180,
  appBase: 13000,
  redis: 6379,
  realtimeMetricsBase: 19464,
  realtimeMetricsAlternateBase: 19564,
} as const;

/** Configuration files are mounted read-only here at run time; images never bake them in. */
export const CONFIG_DIR = "/etc/realtime-kit";
export const CONTAINER_PATHS = {
  haproxyConfig: `${CONFIG_DIR}/haproxy.cfg`,
  nginxConfig: `${CONFIG_DIR}/nginx.conf`,
  stunnelConfig: `${CONFIG_DIR}/stunnel.conf`,
  prometheusConfig: `${CONFIG_DIR}/prometheus.yml`,
  /** Redis's certificate and key, written at start from its environment to a tmpfs only Redis reads (images/redis). */
  redisTlsDir: "/run/redis-tls",
  /** Prometheus's time series: a volume of the deployment, kept when the container is replaced. */
  prometheusData: "/var/lib/prometheus/metrics2",
  /** Certificate chain (PEM). HAProxy finds the key beside it as `<cert>.key`. */
  tlsCert: `${CONFIG_DIR}/tls/server.pem`,
  tlsKey: `${CONFIG_DIR}/tls/server.pem.key`,
  /** HAProxy runtime API (admin level), for draining nodes; never exposed on a port. */
  haproxyRuntimeSocket: "/run/haproxy/admin.sock",
  /** Static assets served by nginx. */
  staticDir: "/srv/static",
} as const;

/** Health endpoints the images' HEALTHCHECKs and the load balancer's checks use. */
export const HEALTH_PATHS = {
  realtime: "/healthz",
  nginx: "/nginx-healthz",
  haproxy: "/healthz", // monitor-uri on INTERNAL_PORTS.haproxyMonitor
  prometheus: "/-/ready",
} as const;

/**
 * Routes of the realtime server that proxies send to the realtime pool; everything else goes to
 * the second stack. With the split-port option the endpoints move to the realtime port while the
 * chat page stays on the page's origin.
 */
export const REALTIME_ROUTES = {
  /** Socket.IO (polling and WebSocket), prefix. */
  socketIo: "/socket.io/",
  /** Plain WebSocket echo, the chapter's probe. */
  echo: "/echo",
  /** The chat page and its assets, prefix. */
  chatPage: "/chat/",
} as const;

export const IMAGE_NAMES = {
  realtime: "realtime-kit/realtime",
  app: "realtime-kit/app",
  haproxy: "realtime-kit/haproxy",
  nginx: "realtime-kit/nginx",
  stunnel: "realtime-kit/stunnel",
  redis: "realtime-kit/redis",
  prometheus: "realtime-kit/prometheus",
} as const;
export type ImageName = keyof typeof IMAGE_NAMES;
