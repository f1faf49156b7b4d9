import { SOCKET_IO_PATH } from "@realtime-kit/server";

export { DEFAULT_HEALTH_PATH, SOCKET_IO_PATH } from "@realtime-kit/server";

export function pathnameOf(url: string | undefined): string {
  const u = url ?? "/";
  const q = u.indexOf("?");
  return q === -1 ? u : u.slice(0, q);
}

/** Paths the node answers itself on its main port, whatever APP_UPSTREAM says. */
export function isOwnPath(p: string, healthPath: string): boolean {
  return p === "/chat" || p.startsWith("/chat/") || p === healthPath || p === "/stats" || p.startsWith("/stats/");
}

export function isSocketIoPath(url: string | undefined): boolean {
  return (url ?? "").startsWith(SOCKET_IO_PATH);
}

export function isEchoPath(p: string): boolean {
  return p === "/echo" || p === "/echo/";
}
