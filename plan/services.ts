import { CONTAINER_PATHS, CROSS_HOST_PORTS, IMAGE_NAMES, INTERNAL_PORTS, REALTIME_ROUTES, type ImageName } from "../model/layout";
import type { Model } from "../model/model";
import { publicOrigins } from "../model/urls";
import type { GeneratedFile } from "./files";
import { confinementOf, type Confinement } from "./hardening";
import { formatMs } from "../model/model";
import { appMembers, edgeHost, metricsTargetOf, proxiesOf, realtimeMembers, redisCrossHost, type PoolMember } from "./names";
import { realtimeNodeEnvironment } from "./realtime-env";

/** A port a service publishes on the host. */
export interface PublishedPort {
  /** An entry port (http, https, realtime), or a port another host of a multi-host deployment connects to. */
  name: "http" | "https" | "realtime" | "cross-host" | "metrics" | "admin-ui";
  hostPort: number;
  containerPort: number;
  /**
   * Host address to bind: set for cross-host ports (the machine's private address only) and for
   * Prometheus (127.0.0.1: operators only); absent means the driver's public address.
   */
  hostIp?: string;
}

/** One container of a deployment, everything a driver (Pulumi, test harness) needs to run it. */
export interface ServiceSpec extends Confinement {
  /** Container name suffix and network alias, e.g. `realtime-2`. */
  name: string;
  role: ImageName;
  image: string;
  env: Record<string, string>;
  /** Port peers and health checks use inside the network. */
  port: number;
  /** Generated files this service reads, mounted read-only at `containerPath`. */
  configFiles: { file: GeneratedFile; containerPath: string }[];
  /**
   * Whether the operator's TLS certificate and key are mounted (at CONTAINER_PATHS.tlsCert/tlsKey,
   * the key root-owned with mode 0600). Such a service starts as root to read the key and its
   * program drops to an unprivileged user itself (stunnel setuid, HAProxy user/group).
   */
  mountsTls: boolean;
  /** User the container starts as, when not the image's own unprivileged default. */
  user: string | null;
  /** Host folder whose files the service serves from CONTAINER_PATHS.staticDir. */
  staticDir: string | null;
  /**
   * Folder the service keeps its state in (Prometheus's series): a named volume of the deployment,
   * writable, kept when the container is replaced, removed with the deployment.
   */
  dataDir: string | null;
  /**
   * Docker's restart policy. A process that exits on its own (a crash, or stunnel restarting to
   * read a renewed key) comes back; `docker stop` and `docker kill` are left alone.
   */
  restart: "unless-stopped";
  /** Only the public entry points publish anything (and, across hosts, what another host must reach). */
  publish: PublishedPort[];
  /** Machine it runs on (a name from the model's `hosts`); null when everything runs on one Docker engine. */
  host: string | null;
}

/** A URL a user is given after deploying. */
export interface Entrypoint {
  name: string;
  url: string;
  what: string;
}

