import { ServiceGroup, type ServiceGroupArgs, type ServiceGroupOptions } from "./service";

export type RealtimePoolArgs = ServiceGroupArgs;
export type AppPoolArgs = ServiceGroupArgs;

/**
 * The Socket.IO nodes. In single and node-proxy (front: node) the node is the front door and
 * publishes the entry port; elsewhere HAProxy balances over them and they publish nothing
 * (except, across hosts, their cross-host port).
 */
export class RealtimePool extends ServiceGroup {
  constructor(name: string, args: RealtimePoolArgs, opts?: ServiceGroupOptions) {
    super("realtime-kit:index:RealtimePool", name, onlyRole(args, "realtime"), opts);
  }
}

/** The second stack's nodes: reached only through the front door, never published (except across hosts). */
export class AppPool extends ServiceGroup {
  constructor(name: string, args: AppPoolArgs, opts?: ServiceGroupOptions) {
    super("realtime-kit:index:AppPool", name, onlyRole(args, "app"), opts);
  }
}

export function onlyRole<T extends ServiceGroupArgs>(args: T, ...roles: string[]): T {
  const stray = args.services.find((spec) => !roles.includes(spec.role));
  if (stray) throw new Error(`${stray.name} (${stray.role}) does not belong with ${roles.join("/")} services`);
  return args;
}
