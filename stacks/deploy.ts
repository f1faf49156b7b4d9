import * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "../model/errors";
import { RealtimeDeployment, type NodeInfo } from "./components/deployment";
import { PROJECT_ROOT, readStackSettings, StackConfigError, type StackSettings } from "./config";

/** What `pulumi up` prints and `pulumi stack output` returns. */
export interface DeploymentOutputs {
  topology: string;
  /** Entry points by name: chat, realtime, site, site-tls. */
  urls: Record<string, string>;
  /** Every service: its role, the host it runs on and its container name. */
  nodes: pulumi.Output<Record<string, NodeInfo>>;
  /** The deployment's private Docker network. */
  network: pulumi.Output<string>;
  /** The admin UI's password (secret: `pulumi stack output adminUiPassword --show-secrets`); null without adminUi.enabled. */
  adminUiPassword: pulumi.Output<string> | null;
  /** The component itself, for tests and for programs that build on it. */
  deployment: RealtimeDeployment;
}

/** Reads the stack config and deploys the topology it describes. */
export function deploy(): DeploymentOutputs {
  const settings = settingsOrConfigError();
  const deployment = new RealtimeDeployment("realtime-kit", { stack: pulumi.getStack(), ...settings, baseDir: PROJECT_ROOT });
  return {
    topology: deployment.model.topology,
    urls: deployment.urls,
    nodes: deployment.nodes,
    network: deployment.network,
    adminUiPassword: deployment.adminUiPassword,
    deployment,
  };
}

function settingsOrConfigError(): StackSettings {
  try {
    return readStackSettings();
  } catch (error) {
    if (error instanceof ConfigError) throw new StackConfigError(error);
    throw error;
  }
}
