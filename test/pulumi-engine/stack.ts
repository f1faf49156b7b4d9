import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { planDeployment, type Deployment } from "../../render/deployment";
import { adoptDeployment } from "../../driver/adopt";
import { createTestCertificates } from "../../driver/certs";
import { docker, removeByLabel } from "../../driver/engine";
import type { RunningTopology } from "../../driver/running";
import { KIT_LABEL } from "../../model/labels";
import { resolveModel } from "../../model/model";
import { hostExtraCaCerts } from "../../scripts/lib/images";
import { PROJECT_ROOT, STACK_ONLY_KEYS } from "../../stacks/config";
import type { DeploymentOutputs } from "../../stacks/deploy";
import { ProviderEngine, type Step } from "./provider/engine";

type ProgramOutputs = () => { topology: string; urls: Record<string, string>; nodes: pulumi.Output<UpResult["outputs"]["nodes"]>; network: pulumi.Output<string> };

/** The kit's own program (stacks/deploy.ts), loaded when called. */
const stackProgram: ProgramOutputs = () => {
  const { deploy } = require("../../stacks/deploy") as typeof import("../../stacks/deploy");
  const out: DeploymentOutputs = deploy();
  return { topology: out.topology, urls: out.urls, nodes: out.nodes, network: out.network };
};

/** What one program run did: the outputs `pulumi up` would print and what happened to each resource. */
export interface UpResult {
  outputs: { topology: string; urls: Record<string, string>; nodes: Record<string, { role: string; host: string; container: string }>; network: string };
  steps: Step[];
  /** The deployment, taken over by the test harness for checks through its published ports. */
  topology: RunningTopology;
  durationMs: number;
}

/**
 * One stack of the Pulumi program (stacks/) applied to this machine's Docker engine by a
 * ProviderEngine: `up` runs the program with the stack's settings and applies what it registers
 * with the docker provider's own API calls; a second `up` applies only what changed; `destroy`
 * deletes it all. Not `pulumi up`: see ProviderEngine.
 */
export class StackOnEngine {
  readonly engine = new ProviderEngine();

  constructor(
    /** The stack name: container names and the KIT_LABEL value of everything it creates. */
    readonly stack: string,
    /** PEM of the CA that signed the stack's certificate, for clients (TLS topologies). */
    private readonly ca: string | null = null,
  ) {}

  /** Runs the program with these settings (`realtime-kit:<key>` values, secrets among them) and applies it. */
  async up(config: Record<string, unknown>, secrets: Record<string, string> = {}): Promise<UpResult> {
    return this.apply("realtime-kit", { ...config, ...secrets }, Object.keys(secrets), this.modelConfig(config), stackProgram);
  }

  /**
   * As `up`, for settings with `hosts`: the resources go to each host's engine through its
   * provider. No test harness takes the deployment over (it reads one engine); tests reach it
   * through the edge's published ports.
   */
  async upOnHosts(config: Record<string, unknown>, secrets: Record<string, string>): Promise<Omit<UpResult, "topology">> {
    const { outputs, steps, durationMs } = await this.run("realtime-kit", { ...config, ...secrets }, Object.keys(secrets), stackProgram);
    return { outputs, steps, durationMs };
  }

  /**
   * Runs a Pulumi program of one's own that adds a RealtimeDeployment (its module loaded after the
   * mocks are in place, its config under `project:`) and applies it; `options` are the deployment's
   * options as the program passes them, for the checks through the published ports.
   */
  async upProgram(project: string, programFile: string, config: Record<string, string>, secretKeys: string[], options: Record<string, unknown>): Promise<UpResult> {
    return this.apply(project, config, secretKeys, options, () => {
      const out = require(programFile) as Pick<UpResult["outputs"], "urls"> & { nodes: pulumi.Output<UpResult["outputs"]["nodes"]>; network: pulumi.Output<string> };
      return { topology: String(options.topology), urls: out.urls, nodes: out.nodes, network: out.network };
    });
  }

  private async apply(
    project: string,
    config: Record<string, unknown>,
    secretKeys: string[],
    options: Record<string, unknown>,
    program: ProgramOutputs,
  ): Promise<UpResult> {
    const { outputs, steps, durationMs } = await this.run(project, config, secretKeys, program);
    const deployment = planDeployment(resolveModel(options, { baseDir: PROJECT_ROOT }));
    const topology = await adoptDeployment(deployment, { label: this.stack, networkName: outputs.network, ca: this.ca });
    return { outputs, steps, topology, durationMs };
  }

