import { CONTAINER_PATHS, HEALTH_PATHS, INTERNAL_PORTS, REALTIME_ROUTES } from "../model/layout";
import { formatMs, type AppStack, type Model, type TlsSettings } from "../model/model";
import { TOPOLOGIES } from "../model/topologies";
import { httpsOrigin } from "../model/urls";
import { appMembers, proxiesOf, realtimeMembers, type PoolMember } from "../plan/names";
import { ConfigText, generatedHeader } from "./text";
import { TLS12_CIPHERS, TLS13_CIPHERSUITES } from "./tls";

const I = "    ";

/** Backend names other tools address at run time (the runtime API: drain, ready). */
export const HAPROXY_BACKENDS = { realtime: "realtime_pool", app: "app_pool" } as const;

/** haproxy.cfg for the topologies that run HAProxy (node-proxy with front: haproxy, ssl-split, multi-node). */
export function haproxyConfig(model: Model): string {
  if (!proxiesOf(model).haproxy) throw new Error(`topology ${model.topology} does not run HAProxy`);
  const text = new ConfigText("#");
  generatedHeader(text, "HAProxy 2.6 configuration", model.topology);
  globalSection(text, model);
  defaultsSection(text, model);
  resolversSection(text);
  monitorFrontend(text);
  if (model.front === "haproxy") httpFrontend(text, model);
  if (model.ports.realtime !== null) splitRealtimeFrontend(text, model);
  if (model.tls) tlsFrontend(text, model, model.tls);
  clientRatesTable(text, model);
  realtimeBackend(text, model);
  if (appBehindNginx(model)) nginxBackend(text);
  else if (model.app) appBackend(text, model, model.app);
  return text.toString();
}

/**
 * The access log line (log-format, HAProxy 2.6): JSON with names a reader can query. Numbers stay
 * bare; `retries` is quoted because HAProxy prefixes it with + after a redispatch.
 */
const ACCESS_LOG_FORMAT =
  '{"time":"%tr","client":"%ci:%cp","frontend":"%f","backend":"%b","server":"%s","status":%ST,"bytes":%B,' +
  '"request":"%HM %[capture.req.uri,json(utf8s)]","Tw":%Tw,"Tc":%Tc,"Tr":%Tr,"Ta":%Ta,"Tt":%Tt,"termination":"%tsc","retries":"%rc","queue":%bq}';

function globalSection(text: ConfigText, model: Model): void {
  text.line("global");
  text.line("log stdout format raw local0 info", "Logs go to the container's stdout (docker logs).", I);
  text.line(`maxconn ${model.limits.maxConnections}`, "Every WebSocket holds a connection for its whole life: size for concurrent clients, not requests.", I);
  text.line(
    `stats socket ${CONTAINER_PATHS.haproxyRuntimeSocket} mode 660 level admin expose-fd listeners`,
    "Runtime API for draining nodes during rolling restarts and for seamless reloads; a unix socket, never a port.",
    I,
  );
  if (model.tls?.terminator === "haproxy") {
    text.line("user haproxy", "Started as root only to read the private key (mounted 0600, root-owned); workers run unprivileged.", I);
    text.line("group haproxy", undefined, I);
    text.line(`ssl-default-bind-options ssl-min-ver ${model.tls.minVersion} no-tls-tickets`, "TLS policy: the same protocols and ciphers stunnel would offer.", I);
    text.line(`ssl-default-bind-ciphers ${TLS12_CIPHERS}`, undefined, I);
    text.line(`ssl-default-bind-ciphersuites ${TLS13_CIPHERSUITES}`, undefined, I);
  }
  text.blank();
}

