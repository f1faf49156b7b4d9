import type { Model } from "../model/model";

/**
 * Names of the services a model deploys. They are container names and network aliases at once,
 * so every generated config can address a peer by name.
 */
export const realtimeNodeNames = (model: Model): string[] => numbered("realtime", model.realtime.nodes);
export const appNodeNames = (model: Model): string[] => (model.app ? numbered("app", model.app.nodes) : []);

function numbered(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, index) => `${prefix}-${index + 1}`);
}

/** Which proxies a model needs: the single source for "does this topology run nginx?" and friends. */
export function proxiesOf(model: Model): { haproxy: boolean; nginx: boolean; stunnel: boolean; redis: boolean } {
  return {
    haproxy: model.topology === "ssl-split" || model.topology === "multi-node" || model.front === "haproxy",
    nginx: model.topology === "ssl-split",
    stunnel: model.tls?.terminator === "stunnel",
    redis: model.realtime.adapter !== "memory",
  };
}
