import type { Deployment } from "../render/deployment";
import type { Model } from "../model/model";
import { publicOrigins } from "../model/urls";

export interface TopologyUrls {
  /** Public plain-HTTP origin, e.g. http://localhost:18080. */
  http: string;
  /** Public https origin (TLS topologies). */
  https: string | null;
  /** Split-port realtime origin. */
  realtimePort: string | null;
  /** Where Socket.IO clients connect from this machine. */
  realtime: string;
  /** The chat page. */
  chat: string;
  /** The deployment's Prometheus server (metrics.prometheus), on the loopback address. */
  prometheus: string | null;
}

/** The same entry points as seen from a container on the deployment's network. */
export interface InternalUrls {
  http: string | null;
  https: string | null;
  realtimePort: string | null;
  realtime: string;
}

/** Where the deployment's entry points answer from this machine. */
export function urlsOf(model: Model): TopologyUrls {
  const origins = publicOrigins(model);
  const prometheus = model.prometheus ? `http://127.0.0.1:${model.prometheus.port}` : null;
  return { http: origins.http, https: origins.https, realtimePort: origins.splitRealtime, realtime: origins.realtime, chat: `${origins.page}/chat/`, prometheus };
}

/** The entry points as services on the deployment's network answer them. */
export function internalUrlsOf(deployment: Deployment): InternalUrls {
  const find = (name: "http" | "https" | "realtime"): string | null => {
    for (const service of deployment.services) {
      const port = service.publish.find((published) => published.name === name);
      if (port) return `${name === "https" ? "https" : "http"}://${service.name}:${port.containerPort}`;
    }
    return null;
  };
  const http = find("http");
  const https = find("https");
  const realtimePort = find("realtime");
  return { http, https, realtimePort, realtime: https ?? realtimePort ?? http! };
}