function defaultsSection(text: ConfigText, model: Model): void {
  const t = model.timeouts;
  text.line("defaults");
  text.line("mode http", undefined, I);
  text.line("log global", undefined, I);
  text.line(
    `log-format '${ACCESS_LOG_FORMAT}'`,
    "One JSON object per request (realtime-kit logs reads them): the serving node, the timers (Tw queue, Tc connect,\nTr response, Ta active, Tt total, in ms; -1 when not reached) and the termination state (e.g. CD-- client\naborted, SC-- server refused; ---- normal). Only the request's URI is client text: the json converter escapes it.",
    I,
  );
  text.line("option dontlognull", "Health probes (of stunnel, of the containers) connect and send nothing: not worth a log line.", I);
  text.line("option forwardfor", "Backends see the client address in X-Forwarded-For.", I);
  text.line("option redispatch 1", "If a client's sticky node does not answer, retry on a healthy one at once instead of failing.", I);
  text.line("retries 2", undefined, I);
  text.line(`timeout connect ${formatMs(t.connectMs)}`, undefined, I);
  text.line(
    `timeout client ${formatMs(t.clientMs)}`,
    `Idle limits: longer than Socket.IO's heartbeat (pingInterval ${formatMs(model.realtime.pingIntervalMs)} + pingTimeout ${formatMs(model.realtime.pingTimeoutMs)}), so a long-poll waiting for its next packet is never cut.`,
    I,
  );
  text.line(`timeout server ${formatMs(t.serverMs)}`, undefined, I);
  text.line(`timeout tunnel ${formatMs(t.tunnelMs)}`, "Once a WebSocket is upgraded this is its idle limit; heartbeats keep live ones well inside it.", I);
  text.line("timeout http-request 10s", "A client gets this long to send its request headers (slowloris).", I);
  text.line("timeout http-keep-alive 10s", undefined, I);
  text.line("timeout queue 30s", undefined, I);
  const fastCheckMs = Math.max(100, Math.round(t.healthCheckIntervalMs / 4));
  text.line(
    `timeout check ${formatMs(checkReadTimeoutMs(model))}`,
    `A member that accepted the check's connection gets ${CHECK_READ_INTERVALS} check intervals to answer it: on a loaded host a healthy\n` +
      "event loop can stall for a second or two, and a member marked down gets no new sessions.\n" +
      "A killed or stopped member is still caught fast: its connections fail (refused, or no answer within the pool's\n" +
      "timeout connect), which this read timeout does not stretch.",
    I,
  );
  text.line(
    `default-server init-addr last,libc,none resolvers docker check inter ${formatMs(t.healthCheckIntervalMs)} fastinter ${formatMs(fastCheckMs)} fall 2 rise 2`,
    "Start even if a backend name does not resolve yet (containers start in any order) and re-resolve it at run time;\n" +
      `check every member every ${formatMs(t.healthCheckIntervalMs)}, after a failure every ${formatMs(fastCheckMs)}: 2 failures take it out, 2 successes bring it back.`,
    I,
  );
  text.blank();
}

function resolversSection(text: ConfigText): void {
  text.line("resolvers docker");
  text.line("nameserver dns 127.0.0.11:53", "Docker's embedded DNS on the deployment's network: follows containers that restart with a new address.", I);
  text.line("hold valid 10s", undefined, I);
  text.blank();
}

function monitorFrontend(text: ConfigText): void {
  text.line("frontend monitor");
  text.line(`bind :${INTERNAL_PORTS.haproxyMonitor}`, "Internal port for the container health check and the stats page; never published.", I);
  text.line(`monitor-uri ${HEALTH_PATHS.haproxy}`, undefined, I);
  text.line("stats enable", undefined, I);
  text.line("stats uri /stats", undefined, I);
  text.line("stats refresh 5s", undefined, I);
  text.line("http-request set-log-level silent", "Scrapes and stats views are not client traffic: keep them out of the access log.", I);
  text.line("http-request use-service prometheus-exporter if { path /metrics }", "HAProxy's own Prometheus exporter: frontends, backends and each server's state and queue.", I);
  text.blank();
}

