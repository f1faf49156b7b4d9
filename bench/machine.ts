import os from "node:os";
import { docker } from "../driver/engine";
import type { Deployed } from "./lab";

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  docker: string;
  /** Open-file limit (soft/hard) of a realtime node's process and of a client container. */
  nodeNofile: string;
  clientNofile: string;
  localPortRange: string;
  somaxconn: string;
}

/** What the figures were measured on, and the limits in force inside the containers. */
export async function machineInfo(d: Deployed): Promise<MachineInfo> {
  const version = await docker.version().catch(() => ({ Version: "unknown" }) as { Version: string });
  const read = async (cmd: string[], exec: (cmd: string[]) => Promise<{ exitCode: number; stdout: string }>) => {
    const result = await exec(cmd).catch(() => ({ exitCode: 1, stdout: "" }));
    return result.exitCode === 0 ? result.stdout.trim().replace(/\s+/g, " ") : "unknown";
  };
  const nofile = "grep 'open files' /proc/1/limits | awk '{print $4 \"/\" $5}'";
  const node = d.t.realtimeNodes[0]!;
  const inNode = (cmd: string[]) => d.t.exec(node, cmd);
  const inClient = (cmd: string[]) => d.probe.client.container.exec(cmd);
  return {
    cpu: os.cpus()[0]?.model ?? "unknown",
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    docker: version.Version,
    nodeNofile: await read(["sh", "-c", nofile], inNode),
    clientNofile: await read(["sh", "-c", "ulimit -Sn; ulimit -Hn"], inClient),
    localPortRange: await read(["cat", "/proc/sys/net/ipv4/ip_local_port_range"], inClient),
    somaxconn: await read(["cat", "/proc/sys/net/core/somaxconn"], inNode),
  };
}
