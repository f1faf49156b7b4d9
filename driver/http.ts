import http from "node:http";
import https from "node:https";

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface HttpOptions {
  /** PEM of the CA to trust for https (verification stays on). */
  ca?: string;
  method?: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/**
 * The one way this module talks HTTP(S): no redirect following, no connection reuse, TLS verified
 * against `ca` when given. `send` writes the request's body (if any) and ends it. Resolves with the
 * whole answer; rejects on a connection error or when no answer comes within `timeoutMs`.
 */
function exchange(url: string, options: { method: string; headers?: Record<string, string>; ca?: string; timeoutMs: number }, send: (request: http.ClientRequest) => void): Promise<HttpResponse> {
  const target = new URL(url);
  const client = target.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.request(target, { method: options.method, headers: options.headers, agent: false, ...(options.ca ? { ca: options.ca } : {}) }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString("utf8") }));
      response.on("error", reject);
    });
    request.setTimeout(options.timeoutMs, () => request.destroy(new Error(`no response from ${url} within ${options.timeoutMs} ms`)));
    request.on("error", reject);
    send(request);
  });
}

/** One HTTP(S) request with no redirect following and no connection reuse; TLS is verified. */
export function httpRequest(url: string, options: HttpOptions = {}): Promise<HttpResponse> {
  return exchange(url, { method: options.method ?? "GET", headers: options.headers, ca: options.ca, timeoutMs: options.timeoutMs ?? 10_000 }, (request) => request.end());
}

export interface BodyOptions {
  ca?: string;
  headers?: Record<string, string>;
  /** Send the body as Transfer-Encoding: chunked, in 16 KB chunks, with no Content-Length. */
  chunked?: boolean;
  /**
   * With a Content-Length: ask first (`Expect: 100-continue`) and send the body only when the
   * server says to, as curl does for large bodies; a refusal then arrives before any body byte.
   */
  expectContinue?: boolean;
  timeoutMs?: number;
}

/**
 * POSTs a body and resolves with the answer; rejects if the connection fails before one arrives
 * (a reset is not an answer: callers that expect a refusal must see its status).
 */
export function sendBody(url: string, body: Buffer, options: BodyOptions = {}): Promise<HttpResponse> {
  const headers: Record<string, string> = { "Content-Type": "text/plain;charset=UTF-8", ...options.headers };
  if (!options.chunked) headers["Content-Length"] = String(body.length);
  if (options.expectContinue && !options.chunked) headers.Expect = "100-continue";
  return exchange(url, { method: "POST", headers, ca: options.ca, timeoutMs: options.timeoutMs ?? 20_000 }, (request) => {
    if (options.chunked) {
      for (let offset = 0; offset < body.length; offset += 16_384) request.write(body.subarray(offset, offset + 16_384));
      request.end();
    } else if (options.expectContinue) {
      request.on("continue", () => request.end(body));
    } else request.end(body);
  });
}