/** The containers a topology runs, in start order (dependencies first): the one place that knows the shape. */
export function planServices(model: Model, realtimeEnv: Record<string, string>): ServiceSpec[] {
  const proxies = proxiesOf(model);
  const services: ServiceSpec[] = [];
  // Without hosts everything shares one engine (host null); with hosts the edge host runs all but the pools' remote members.
  const edge = edgeHost(model)?.name ?? null;
  type Derived = "configFiles" | "mountsTls" | "user" | "staticDir" | "dataDir" | "publish" | "env" | "host" | "restart" | keyof Confinement;
  const service = (spec: Omit<ServiceSpec, Derived> & Partial<Pick<ServiceSpec, Derived>>): void => {
    const mountsTls = spec.mountsTls ?? false;
    const base = { configFiles: [], staticDir: null, dataDir: null, publish: [], env: {}, host: edge, restart: "unless-stopped" as const, ...spec, mountsTls, user: mountsTls ? "root" : null };
    services.push({ ...base, ...confinementOf(spec.role, spec.image, kitImage(spec.role), mountsTls, model) });
  };
  const http = (containerPort: number): PublishedPort => ({ name: "http", hostPort: model.ports.http, containerPort });
  const https = (containerPort: number): PublishedPort[] => (model.tls ? [{ name: "https", hostPort: model.tls.httpsPort, containerPort }] : []);
  const realtimeSplit = (containerPort: number): PublishedPort[] =>
    model.ports.realtime === null ? [] : [{ name: "realtime", hostPort: model.ports.realtime, containerPort }];
  const crossHost = (member: PoolMember): PublishedPort[] =>
    member.crossHost ? [{ name: "cross-host", hostIp: member.crossHost.address, hostPort: member.crossHost.port, containerPort: member.port }] : [];
  // A realtime node on another host than Prometheus (which runs on the edge host) publishes its metrics port on its private address.
  const crossHostMetrics = (member: PoolMember): PublishedPort[] => {
    const target = metricsTargetOf(model, member);
    return target.crossHost ? [{ name: "cross-host", hostIp: target.crossHost.address, hostPort: target.crossHost.port, containerPort: INTERNAL_PORTS.realtimeMetrics }] : [];
  };

  // One node's admin listener for operators, on its host's loopback address: the UI sees every node through it.
  const adminUi = (member: PoolMember): PublishedPort[] =>
    model.adminUi && member.number === 1 ? [{ name: "admin-ui", hostIp: "127.0.0.1", hostPort: model.adminUi.port, containerPort: INTERNAL_PORTS.adminUi }] : [];

  if (proxies.redis) {
    const edgeAddress = edgeHost(model)?.address;
    const publish: PublishedPort[] =
      edgeAddress !== undefined && redisCrossHost(model)
        ? [{ name: "cross-host", hostIp: edgeAddress, hostPort: CROSS_HOST_PORTS.redis, containerPort: INTERNAL_PORTS.redisTls }]
        : [];
    service({ name: "redis", role: "redis", image: kitImage("redis"), port: INTERNAL_PORTS.redis, publish });
  }
  const app = model.app;
  if (app) {
    for (const member of appMembers(model)) {
      const { name } = member;
      service({ name, role: "app", image: app.image, port: app.port, env: { PORT: String(app.port), HEALTH_PATH: app.healthPath, NODE_ID: name, MAX_BODY_BYTES: String(model.limits.maxMessageBytes) }, publish: crossHost(member), host: member.host });
    }
  }
  const realtimeInFront = model.front === "node";
  for (const member of realtimeMembers(model)) {
    service({
      name: member.name,
      role: "realtime",
      image: model.realtime.image,
      port: INTERNAL_PORTS.realtime,
      env: realtimeNodeEnvironment(model, member, realtimeEnv),
      publish: [...(realtimeInFront ? [http(INTERNAL_PORTS.realtime), ...realtimeSplit(INTERNAL_PORTS.realtimeSplit)] : crossHost(member)), ...crossHostMetrics(member), ...adminUi(member)],
      host: member.host,
    });
  }
  if (proxies.nginx) {
    service({
      name: "nginx",
      role: "nginx",
      image: kitImage("nginx"),
      port: INTERNAL_PORTS.nginx,
      configFiles: [{ file: "nginx.conf", containerPath: CONTAINER_PATHS.nginxConfig }],
      staticDir: model.staticDir,
      publish: [http(INTERNAL_PORTS.nginx)],
    });
  }
  if (proxies.haproxy) {
    const publish: PublishedPort[] = [];
    if (model.front === "haproxy") publish.push(http(INTERNAL_PORTS.haproxyHttp));
    publish.push(...realtimeSplit(INTERNAL_PORTS.haproxyRealtimeSplit));
    const nativeTls = model.tls?.terminator === "haproxy";
    if (nativeTls) publish.push(...https(INTERNAL_PORTS.haproxyTls));
    service({
      name: "haproxy",
      role: "haproxy",
      image: kitImage("haproxy"),
      port: INTERNAL_PORTS.haproxyHttp,
      configFiles: [{ file: "haproxy.cfg", containerPath: CONTAINER_PATHS.haproxyConfig }],
      mountsTls: nativeTls,
      publish,
    });
  }
  if (proxies.stunnel) {
    service({
      name: "stunnel",
      role: "stunnel",
      image: kitImage("stunnel"),
      port: INTERNAL_PORTS.stunnel,
      configFiles: [{ file: "stunnel.conf", containerPath: CONTAINER_PATHS.stunnelConfig }],
      mountsTls: true,
      publish: https(INTERNAL_PORTS.stunnel),
    });
  }
  if (model.prometheus) {
    service({
      name: "prometheus",
      role: "prometheus",
      image: kitImage("prometheus"),
      port: INTERNAL_PORTS.prometheus,
      env: { RETENTION: formatMs(model.prometheus.retentionMs) },
      configFiles: [{ file: "prometheus.yml", containerPath: CONTAINER_PATHS.prometheusConfig }],
      dataDir: CONTAINER_PATHS.prometheusData,
      // For operators: the loopback address of the edge host, whatever address the entry ports use.
      publish: [{ name: "metrics", hostIp: "127.0.0.1", hostPort: model.prometheus.port, containerPort: INTERNAL_PORTS.prometheus }],
    });
  }

  return services;
}