function httpFrontend(text: ConfigText, model: Model): void {
  text.line("frontend http_in");
  text.line(`bind :${INTERNAL_PORTS.haproxyHttp}`, undefined, I);
  limitClients(text, model);
  realtimeAcls(text);
  text.line("http-request set-header X-Forwarded-Proto http", undefined, I);
  if (model.tls) {
    if (model.tls.plainHttpRealtime === "redirect") {
      text.line(
        `http-request redirect location ${httpsOrigin(model.hostname, model.tls)}%[capture.req.uri] code 308 if is_realtime || is_chat_page`,
        "Realtime traffic is served over TLS only: plain-http Socket.IO requests are sent to https (308 keeps the method for polling POSTs).",
        I,
      );
    } else {
      text.line(
        'http-request return status 403 content-type text/plain string "realtime traffic is served over https only\\n" if is_realtime || is_chat_page',
        "Realtime traffic is served over TLS only: plain-http Socket.IO requests are refused.",
        I,
      );
    }
  } else if (model.ports.realtime !== null) {
    text.line("http-request return status 404 if is_realtime", "Split-port option: realtime traffic has its own port; the page port does not serve it.", I);
    text.line("use_backend realtime_pool if is_chat_page", undefined, I);
  } else {
    text.line("use_backend realtime_pool if is_realtime || is_chat_page", undefined, I);
  }
  text.line("default_backend app_pool", undefined, I);
  text.blank();
}

function splitRealtimeFrontend(text: ConfigText, model: Model): void {
  text.line("frontend realtime_split");
  text.line(`bind :${INTERNAL_PORTS.haproxyRealtimeSplit}`, "Split-port option: the public realtime port; only realtime paths answer here.", I);
  if (model.clientAddress?.proxyProtocol) {
    text.line(`acl from_trusted_proxy src ${model.clientAddress.trustedProxies.join(" ")}`, undefined, I);
    text.line("tcp-request connection expect-proxy layer4 if from_trusted_proxy", "The trusted load balancers' connections begin with a PROXY header naming the client.", I);
  }
  realtimeAcls(text);
  text.line("http-request set-header X-Forwarded-Proto http", undefined, I);
  text.line("http-request return status 404 unless is_realtime", undefined, I);
  text.line("default_backend realtime_pool", undefined, I);
  text.blank();
}

function tlsFrontend(text: ConfigText, model: Model, tls: TlsSettings): void {
  text.line("frontend https_in");
  if (tls.terminator === "stunnel") {
    text.line(
      `bind :${INTERNAL_PORTS.haproxyFromTls} accept-proxy`,
      "stunnel decrypts and hands over here, prefixing each connection with a PROXY header that carries the real\n" +
        "client address; without it every client would seem to come from stunnel and source stickiness would pin all to one node.",
      I,
    );
  } else {
    text.line(
      `bind :${INTERNAL_PORTS.haproxyTls} ssl crt ${CONTAINER_PATHS.tlsCert} alpn http/1.1`,
      `Native TLS. The key is read from ${CONTAINER_PATHS.tlsKey} beside the certificate.\nHTTP/1.1 only: WebSockets upgrade the same way as behind stunnel.`,
      I,
    );
  }
  limitClients(text, model, tls.terminator === "stunnel");
  realtimeAcls(text);
  text.line("http-request set-header X-Forwarded-Proto https", undefined, I);
  text.line(`http-response set-header Strict-Transport-Security "max-age=${tls.hstsMaxAgeSeconds}"`, "Browsers that came over https once stay on https (HSTS).", I);
  text.line("use_backend realtime_pool if is_realtime || is_chat_page", undefined, I);
  text.line(`default_backend ${appBehindNginx(model) ? "nginx" : "app_pool"}`, undefined, I);
  text.blank();
}

