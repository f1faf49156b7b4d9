import type { Model } from "../model/model";
import { renderEnvFile } from "./env-file";
import { haproxyConfig } from "./haproxy";
import { nginxConfig } from "./nginx";
import { prometheusConfig } from "./prometheus";
import { deploymentReadme } from "./readme";
import { stunnelConfig } from "./stunnel";
import type { GeneratedFiles } from "../plan/files";
import { proxiesOf, realtimeMembers, redisUrlFor } from "../plan/names";
import { realtimeEnvironment } from "../plan/realtime-env";
import { entrypointsOf, planServices, type Entrypoint, type ServiceSpec } from "../plan/services";

export interface Deployment {
  model: Model;
  /** Generated files by name: exactly the ones this topology needs. */
  files: GeneratedFiles;
  /** Services in start order (dependencies first). */
  services: ServiceSpec[];
  entrypoints: Entrypoint[];
}

/**
 * Everything a topology deploys: its services and entry points, and the files they read, rendered
 * from the model and (the README) from the services. The only module that calls the renderers.
 */
export function planDeployment(model: Model): Deployment {
  const proxies = proxiesOf(model);
  const realtimeEnv = realtimeEnvironment(model);
  const services = planServices(model, realtimeEnv);
  const entrypoints = entrypointsOf(model);
  const files: GeneratedFiles = { "realtime.env": renderEnvFile(realtimeEnv, envFileHeader(model)) };
  if (proxies.haproxy) files["haproxy.cfg"] = haproxyConfig(model);
  if (proxies.nginx) files["nginx.conf"] = nginxConfig(model);
  if (proxies.stunnel) files["stunnel.conf"] = stunnelConfig(model);
  if (model.prometheus) files["prometheus.yml"] = prometheusConfig(model);
  files["README.md"] = deploymentReadme(model, services, entrypoints);
  return { model, files, services, entrypoints };
}

function envFileHeader(model: Model): string {
  const remote = model.realtime.adapter !== "memory" ? realtimeMembers(model).find((node) => node.crossHost !== null) : undefined;
  return remote
    ? `Environment of every realtime node (topology ${model.topology}); each node also gets NODE_ID, and nodes on other hosts than the edge use REDIS_URL=${redisUrlFor(model, remote)} (TLS, verified against the deployment's own CA, given as REDIS_TLS_CA at deploy time).`
    : `Environment of every realtime node (topology ${model.topology}); each node also gets NODE_ID.`;
}
