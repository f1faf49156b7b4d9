import type { Readable } from "node:stream";
import type Docker from "dockerode";
import { ConfigError } from "../model/errors";
import { KIT_LABEL, SEED_LABEL, SERVICE_LABEL } from "../model/labels";

/** One line a service wrote, as `docker logs --timestamps` gives it. */
export interface LogLine {
  service: string;
  /** The engine's timestamp of the line (RFC 3339, nanoseconds). */
  at: string;
  stream: "stdout" | "stderr";
  text: string;
  /**
   * The line parsed: a JSON object (every line of a kit image: what its program does not write as
   * JSON, run-with-json-logs turns into JSON); null for any other line (an image of one's own may write text).
   */
  fields: Record<string, unknown> | null;
}

export interface ServiceContainer {
  service: string;
  container: Docker.Container;
}

/**
 * The containers of a deployment, by the kit's labels: every container carrying KIT_LABEL=<label>
 * (a run id of `up`, or a Pulumi stack's name) and a service name, seeds left out.
 */
export async function deploymentContainers(engine: Docker, label: string): Promise<ServiceContainer[]> {
  const found = await engine.listContainers({ all: true, filters: JSON.stringify({ label: [`${KIT_LABEL}=${label}`] }) });
  return found
    .filter((info) => info.Labels[SERVICE_LABEL] !== undefined && info.Labels[SEED_LABEL] === undefined)
    .map((info) => ({ service: info.Labels[SERVICE_LABEL]!, container: engine.getContainer(info.Id) }))
    .sort((a, b) => a.service.localeCompare(b.service, undefined, { numeric: true }));
}

/**
 * The containers `wanted` names: a service (`realtime-2`), or a pool or role by its prefix
 * (`realtime` for every realtime node); every one when `wanted` is undefined.
 */
export function selectServices(all: ServiceContainer[], wanted: string | undefined, label: string): ServiceContainer[] {
  if (all.length === 0) throw new ConfigError("--deployment", `no container on the deployment's Docker engine(s) carries ${KIT_LABEL}=${label}; name a running deployment (an \`up\` run id or a Pulumi stack name)`);
  if (wanted === undefined) return all;
  const chosen = all.filter((entry) => entry.service === wanted || entry.service.replace(/-\d+$/, "") === wanted);
  if (chosen.length === 0) {
    const services = [...new Set(all.map((entry) => entry.service))].join(", ");
    throw new ConfigError("service", `${label} has no service ${JSON.stringify(wanted)}; its services are ${services} (or a pool: ${[...new Set(all.map((entry) => entry.service.replace(/-\d+$/, "")))].join(", ")})`);
  }
  return chosen;
}

/** Every line the containers wrote (since `sinceSeconds` ago, or all), merged in time order. */
export async function readLogs(entries: ServiceContainer[], options: { sinceSeconds?: number } = {}): Promise<LogLine[]> {
  const since = options.sinceSeconds === undefined ? 0 : Math.floor(Date.now() / 1000 - options.sinceSeconds);
  const all: LogLine[] = [];
  for (const { service, container } of entries) {
    const raw = (await container.logs({ stdout: true, stderr: true, timestamps: true, follow: false, since })) as Buffer;
    const reader = new LogFrames(service, (line) => all.push(line));
    reader.push(raw);
    reader.end();
  }
  // RFC 3339 timestamps in UTC with the same precision sort as text.
  return all.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
}

/** Streams every new line of the containers to `onLine` until `signal` aborts; resolves then. */
export async function followLogs(entries: ServiceContainer[], onLine: (line: LogLine) => void, signal: AbortSignal): Promise<void> {
  const since = Math.floor(Date.now() / 1000);
  const streams = await Promise.all(
    entries.map(async ({ service, container }) => {
      const stream = (await container.logs({ stdout: true, stderr: true, timestamps: true, follow: true, since })) as unknown as Readable;
      const reader = new LogFrames(service, onLine);
      stream.on("data", (chunk: Buffer) => reader.push(chunk));
      stream.on("end", () => reader.end());
      stream.on("error", () => reader.end());
      return stream;
    }),
  );
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    signal.addEventListener("abort", () => resolve(), { once: true });
  });
  for (const stream of streams) stream.destroy();
}

/**
 * Docker's multiplexed log stream (a container without a TTY): frames of an 8-byte header (stream
 * type, length) and a payload; a line may span frames, so text is gathered per stream until its
 * newline.
 */
class LogFrames {
  private pending = Buffer.alloc(0);
  private readonly partial: Record<"stdout" | "stderr", string> = { stdout: "", stderr: "" };

  constructor(
    private readonly service: string,
    private readonly onLine: (line: LogLine) => void,
  ) {}

  push(chunk: Buffer): void {
    this.pending = Buffer.concat([this.pending, chunk]);
    while (this.pending.length >= 8) {
      const size = this.pending.readUInt32BE(4);
      if (this.pending.length < 8 + size) break;
      const stream = this.pending[0] === 2 ? "stderr" : "stdout";
      const text = this.partial[stream] + this.pending.subarray(8, 8 + size).toString("utf8");
      this.pending = this.pending.subarray(8 + size);
      const lines = text.split("\n");
      this.partial[stream] = lines.pop()!;
      for (const line of lines) this.emit(stream, line);
    }
  }

  end(): void {
    for (const stream of ["stdout", "stderr"] as const) {
      if (this.partial[stream] !== "") this.emit(stream, this.partial[stream]);
      this.partial[stream] = "";
    }
  }

  private emit(stream: "stdout" | "stderr", timestamped: string): void {
    const space = timestamped.indexOf(" ");
    const at = space > 0 ? timestamped.slice(0, space) : "";
    const text = (space > 0 ? timestamped.slice(space + 1) : timestamped).replace(/\r$/, "");
    this.onLine({ service: this.service, at, stream, text, fields: parseObject(text) });
  }
}

function parseObject(text: string): Record<string, unknown> | null {
  if (!text.startsWith("{")) return null;
  try {
    const value = JSON.parse(text) as unknown;
    return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** A line for people: service, time of day, and the text as written. */
export function formatLine(line: LogLine, serviceWidth: number): string {
  const time = line.at.slice(11, 23);
  return `${line.service.padEnd(serviceWidth)}  ${time}  ${line.text}`;
}

/** A line for programs (`--json`): one object, the service and time first, then the line's own fields (or its text as `msg`). */
export function jsonLine(line: LogLine): string {
  return JSON.stringify({ service: line.service, at: line.at, stream: line.stream, ...(line.fields ?? { msg: line.text }) });
}