function clientRatesTable(text: ConfigText, model: Model): void {
  text.line("backend client_rates");
  if (model.clientAddress && !model.clientAddress.proxyProtocol) {
    text.line("stick-table type ip size 100k expire 30s store conn_rate(10s),http_req_rate(10s)", "Per-client connection rates (direct clients) and request rates (clients behind the trusted proxies), shared by every public frontend.", I);
  } else {
    text.line("stick-table type ip size 100k expire 30s store conn_rate(10s)", "Per-client connection rates, shared by every public frontend.", I);
  }
  text.blank();
}

function realtimeBackend(text: ConfigText, model: Model): void {
  text.line(`backend ${HAPROXY_BACKENDS.realtime}`);
  const stickiness = model.realtime.stickiness;
  if (stickiness === "session") {
    text.line("balance leastconn", "A handshake (no session id yet) goes to the least loaded node.", I);
    realtimeMembers(model).forEach((node, index) => {
      text.line(
        `use-server ${node.name} if { urlp(sid) -m beg ${node.name}. }`,
        index === 0
          ? "Every later request of a session carries its Engine.IO id (`sid`), which the node that issued it begins with\n" +
            "its own name: polls and the WebSocket upgrade go back to it. No cookie, no client address, no stick table,\n" +
            "so NAT, CDNs, cookie-less clients and an HAProxy reload or restart change nothing. An id naming a node that is\n" +
            "down (or no node) is balanced like a handshake: the node answers \"Session ID unknown\" and the client reconnects."
          : undefined,
        I,
      );
    });
  } else if (stickiness === "cookie") {
    text.line("balance leastconn", "New sessions go to the least loaded node; the cookie keeps them there.", I);
    text.line(
      `cookie ${model.realtime.cookieName} prefix nocache`,
      `Stickiness by the \`${model.realtime.cookieName}\` cookie the Socket.IO server sets at handshake: HAProxy prefixes it with the node's name.`,
      I,
    );
  } else {
    text.line(
      "balance source",
      "Socket.IO needs every request of a session on the node that created it (long-polling above all):\npin each client address to one node.",
      I,
    );
    text.line("hash-type consistent", "A node going away only moves its own clients.", I);
  }
  poolConnectTimeout(text, model);
  text.line(
    "retry-on conn-failure empty-response 503",
    "A node that is shutting down refuses connections and answers 503 to requests on kept-alive ones:\nthe request is retried (redispatched) on another node instead of failing the client's reconnect.",
    I,
  );
  text.line("option httpchk", undefined, I);
  text.line(`http-check send meth GET uri ${model.realtime.healthPath}`, "The realtime server's health route (realtime.healthPath) stops answering 200 as soon as it starts shutting down.", I);
  text.line("http-check expect status 200", undefined, I);
  const cookieMode = stickiness === "cookie";
  realtimeMembers(model).forEach((node, index) => {
    const why = whyLines(
      index === 0
        ? "observe layer4: a connection the node fails (refused, or no answer in time) counts as a failed check and\n" +
          "speeds the checks up: one more failure takes it out, without waiting for the next regular check.\n" +
          "No on-marked-down shutdown-sessions: a node that dies closes its WebSockets itself (the kernel ends its\n" +
          "connections), and cutting sessions on \"down\" would also kill reconnects still waiting to be retried on\n" +
          "another node, and every client of a live node that a loaded host made miss its checks."
        : undefined,
      crossHostWhy(node),
      node.crossHost
        ? "When a whole machine goes (power, its network), nothing closes its WebSockets: they would hang until Socket.IO's\n" +
            "ping timeout (pingInterval + pingTimeout) while its clients miss every message. Only the checks notice, so they run\n" +
            `twice as often (inter ${formatMs(remoteCheckIntervalMs(model))}, which also bounds their connect), and once they mark the node down\n` +
            "on-marked-down shutdown-sessions cuts its sessions: its clients reconnect to a live node."
        : undefined,
    );
    const remote = node.crossHost ? ` inter ${formatMs(remoteCheckIntervalMs(model))} on-marked-down shutdown-sessions` : "";
    text.line(
      `server ${node.name} ${node.address} ${FAIL_CHECK_ON_ERROR}${remote}${cookieMode ? ` cookie ${node.name}` : ""}`,
      why,
      I,
    );
  });
  text.blank();
}

