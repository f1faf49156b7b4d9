import { onlyRole } from "./pools";
import { ServiceGroup, type ServiceGroupArgs, type ServiceGroupOptions } from "./service";

export type EdgeProxiesArgs = ServiceGroupArgs;

/**
 * The front door: HAProxy, nginx and stunnel, whichever the topology needs, with the generated
 * configuration files and the TLS material. They publish the entry ports.
 */
export class EdgeProxies extends ServiceGroup {
  constructor(name: string, args: EdgeProxiesArgs, opts?: ServiceGroupOptions) {
    super("realtime-kit:index:EdgeProxies", name, onlyRole(args, "haproxy", "nginx", "stunnel"), opts);
  }
}
