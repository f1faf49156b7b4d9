/**
 * What each topology is, in one table: the schema, the model's rules, the plan, the renderers, the
 * CLI help, the bench and the docs read these facts here instead of comparing topology names.
 */

export const TOPOLOGY_NAMES = ["single", "node-proxy", "ssl-split", "multi-node"] as const;
export type Topology = (typeof TOPOLOGY_NAMES)[number];

/** Who may terminate TLS; stunnel first because it is the chapter's way and the default. */
export const TLS_TERMINATORS = ["stunnel", "haproxy"] as const;
export type TlsTerminator = (typeof TLS_TERMINATORS)[number];

/** Who answers the public http port. */
export type Front = "node" | "haproxy" | "nginx";
/** The fronts the `front` option chooses between, the default first. */
export const FRONT_CHOICES = ["node", "haproxy"] as const satisfies readonly Front[];

export interface TopologyDescriptor {
  /** One line for `realtime-kit topologies`, the generated README and the docs. */
  summary: string;
  /** Serves https next to http, terminated by one of `terminators`; null: plain http only. */
  tls: { terminators: readonly TlsTerminator[] } | null;
  /** Who answers the public http port; with several, the `front` option chooses and the first is the default. */
  fronts: readonly Front[];
  /**
   * The second stack (the app) and what passes it requests: the front itself, or nginx (which
   * then answers the http port and takes what HAProxy forwards after TLS). null: no second stack.
   */
  secondStack: { proxiedBy: "front" | "nginx" } | null;
  /**
   * Realtime and app node counts: exactly one each, or pools of `defaultNodes` that options may
   * resize and spread over hosts, sharing Socket.IO state through Redis and keeping sessions sticky.
   */
  pools: { defaultNodes: number; resizable: boolean };
  /** Socket.IO may move to a public port of its own (the split-port option). */
  splitRealtimePort: boolean;
  /** nginx serves a folder of static assets under /static/. */
  staticAssets: boolean;
}

export const TOPOLOGIES: Record<Topology, TopologyDescriptor> = {
  single: {
    summary: "one Socket.IO server on the http port serving the page, static files and /socket.io/",
    tls: null,
    fronts: ["node"],
    secondStack: null,
    pools: { defaultNodes: 1, resizable: false },
    splitRealtimePort: true,
    staticAssets: false,
  },
  "node-proxy": {
    summary:
      "the Socket.IO server in front, proxying every non-realtime route to a second stack that has no public port (or HAProxy in front with front: haproxy)",
    tls: null,
    fronts: FRONT_CHOICES,
    secondStack: { proxiedBy: "front" },
    pools: { defaultNodes: 1, resizable: false },
    splitRealtimePort: true,
    staticAssets: false,
  },
  "ssl-split": {
    summary:
      "nginx on http serves static assets and the second stack; stunnel on https hands to HAProxy, which routes /socket.io/ to the realtime server and the rest to nginx",
    tls: { terminators: TLS_TERMINATORS },
    fronts: ["nginx"],
    secondStack: { proxiedBy: "nginx" },
    pools: { defaultNodes: 1, resizable: false },
    splitRealtimePort: false,
    staticAssets: true,
  },
  "multi-node": {
    summary:
      "HAProxy round-robin over an app pool on http; https -> TLS -> HAProxy -> app pool and a sticky Socket.IO pool sharing broadcasts through Redis",
    tls: { terminators: TLS_TERMINATORS },
    fronts: ["haproxy"],
    secondStack: { proxiedBy: "front" },
    pools: { defaultNodes: 2, resizable: true },
    splitRealtimePort: false,
    staticAssets: false,
  },
};

/** The topologies with a feature, in table order. */
export function topologiesWith(feature: (descriptor: TopologyDescriptor) => boolean): Topology[] {
  return TOPOLOGY_NAMES.filter((name) => feature(TOPOLOGIES[name]));
}

/** Names as a sentence lists them: "a", "a and b", "a, b and c" (or "a, b or c"). */
export function listed(names: readonly string[], conjunction: "and" | "or" = "and"): string {
  return names.length <= 1 ? names.join("") : `${names.slice(0, -1).join(", ")} ${conjunction} ${names[names.length - 1]}`;
}

/** An option only some topologies take, tied to the feature that gives it meaning. */
interface OptionFit {
  option: string;
  fits: (descriptor: TopologyDescriptor) => boolean;
  /** Why it means nothing elsewhere, given the topologies it fits and the one it was set for. */
  why: (fitting: string, topology: Topology) => string;
}

const hasTls = (d: TopologyDescriptor) => d.tls !== null;
const resizable = (d: TopologyDescriptor) => d.pools.resizable;

/**
 * The options each topology allows follow from its features: setting one anywhere else is an
 * error, so a user who writes `realtime.stickiness` for `single` learns it does nothing instead of guessing.
 */
const OPTION_FITS: OptionFit[] = [
  { option: "front", fits: (d) => d.fronts.length > 1, why: (fitting) => `only ${fitting} has a choice of front proxy` },
  { option: "ports.https", fits: hasTls, why: (fitting) => `only ${fitting} serve https` },
  {
    option: "ports.realtime",
    fits: (d) => d.splitRealtimePort,
    why: (fitting) => `the split-port option is for ${fitting} (TLS topologies route realtime traffic by path)`,
  },
  { option: "tls", fits: hasTls, why: (fitting) => `only ${fitting} terminate TLS` },
  { option: "plainHttpRealtime", fits: hasTls, why: (fitting) => `only ${fitting} have a plain http port next to https` },
  { option: "staticDir", fits: (d) => d.staticAssets, why: (fitting) => `only ${fitting} has nginx serving static assets` },
  { option: "app", fits: (d) => d.secondStack !== null, why: (_, topology) => `${topology} has no second stack` },
  { option: "realtime.stickiness", fits: resizable, why: () => "stickiness only matters with several realtime nodes" },
  { option: "realtime.cookieName", fits: resizable, why: () => "the stickiness cookie only matters with several realtime nodes" },
  { option: "realtime.adapter", fits: resizable, why: (fitting) => `only ${fitting} shares state through Redis` },
  { option: "hosts", fits: resizable, why: (fitting) => `only ${fitting} has pools to spread over several machines` },
  { option: "realtime.hosts", fits: resizable, why: (fitting) => `only ${fitting} has pools to spread over several machines` },
  { option: "app.hosts", fits: resizable, why: (fitting) => `only ${fitting} has pools to spread over several machines` },
];

/** Options the topology does not allow, each with why and the topologies that do allow it. */
export function misfitOptions(topology: Topology): { option: string; why: string; fitting: Topology[] }[] {
  return OPTION_FITS.filter((fit) => !fit.fits(TOPOLOGIES[topology])).map((fit) => {
    const fitting = topologiesWith(fit.fits);
    return { option: fit.option, why: fit.why(listed(fitting), topology), fitting };
  });
}