function appBackend(text: ConfigText, model: Model, app: AppStack): void {
  text.line(`backend ${HAPROXY_BACKENDS.app}`);
  text.line("balance roundrobin", undefined, I);
  poolConnectTimeout(text, model);
  text.line("retry-on conn-failure empty-response", "A request that reached a member going down is tried on another.", I);
  text.line("option httpchk", undefined, I);
  text.line(`http-check send meth GET uri ${app.healthPath}`, undefined, I);
  text.line("http-check expect status 200", undefined, I);
  appMembers(model).forEach((node, index) => {
    const why = whyLines(
      index === 0 ? "A failed connection counts as a failed check (observe layer4): one more failed check takes the member out." : undefined,
      crossHostWhy(node),
    );
    text.line(`server ${node.name} ${node.address} ${FAIL_CHECK_ON_ERROR}`, why, I);
  });
  text.blank();
}

/** The comment of a line made of the reasons that apply, or none. */
function whyLines(...reasons: (string | undefined)[]): string | undefined {
  const given = reasons.filter((reason) => reason !== undefined);
  return given.length > 0 ? given.join("\n") : undefined;
}

/**
 * Server options of pool members: a failed connection counts as a failed health check and
 * switches to fast checks, so one more failed check (250 ms later) takes the member out.
 */
const FAIL_CHECK_ON_ERROR = "observe layer4 error-limit 1 on-error sudden-death";

/**
 * Pool members sit on the deployment's private network: a member that has not accepted a TCP
 * connection within a health-check interval is as good as gone (a killed container's address
 * answers nothing, so without this a retry would wait the whole connect timeout).
 */
function poolConnectTimeout(text: ConfigText, model: Model): void {
  const t = model.timeouts;
  if (t.healthCheckIntervalMs >= t.connectMs) return;
  text.line(
    `timeout connect ${formatMs(t.healthCheckIntervalMs)}`,
    `Members are on the private network: one that has not accepted a connection within the check interval is treated as gone\nand the request is retried on another (the public timeout connect, ${formatMs(t.connectMs)}, stays the upper bound).`,
    I,
  );
}

/** Health-check interval of a realtime node on another machine than the edge: half the pool's (see realtimeBackend). */
function remoteCheckIntervalMs(model: Model): number {
  return model.timeouts.healthCheckIntervalMs / 2;
}

/** Check intervals a member that accepted a health check's connection gets to answer it. */
const CHECK_READ_INTERVALS = 3;

/**
 * How long HAProxy waits for a health check's answer once connected (`timeout check`). HAProxy
 * connects checks within min(timeout connect, inter), so this only decides how slow a live
 * member may be before a check counts as failed; a dead one fails at the connect.
 */
export function checkReadTimeoutMs(model: Model): number {
  return CHECK_READ_INTERVALS * model.timeouts.healthCheckIntervalMs;
}

/** Why a member on another machine is addressed by IP and port rather than by name. */
function crossHostWhy(node: PoolMember): string | undefined {
  if (!node.crossHost) return undefined;
  return `${node.name} runs on host ${node.host}: reached at the port it publishes on that machine's private address.`;
}

/** Where nginx stands before the second stack, HAProxy hands it everything that is not realtime. */
function appBehindNginx(model: Model): boolean {
  return TOPOLOGIES[model.topology].secondStack?.proxiedBy === "nginx";
}

function nginxBackend(text: ConfigText): void {
  text.line("backend nginx");
  text.line("option httpchk", undefined, I);
  text.line(`http-check send meth GET uri ${HEALTH_PATHS.nginx}`, undefined, I);
  text.line("http-check expect status 200", undefined, I);
  text.line(
    `server nginx nginx:${INTERNAL_PORTS.nginxFromHaproxy}`,
    "nginx's internal listener for traffic that arrived over TLS (it trusts X-Forwarded-Proto from here only).",
    I,
  );
  text.blank();
}

