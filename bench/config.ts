/**
 * How much load each mode sends. Every load is bounded in connections and in time; the agents
 * stop by themselves when their window ends.
 */
export interface BenchConfig {
  mode: "quick" | "full";
  roundtrip: {
    /** Interleaved direct/entry slice pairs. */
    slices: number;
    sliceMs: number;
    /** Latency: paced clients x events/s each (well below saturation). */
    pacedClients: number;
    ratePerClient: number;
    /** Throughput: closed-loop clients (next event as soon as the ack is back). */
    loadClients: number;
  };
  connections: {
    /** Idle connections held on single's one node, step by step (the node capacity test). */
    nodeSteps: number[];
    /** The same through the other topologies' entry points (for the latency/connections plot). */
    proxiedSteps: number[];
    /** Client containers holding the connections (each its own source address): node test, proxied ramps. */
    holders: number;
    proxiedHolders: number;
    concurrency: number;
    /** Time a holder may spend reaching one step (failed attempts are retried within it). */
    growBudgetMs: number;
    probeMs: number;
    probeClients: number;
    probeRate: number;
  };
  tls: { slices: number; sliceMs: number; concurrency: number };
  broadcast: { receivers: number; messages: number; window: number; repeats: number };
  /**
   * The peer comparison beyond the round trips (bench/peers.ts): idle connections held through each
   * entry, added in `idleSteps` equal steps with the memory read after each; clients per entry when
   * a node is killed.
   */
  peers: { idleConnections: number; idleSteps: number; failoverClients: number };
  builds: { cold: boolean };
}

export const QUICK: BenchConfig = {
  mode: "quick",
  roundtrip: { slices: 4, sliceMs: 1500, pacedClients: 10, ratePerClient: 20, loadClients: 32 },
  connections: { nodeSteps: [0, 2500, 5000], proxiedSteps: [0, 1000, 2000], holders: 4, proxiedHolders: 2, concurrency: 50, growBudgetMs: 90_000, probeMs: 3000, probeClients: 10, probeRate: 20 },
  tls: { slices: 2, sliceMs: 3000, concurrency: 8 },
  broadcast: { receivers: 200, messages: 100, window: 4, repeats: 1 },
  peers: { idleConnections: 1000, idleSteps: 4, failoverClients: 10 },
  builds: { cold: false },
};

export const FULL: BenchConfig = {
  mode: "full",
  roundtrip: { slices: 10, sliceMs: 3000, pacedClients: 10, ratePerClient: 20, loadClients: 64 },
  connections: { nodeSteps: [0, 1000, 2500, 5000, 10000, 15000, 19500], proxiedSteps: [0, 1000, 2500, 5000, 8000], holders: 4, proxiedHolders: 2, concurrency: 50, growBudgetMs: 180_000, probeMs: 5000, probeClients: 10, probeRate: 20 },
  tls: { slices: 4, sliceMs: 5000, concurrency: 8 },
  broadcast: { receivers: 1000, messages: 200, window: 4, repeats: 2 },
  peers: { idleConnections: 4000, idleSteps: 4, failoverClients: 20 },
  builds: { cold: true },
};