  private async run(project: string, config: Record<string, unknown>, secretKeys: string[], program: ProgramOutputs): Promise<Omit<UpResult, "topology">> {
    const started = Date.now();
    // The machine's extra CA certificates for build stages, as `npm run setup` passes them (and as
    // the README asks a user behind a TLS-intercepting proxy to export before `pulumi up`).
    const caCerts = hostExtraCaCerts().pem;
    if (caCerts) process.env.BUILD_CA_CERTS ??= caCerts;
    await pulumi.runtime.setMocks(this.engine, project, this.stack, false);
    const all: Record<string, string> = {};
    for (const [key, value] of Object.entries(config)) all[`${project}:${key}`] = typeof value === "string" ? value : JSON.stringify(value);
    pulumi.runtime.setAllConfig(all, secretKeys.map((key) => `${project}:${key}`));
    this.engine.beginRun();
    // Loaded after the mocks are in place, as a Pulumi program must be.
    const out = program();
    // The nodes output waits on every container's name: once it settles every container is applied.
    const [nodes, network] = await this.settled(pulumi.all([out.nodes, out.network]));
    await this.engine.idle();
    const steps = await this.engine.endRun();
    return { outputs: { topology: out.topology, urls: out.urls, nodes, network }, steps, durationMs: Date.now() - started };
  }

  /**
   * Removes the client containers tests added on the stack's network, then deletes every resource
   * the engine applied (what `pulumi destroy` asks the provider to do), and reports what carries
   * the stack's label after that; then removes that too.
   */
  async destroy(): Promise<{ leftByDestroy: string[] }> {
    await this.engine.idle();
    const managed = new Set(this.engine.resources().map((resource) => resource.id));
    const filters = JSON.stringify({ label: [`${KIT_LABEL}=${this.stack}`] });
    for (const container of await docker.listContainers({ all: true, filters })) {
      if (!managed.has(container.Id)) await docker.getContainer(container.Id).remove({ force: true, v: true });
    }
    await this.engine.destroy();
    const leftByDestroy = await labelled(this.stack);
    await removeByLabel(this.stack);
    return { leftByDestroy };
  }

  /** The plan the same settings give the CLI. */
  plan(config: Record<string, unknown>): Deployment {
    return planDeployment(resolveModel(this.modelConfig(config), { baseDir: PROJECT_ROOT }));
  }

  /** The settings that are model options: the stack's own (TLS material, the registry) left out. */
  private modelConfig(config: Record<string, unknown>): Record<string, unknown> {
    return Object.fromEntries(Object.entries(config).filter(([key]) => !(STACK_ONLY_KEYS as readonly string[]).includes(key)));
  }

  /** An output's value once everything it depends on is applied; the first failure of the engine instead, if one comes first. */
  private settled<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setInterval(() => {
        const failure = this.engine.failures[0];
        if (failure) {
          clearInterval(timer);
          reject(failure);
        }
      }, 100);
      output.apply((value) => {
        clearInterval(timer);
        resolve(value);
        return value;
      });
    });
  }
}

/** Containers, networks and volumes on the engine that carry KIT_LABEL=<stack>, described. */
export async function labelled(stack: string): Promise<string[]> {
  const filters = JSON.stringify({ label: [`${KIT_LABEL}=${stack}`] });
  const [containers, networks, volumes] = await Promise.all([docker.listContainers({ all: true, filters }), docker.listNetworks({ filters }), docker.listVolumes({ filters })]);
  return [
    ...containers.map((container) => `container ${container.Names[0]}`),
    ...networks.map((network) => `network ${network.Name}`),
    ...(volumes.Volumes ?? []).map((volume) => `volume ${volume.Name}`),
  ];
}

/** Deletes what a test applied and asserts that nothing with the stack's label is left. */
export async function destroyLeavingNothing(onEngine: StackOnEngine | undefined, stack: string): Promise<void> {
  if (onEngine) assert.deepEqual((await onEngine.destroy()).leftByDestroy, [], "deleting the applied resources leaves nothing with the stack's label");
  assert.deepEqual(await labelled(stack), []);
}

/**
 * A certificate for a TLS deployment of these options, valid for localhost and for its
 * terminators' names (client containers on the network connect to them by name), signed by a
 * throwaway CA whose PEM is also written to a temporary file for `realtime-kit check --ca`.
 */
export async function stackCertificates(options: Record<string, unknown>): Promise<{ cert: string; key: string; caCert: string; caFile: string }> {
  const terminators = new StackOnEngine("certificates").plan(options).services.filter((service) => service.mountsTls).map((service) => service.name);
  const certificates = await createTestCertificates(["localhost", "127.0.0.1", ...terminators]);
  const caFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "rk-pe-")), "ca.pem");
  fs.writeFileSync(caFile, certificates.caCert);
  return { cert: certificates.cert, key: certificates.key, caCert: certificates.caCert, caFile };
}
