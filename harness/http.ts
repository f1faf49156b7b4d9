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

/** One HTTP(S) request with no redirect following and no connection reuse; TLS is verified. */
export function httpRequest(url: string, options: HttpOptions = {}): Promise<HttpResponse> {
  const target = new URL(url);
  const client = target.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.request(
      target,
      { method: options.method ?? "GET", headers: options.headers, agent: false, ...(options.ca ? { ca: options.ca } : {}) },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString("utf8") }));
        response.on("error", reject);
      },
    );
    request.setTimeout(options.timeoutMs ?? 10_000, () => request.destroy(new Error(`no response from ${url} within ${options.timeoutMs ?? 10_000} ms`)));
    request.on("error", reject);
    request.end();
  });
}