function realtimeAcls(text: ConfigText): void {
  text.line(`acl is_realtime path_beg ${REALTIME_ROUTES.socketIo}`, "Realtime endpoints: Socket.IO and the plain WebSocket echo.", I);
  text.line(`acl is_realtime path ${REALTIME_ROUTES.echo}`, undefined, I);
  text.line(`acl is_chat_page path_beg ${REALTIME_ROUTES.chatPage}`, "The chat page, also served by the realtime server.", I);
}

/**
 * `behindProxyProtocol`: the client address is known only once the PROXY header is read, so the
 * rate is tracked per session; on direct binds per connection, before any TLS handshake is paid for.
 */
function limitClients(text: ConfigText, model: Model, behindProxyProtocol = false): void {
  const limit = model.limits.connectionRatePerClient;
  const trusted = model.clientAddress;
  if (trusted) text.line(`acl from_trusted_proxy src ${trusted.trustedProxies.join(" ")}`, "clientAddress.trustedProxies: the proxies in front of the edge (a CDN, a cloud load balancer).", I);
  if (trusted?.proxyProtocol) {
    text.line(
      "tcp-request connection expect-proxy layer4 if from_trusted_proxy",
      "Their connections begin with a PROXY header naming the client; nobody else's are read as one.",
      I,
    );
  }
  // After a PROXY header (stunnel's, or a trusted load balancer's) the address is the client's from the session on.
  const afterProxyHeader = behindProxyProtocol || trusted?.proxyProtocol === true;
  const stage = afterProxyHeader ? "session" : "connection";
  const byHeader = trusted !== null && !trusted.proxyProtocol;
  text.line(
    `tcp-request ${stage} track-sc0 src table client_rates${byHeader ? " unless from_trusted_proxy" : ""}`,
    `One address may open at most ${limit} connections per 10 s (handshake floods).` +
      (afterProxyHeader ? "\nTracked per session: only after the PROXY header is the address the client's, not the proxy's." : "") +
      (byHeader ? "\nA trusted proxy's connections carry many clients: those are counted per client and request below." : ""),
    I,
  );
  text.line(`tcp-request ${stage} reject if { sc0_conn_rate gt ${limit} }`, undefined, I);
  if (byHeader) {
    const header = trusted.header;
    text.line("http-request set-var(txn.via_trusted_proxy) bool(true) if from_trusted_proxy", "Remembered before the address changes below.", I);
    text.line(
      `http-request set-src hdr_ip(${header},-1) if from_trusted_proxy { hdr_ip(${header},-1) -m found }`,
      `The client's address as the proxy gave it in ${header} (its last address: the one the nearest proxy added). Source\n` +
        "stickiness, the logs and X-Forwarded-For to the nodes use it from here on. From any other address the header is never believed.",
      I,
    );
    text.line(
      "http-request track-sc1 src table client_rates if { var(txn.via_trusted_proxy) -m bool }",
      `Each request through a proxy counts against its client, at most ${limit} per 10 s: a proxy reuses its connections\nfor many clients, so connections say nothing about one of them.`,
      I,
    );
    text.line(`http-request deny deny_status 429 if { var(txn.via_trusted_proxy) -m bool } { sc1_http_req_rate gt ${limit} }`, undefined, I);
  }
  text.line(
    `http-request deny deny_status 413 if { req.hdr_val(content-length) gt ${model.limits.maxMessageBytes} }`,
    "Bodies declared larger than the largest Socket.IO message are refused before they reach a node. A chunked body\n" +
      "(legal HTTP/1.1, sent by streaming clients) passes: HAProxy cannot count a streamed body, so the server that\n" +
      "reads it holds the limit (Engine.IO's maxHttpBufferSize answers 413, as do nginx and the second stack).",
    I,
  );
}
