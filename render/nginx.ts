import { CONTAINER_PATHS, HEALTH_PATHS, INTERNAL_PORTS, REALTIME_ROUTES } from "../model/layout";
import { formatMs, type AppStack, type Model } from "../model/model";
import { httpsOrigin } from "../model/urls";
import { appNodeNames, proxiesOf } from "../plan/names";
import { ConfigText, generatedHeader } from "./text";

const I = "    ";
const II = I + I;

/**
 * nginx.conf for ssl-split: the public plain-HTTP port serves static assets and the second
 * stack; a second, internal listener takes what HAProxy forwards after TLS.
 */
/** nginx's access log line: the client as HAProxy forwarded it, the upstream that answered, and the timings in seconds. */
const ACCESS_LOG_FORMAT =
  '{"time":"$time_iso8601","client":"$remote_addr","forwardedFor":"$http_x_forwarded_for","request":"$request","status":$status,' +
  '"bytes":$body_bytes_sent,"requestTime":$request_time,"upstream":"$upstream_addr","upstreamTime":"$upstream_response_time"}';

export function nginxConfig(model: Model): string {
  const { app, tls } = model;
  if (!proxiesOf(model).nginx || !app || !tls) throw new Error(`topology ${model.topology} does not run nginx`);
  const text = new ConfigText("#");
  generatedHeader(text, "nginx 1.22 configuration", model.topology);
  text.line("worker_processes auto;");
  text.line("pid /tmp/nginx.pid;", "nginx runs as an unprivileged user: its pid and temp files live in /tmp.");
  text.line("error_log stderr warn;", "Logs go to the container's output (docker logs).");
  text.blank();
  text.line("events {");
  text.line("worker_connections 4096;", undefined, I);
  text.line("}");
  text.blank();
  text.line("http {");
  text.line("include /etc/nginx/mime.types;", undefined, I);
  text.line("default_type application/octet-stream;", undefined, I);
  text.line(
    `log_format json escape=json '${ACCESS_LOG_FORMAT}';`,
    "One JSON object per request, like HAProxy's (realtime-kit logs reads them); escape=json escapes what the client sent.",
    I,
  );
  text.line("access_log /dev/stdout json;", undefined, I);
  if (model.clientAddress) {
    const [first, ...rest] = model.clientAddress.trustedProxies;
    text.line(
      `set_real_ip_from ${first};`,
      `clientAddress: a request from the trusted proxies comes from the address they put in ${model.clientAddress.header}\n(its last one); from any other address the header is never believed.`,
      I,
    );
    for (const range of rest) text.line(`set_real_ip_from ${range};`, undefined, I);
    text.line(`real_ip_header ${model.clientAddress.header};`, undefined, I);
  }
  text.line("server_tokens off;", undefined, I);
  text.line("sendfile on;", undefined, I);
  text.line(`client_max_body_size ${model.limits.maxMessageBytes};`, "The same body limit as the rest of the deployment.", I);
  for (const kind of ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]) text.line(`${kind}_temp_path /tmp/nginx-${kind};`, undefined, I);
  text.blank();
  text.line(
    "resolver 127.0.0.11 valid=10s ipv6=off;",
    "Docker's embedded DNS, used at request time (proxy_pass with a variable): nginx starts before the second stack\nexists and follows it when it restarts with a new address.",
    I,
  );
  text.blank();
  text.line("map $http_upgrade $connection_upgrade {", "WebSockets of the second stack: pass Upgrade through and ask for it on the upstream connection.", I);
  text.line("default upgrade;", undefined, II);
  text.line("'' close;", undefined, II);
  text.line("}", undefined, I);
  text.blank();

  server(text, model, app, {
    listen: INTERNAL_PORTS.nginx,
    why: "Public plain-HTTP port.",
    forwardedProto: "$scheme",
    realtime: tls.plainHttpRealtime === "redirect" ? `return 308 ${httpsOrigin(model.hostname, tls)}$request_uri;` : 'return 403 "realtime traffic is served over https only\\n";',
    realtimeWhy:
      tls.plainHttpRealtime === "redirect"
        ? "Realtime traffic is served over TLS only: send plain-http Socket.IO requests to https (308 keeps the method)."
        : "Realtime traffic is served over TLS only: refuse it on plain http.",
  });
  text.blank();
  server(text, model, app, {
    listen: INTERNAL_PORTS.nginxFromHaproxy,
    why: "Internal listener for what HAProxy forwards after TLS; never published, so its X-Forwarded-Proto can be trusted.",
    forwardedProto: "$http_x_forwarded_proto",
    realtime: null,
    realtimeWhy: "",
  });
  text.line("}");
  return text.toString();
}

interface ServerOptions {
  listen: number;
  why: string;
  forwardedProto: string;
  /** What this listener does with realtime paths, or null when they never arrive here. */
  realtime: string | null;
  realtimeWhy: string;
}

function server(text: ConfigText, model: Model, app: AppStack, options: ServerOptions): void {
  const upstream = `http://${appNodeNames(model)[0]}:${app.port}`;
  text.line("server {", options.why, I);
  text.line(`listen ${options.listen};`, undefined, II);
  text.line(`location = ${HEALTH_PATHS.nginx} {`, "Container health check.", II);
  text.line("access_log off;", undefined, II + I);
  text.line('return 200 "ok\\n";', undefined, II + I);
  text.line("}", undefined, II);
  text.line("location /static/ {", "Static assets straight from disk; the second stack never sees these requests.", II);
  text.line(`alias ${CONTAINER_PATHS.staticDir}/;`, undefined, II + I);
  text.line("expires 1h;", undefined, II + I);
  text.line("}", undefined, II);
  if (options.realtime) {
    text.line(`location ${REALTIME_ROUTES.socketIo} {`, options.realtimeWhy, II);
    text.line(options.realtime, undefined, II + I);
    text.line("}", undefined, II);
    text.line(`location = ${REALTIME_ROUTES.echo} {`, undefined, II);
    text.line(options.realtime, undefined, II + I);
    text.line("}", undefined, II);
    text.line(`location ${REALTIME_ROUTES.chatPage} {`, undefined, II);
    text.line(options.realtime, undefined, II + I);
    text.line("}", undefined, II);
  }
  text.line("location / {", "Everything else is the second stack.", II);
  text.line(`set $app_upstream ${upstream};`, undefined, II + I);
  text.line("proxy_pass $app_upstream;", undefined, II + I);
  text.line("proxy_http_version 1.1;", "HTTP/1.1 is required for WebSocket upgrades (nginx defaults to 1.0 upstream).", II + I);
  text.line("proxy_set_header Upgrade $http_upgrade;", undefined, II + I);
  text.line("proxy_set_header Connection $connection_upgrade;", undefined, II + I);
  text.line("proxy_set_header Host $host;", undefined, II + I);
  text.line("proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;", undefined, II + I);
  text.line(`proxy_set_header X-Forwarded-Proto ${options.forwardedProto};`, undefined, II + I);
  text.line(`proxy_connect_timeout ${formatMs(model.timeouts.connectMs)};`, undefined, II + I);
  text.line(
    `proxy_read_timeout ${formatMs(model.timeouts.proxyReadMs)};`,
    `Longer than Socket.IO's heartbeat (${formatMs(model.realtime.pingIntervalMs + model.realtime.pingTimeoutMs)}): idle upgraded connections are not cut.`,
    II + I,
  );
  text.line(`proxy_send_timeout ${formatMs(model.timeouts.proxyReadMs)};`, undefined, II + I);
  text.line("}", undefined, II);
  text.line("}", undefined, I);
}
