import net from "node:net";
import type { Deployment } from "../render/deployment";
import { ConfigError } from "../model/errors";

/** Resolves when `port` can be bound on `host`, rejects with the listen error otherwise. */
function tryListen(port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once("error", reject);
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve()));
  });
}

/**
 * Fails with a ConfigError naming the model field (`ports.http`, ...) when a port the
 * deployment publishes is already taken on this machine, before any container starts.
 */
export async function assertPortsFree(deployment: Deployment): Promise<void> {
  for (const service of deployment.services) {
    for (const published of service.publish) {
      try {
        // 0.0.0.0 conflicts with a listener on any IPv4 address, the loopback included.
        await tryListen(published.hostPort, "0.0.0.0");
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        const why =
          code === "EADDRINUSE"
            ? "is already in use on this machine"
            : code === "EACCES"
              ? "needs privileges to bind (ports below 1024); choose a port from 1024 up or run as root"
              : `cannot be bound (${code ?? String(error)})`;
        const option = published.name === "metrics" ? "metrics.port" : `ports.${published.name}`;
        throw new ConfigError(option, `${published.hostPort} ${why}; choose a free port, e.g. --set ${option}=<port>`);
      }
    }
  }
}

/** `count` distinct TCP ports that are free right now (bound to port 0 by the OS, then released). */
export async function freePorts(count: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    const ports: number[] = [];
    while (ports.length < count) {
      const server = net.createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen({ port: 0, host: "0.0.0.0", exclusive: true }, () => resolve());
      });
      ports.push((server.address() as net.AddressInfo).port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}

/** Whether a TCP connection to host:port is accepted within `timeoutMs`. */
export function canConnect(port: number, host = "127.0.0.1", timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (result: boolean) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}