/** The URLs a user is given after deploying. */
export function entrypointsOf(model: Model): Entrypoint[] {
  const origins = publicOrigins(model);
  if (origins.https !== null) {
    return [
      { name: "chat", url: `${origins.https}${REALTIME_ROUTES.chatPage}`, what: "the chat page (Socket.IO over TLS)" },
      { name: "realtime", url: origins.realtime, what: "Socket.IO endpoint (wss:// and https:// long-polling)" },
      { name: "site", url: `${origins.http}/`, what: "the second stack over plain http" },
      { name: "site-tls", url: `${origins.https}/`, what: "the second stack over https" },
      ...prometheusEntrypoint(model),
      ...adminUiEntrypoint(model),
    ];
  }
  const entrypoints: Entrypoint[] = [
    { name: "chat", url: `${origins.http}${REALTIME_ROUTES.chatPage}`, what: "the chat page" },
    { name: "realtime", url: origins.realtime, what: "Socket.IO endpoint (ws:// and long-polling)" },
  ];
  if (model.app) entrypoints.push({ name: "site", url: `${origins.http}/`, what: "the second stack, through the front door" });
  return [...entrypoints, ...prometheusEntrypoint(model), ...adminUiEntrypoint(model)];
}

/** Prometheus's query API and UI: on the edge host's loopback address, so a multi-host operator reaches it through an SSH tunnel. */
function prometheusEntrypoint(model: Model): Entrypoint[] {
  if (!model.prometheus) return [];
  const where = model.placement ? ` on ${model.placement.hosts[0]!.name} (ssh -L ${model.prometheus.port}:127.0.0.1:${model.prometheus.port})` : "";
  return [{ name: "prometheus", url: `http://127.0.0.1:${model.prometheus.port}/`, what: `Prometheus: every node's metrics and HAProxy's (loopback only${where})` }];
}

/** The admin UI: realtime-1's admin listener, on its host's loopback address. */
function adminUiEntrypoint(model: Model): Entrypoint[] {
  if (!model.adminUi) return [];
  const host = realtimeMembers(model)[0]?.host;
  const where = host ? ` on ${host} (ssh -L ${model.adminUi.port}:127.0.0.1:${model.adminUi.port})` : "";
  return [{ name: "admin-ui", url: `http://127.0.0.1:${model.adminUi.port}/`, what: `@socket.io/admin-ui for every node: user ${model.adminUi.username}, password made per deployment (loopback only${where})` }];
}

/** The kit's own image for a role, as built from images/<role> (`realtime-kit/<role>:latest`). */
export function kitImage(role: ImageName): string {
  return `${IMAGE_NAMES[role]}:latest`;
}
