import type Docker from "dockerode";
import { CONTAINER_PATHS } from "../model/layout";
import { execIn } from "./exec";

/** A server's state as HAProxy's runtime API reports it (`show stat`). */
export interface ServerState {
  backend: string;
  server: string;
  /** UP, DOWN, DRAIN, MAINT, "UP 1/2", "DOWN 1/2", ... */
  status: string;
  /** Sessions open to it right now (established WebSockets and requests in flight). */
  sessions: number;
  /** Resolved address, host:port. */
  address: string;
}

/** The administrative state a server can be set to (`set server <b>/<s> state ...`). */
export type AdminState = "ready" | "drain" | "maint";

/**
 * HAProxy's runtime API, spoken over the admin socket inside the HAProxy container (socat, via
 * `docker exec`): never a network port. Used to drain and re-enable pool members.
 */
export class HaproxyRuntime {
  constructor(private readonly container: Docker.Container) {}

  /** Runs one runtime API command and returns its answer. */
  async command(line: string): Promise<string> {
    if (/[\r\n]/.test(line)) throw new Error("one runtime API command at a time");
    const script = `printf '%s\\n' "$1" | socat -t 5 - UNIX-CONNECT:${CONTAINER_PATHS.haproxyRuntimeSocket}`;
    const { exitCode, stdout, stderr } = await execIn(this.container, ["sh", "-c", script, "sh", line]);
    if (exitCode !== 0) throw new Error(`HAProxy runtime API "${line}" failed (exit ${exitCode}): ${stderr.trim() || stdout.trim()}`);
    return stdout;
  }

  async setState(backend: string, server: string, state: AdminState): Promise<void> {
    const answer = (await this.command(`set server ${backend}/${server} state ${state}`)).trim();
    // Success is an empty answer; anything else is HAProxy saying why not.
    if (answer !== "") throw new Error(`set server ${backend}/${server} state ${state}: ${answer}`);
  }

  /**
   * Points a server at another address. New sessions and health checks go there; sessions
   * already open to the old address stay where they are.
   */
  async setAddress(backend: string, server: string, ip: string, port: number): Promise<void> {
    const answer = (await this.command(`set server ${backend}/${server} addr ${ip} port ${port}`)).trim();
    // HAProxy answers "IP changed from ... to ..." (or "no need to change"); anything else is a refusal.
    if (!/changed from|no need to change/i.test(answer)) throw new Error(`set server ${backend}/${server} addr ${ip} port ${port}: ${answer}`);
  }

  /** Every server of `backend`, from `show stat`. */
  async servers(backend: string): Promise<ServerState[]> {
    return (await this.stats(backend))
      .filter((row) => row.svname !== "FRONTEND" && row.svname !== "BACKEND")
      .map((row) => ({ backend, server: row.svname!, status: row.status!, sessions: Number(row.scur ?? 0), address: row.addr ?? "" }));
  }

  /** The backend's balancing algorithm as HAProxy runs it (`source`, `leastconn`, `roundrobin`, ...). */
  async algorithm(backend: string): Promise<string> {
    const algo = (await this.stats(backend)).find((row) => row.svname === "BACKEND")?.algo;
    if (!algo) throw new Error(`HAProxy reports no balancing algorithm for backend ${backend}`);
    return algo;
  }

  /** `show stat` rows of one proxy (its servers, FRONTEND and BACKEND). */
  private async stats(proxy: string): Promise<Record<string, string | undefined>[]> {
    return parseStatCsv(await this.command("show stat")).filter((row) => row.pxname === proxy);
  }

  async server(backend: string, server: string): Promise<ServerState> {
    const found = (await this.servers(backend)).find((state) => state.server === server);
    if (!found) throw new Error(`HAProxy has no server ${backend}/${server}`);
    return found;
  }

  /** `show info` as key/value pairs (Pid, Maxconn, Uptime_sec, ...): what the current worker runs with. */
  async info(): Promise<Record<string, string>> {
    const text = await this.command("show info");
    return Object.fromEntries(
      text
        .split("\n")
        .map((line) => /^([^:]+):\s*(.*)$/.exec(line))
        .filter((match): match is RegExpExecArray => match !== null)
        .map((match) => [match[1]!, match[2]!]),
    );
  }
}

/** HAProxy's stats CSV (`show stat`, or the stats page's `;csv`) as rows keyed by its header (pxname, svname, status, ...). */
export function parseStatCsv(csv: string): Record<string, string>[] {
  const lines = csv.split("\n").filter((line) => line.trim() !== "");
  const header = lines[0]!.replace(/^#\s*/, "").split(",");
  return lines.slice(1).map((line) => Object.fromEntries(line.split(",").map((value, index) => [header[index] ?? String(index), value])));
}
