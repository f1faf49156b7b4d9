import { onlyRole } from "./pools";
import { ServiceGroup, type ServiceGroupArgs, type ServiceGroupOptions } from "./service";

export type PrometheusServerArgs = ServiceGroupArgs;

/**
 * The deployment's optional Prometheus server (metrics.prometheus), on the edge host: it scrapes
 * every realtime node and HAProxy, keeps its series in a volume of the stack, and publishes its
 * query API on the host's loopback address only.
 */
export class PrometheusServer extends ServiceGroup {
  constructor(name: string, args: PrometheusServerArgs, opts?: ServiceGroupOptions) {
    super("realtime-kit:index:PrometheusServer", name, onlyRole(args, "prometheus"), opts);
  }
}
