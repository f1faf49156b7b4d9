import { onlyRole } from "./pools";
import { ServiceGroup, type ServiceGroupArgs, type ServiceGroupOptions } from "./service";

export type SharedRedisArgs = ServiceGroupArgs;

/**
 * The Redis the realtime nodes share broadcasts (and, with redis-streams, recovery state) through.
 * Private to the deployment's network; across hosts published on the edge host's private address only.
 */
export class SharedRedis extends ServiceGroup {
  constructor(name: string, args: SharedRedisArgs, opts?: ServiceGroupOptions) {
    super("realtime-kit:index:SharedRedis", name, onlyRole(args, "redis"), opts);
  }
}
