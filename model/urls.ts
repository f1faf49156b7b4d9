/**
 * The public URLs of a deployment, built in one place: the model's default CORS origin, the
 * proxies' redirects to https and the entry points a user is given all come from here.
 */

/** What decides a deployment's public URLs (a Model has it). */
export interface PublicEndpoints {
  hostname: string;
  ports: { http: number; realtime: number | null };
  tls: { httpsPort: number } | null;
}

export interface PublicOrigins {
  http: string;
  /** Where the topology serves https. */
  https: string | null;
  /** The split realtime port's origin, where the option is used. */
  splitRealtime: string | null;
  /** Where Socket.IO answers: https where there is TLS, else the split realtime port, else http. */
  realtime: string;
  /** Where the chat page is served from: https where there is TLS, else http. */
  page: string;
}

export function publicOrigins(endpoints: PublicEndpoints): PublicOrigins {
  const http = origin("http", endpoints.hostname, endpoints.ports.http);
  const https = endpoints.tls ? httpsOrigin(endpoints.hostname, endpoints.tls) : null;
  const splitRealtime = endpoints.ports.realtime !== null ? origin("http", endpoints.hostname, endpoints.ports.realtime) : null;
  return { http, https, splitRealtime, realtime: https ?? splitRealtime ?? http, page: https ?? http };
}

/** Where plain-http realtime requests are redirected to. */
export function httpsOrigin(hostname: string, tls: { httpsPort: number }): string {
  return origin("https", hostname, tls.httpsPort);
}

/** An origin as browsers send it: the port left out when it is the scheme's default. */
function origin(scheme: "http" | "https", hostname: string, port: number): string {
  const defaultPort = scheme === "http" ? 80 : 443;
  return port === defaultPort ? `${scheme}://${hostname}` : `${scheme}://${hostname}:${port}`;
}
