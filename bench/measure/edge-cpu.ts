import fs from "node:fs";
import type Docker from "dockerode";
import type { LatencyReport } from "../agent/latency";
import { sliceBootstrapInterval } from "../stats";

/** A container on an entry path: a proxy or TLS terminator between the clients and the nodes. */
export interface EdgeContainer {
  name: string;
  container: Docker.Container;
}

/** CPU time the edge spent per event carried, over the measured windows only (connecting excluded). */
export interface EdgeCpu {
  /** The containers whose CPU is counted. */
  services: string[];
  /** Microseconds of CPU (user + system, every process of those containers) per echo round trip. */
  usPerEvent: number;
  /** 95% interval over the slices (bootstrap, seeded): how far this run's noise moves it. */
  interval: [number, number] | null;
  events: number;
}

interface Sample {
  at: number;
  ns: number;
}

/**
 * Reads the cgroup CPU usage of a set of containers every `intervalMs` while the agent measures,
 * so that the CPU of each measured window can be taken between the window's own start and end.
 * The counter is read from the cgroup's own file where the engine is this machine's (the bench's
 * case): a stats call costs dockerd a few milliseconds of CPU each, on the cores being measured.
 */
export class CpuSampler {
  private readonly samples = new Map<string, Sample[]>();
  private timer: NodeJS.Timeout | null = null;
  private reading: Promise<void> | null = null;

  private constructor(private readonly edges: EdgeContainer[]) {
    for (const edge of edges) this.samples.set(edge.name, []);
  }

  static async start(edges: EdgeContainer[], intervalMs = 250): Promise<CpuSampler> {
    const sampler = new CpuSampler(edges);
    await sampler.read();
    // A tick while a read is still under way is skipped, never queued. unref: a sampler left
    // running never keeps the process alive.
    sampler.timer = setInterval(() => {
      sampler.reading ??= sampler.read().finally(() => (sampler.reading = null));
    }, intervalMs).unref();
    return sampler;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.reading;
    await this.read();
  }

  /** CPU per event over one target's windows, a slice being its paced window and its closed-loop window. */
  perEvent(windows: { paced: LatencyReport[]; load: LatencyReport[] }): EdgeCpu | null {
    if (this.edges.length === 0) return null;
    const slices = windows.paced.map((paced, i) => [paced, windows.load[i]].filter((window) => window !== undefined)).map((slice) => ({
      ns: slice.reduce((sum, window) => sum + this.usedBetween(window.startedAt, window.startedAt + window.elapsedMs), 0),
      events: slice.reduce((sum, window) => sum + window.events, 0),
    }));
    const events = slices.reduce((sum, slice) => sum + slice.events, 0);
    if (events === 0) return null;
    const us = (picked: typeof slices) => picked.reduce((sum, slice) => sum + slice.ns, 0) / 1000 / Math.max(1, picked.reduce((sum, slice) => sum + slice.events, 0));
    return { services: this.edges.map((edge) => edge.name), usPerEvent: round2(us(slices)), interval: sliceBootstrapInterval(slices, us), events };
  }

  private readonly counters = new Map<string, () => Promise<number | undefined>>();

  private async read(): Promise<void> {
    await Promise.all(
      this.edges.map(async (edge) => {
        if (!this.counters.has(edge.name)) this.counters.set(edge.name, await cpuCounter(edge.container));
        const ns = await this.counters.get(edge.name)!();
        if (typeof ns === "number") this.samples.get(edge.name)!.push({ at: Date.now(), ns });
      }),
    );
  }

  /** CPU (ns) of every edge container between two instants, linear between the samples around them. */
  private usedBetween(from: number, to: number): number {
    let total = 0;
    for (const samples of this.samples.values()) total += valueAt(samples, to) - valueAt(samples, from);
    return total;
  }
}

/** Runs a measurement with a sampler on each set of edge containers, stopped however it ends. */
export async function withCpuSamplers<T>(edgeSets: EdgeContainer[][], measure: () => Promise<T>): Promise<{ result: T; samplers: CpuSampler[] }> {
  const samplers = await Promise.all(edgeSets.map((edges) => CpuSampler.start(edges)));
  try {
    return { result: await measure(), samplers };
  } finally {
    await Promise.all(samplers.map((sampler) => sampler.stop()));
  }
}

function valueAt(samples: Sample[], at: number): number {
  if (samples.length === 0) return 0;
  if (at <= samples[0]!.at) return samples[0]!.ns;
  for (let i = 1; i < samples.length; i++) {
    const [a, b] = [samples[i - 1]!, samples[i]!];
    if (at <= b.at) return a.ns + ((b.ns - a.ns) * (at - a.at)) / Math.max(1, b.at - a.at);
  }
  return samples[samples.length - 1]!.ns;
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

/**
 * The container's cumulative CPU time (ns): its cgroup's counter file when this machine runs the
 * engine (cgroup v1 cpuacct.usage; v2 cpu.stat usage_usec, under the cgroupfs or the systemd
 * driver's path), else Docker's one-shot stats (the same counter, through the API).
 */
async function cpuCounter(container: Docker.Container): Promise<() => Promise<number | undefined>> {
  const id = (await container.inspect()).Id;
  const files = [
    { file: `/sys/fs/cgroup/cpuacct/docker/${id}/cpuacct.usage`, ns: (text: string) => Number(text.trim()) },
    { file: `/sys/fs/cgroup/cpu,cpuacct/docker/${id}/cpuacct.usage`, ns: (text: string) => Number(text.trim()) },
    { file: `/sys/fs/cgroup/docker/${id}/cpu.stat`, ns: usageUsec },
    { file: `/sys/fs/cgroup/system.slice/docker-${id}.scope/cpu.stat`, ns: usageUsec },
  ];
  const found = files.find((candidate) => fs.existsSync(candidate.file));
  if (found) return async () => found.ns(await fs.promises.readFile(found.file, "utf8"));
  return async () => {
    const stats = (await container.stats({ stream: false, "one-shot": true } as { stream: false })) as unknown as { cpu_stats?: { cpu_usage?: { total_usage?: number } } };
    return stats.cpu_stats?.cpu_usage?.total_usage;
  };
}

function usageUsec(text: string): number | undefined {
  const match = /^usage_usec (\d+)$/m.exec(text);
  return match ? Number(match[1]) * 1000 : undefined;
}
