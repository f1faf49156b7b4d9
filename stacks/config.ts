import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { ConfigError } from "../model/errors";
import { KIT_ROOT } from "../model/kit-root";
import { checkReadableFiles } from "../model/load";
import { checkCertificatePair, holdsPem, type PemKind } from "../model/pem";
import { resolveModel, type Model } from "../model/model";
import { configSchema, type ConfigInput } from "../model/schema";
import { misfitOptions } from "../model/topologies";

/** Namespace of every stack setting: `realtime-kit:topology`, `realtime-kit:realtime`, ... */
export const CONFIG_NAMESPACE = "realtime-kit";

/** Where Pulumi.yaml and the stack files live; relative paths in stack config resolve against it. */
export const PROJECT_ROOT = KIT_ROOT;

/** Stack settings that are not model options: TLS material and the optional image registry. */
export const STACK_ONLY_KEYS = ["tlsCert", "tlsKey", "registry", "registryPassword"] as const;

const SET_CERT = 'pulumi config set --secret tlsCert -- "$(cat cert.pem)"';
const SET_KEY = 'pulumi config set --secret tlsKey -- "$(cat key.pem)"';

/** PEM text of the certificate chain and private key, kept secret in state. */
export interface TlsMaterial {
  cert: pulumi.Output<string>;
  key: pulumi.Output<string>;
}

/** A registry the kit's images are pushed to after building, and pulled from on every host. */
export interface RegistrySettings {
  server: string;
  username: string;
  password: pulumi.Output<string>;
}

/** A stack's settings, checked, as RealtimeDeployment takes them. */
export interface StackSettings {
  options: ConfigInput;
  /** Set for the topologies that serve https. */
  tls: { cert: string; key: string } | undefined;
  registry: RegistrySettings | undefined;
}

/**
 * Bad input reported as `pulumi up` reports a RunError: the ConfigError's `field: problem` text
 * alone, with no stack trace.
 */
export class StackConfigError extends pulumi.RunError {
  readonly field: string;
  readonly problem: string;

  constructor(error: ConfigError) {
    super(error.message);
    this.name = "StackConfigError";
    this.field = error.field;
    this.problem = error.problem;
  }
}

/**
 * Reads the stack's config into the same options `realtime-kit generate` reads from a config file:
 * the same option names, the same schema, the same ConfigError texts; the secrets checked with the
 * `pulumi config` commands that fix them.
 */
export function readStackSettings(): StackSettings {
  const config = new pulumi.Config(CONFIG_NAMESPACE);
  const raw = modelOptions(config);
  rejectCertificateFiles(raw);
  const model = resolveModel(raw, { baseDir: PROJECT_ROOT });
  checkReadableFiles(model);
  // The schema accepted it just now (resolveModel), so it is the schema's input.
  return { options: raw as ConfigInput, tls: tlsMaterial(config, model) ?? undefined, registry: registrySettings(config) ?? undefined };
}

/**
 * RealtimeDeployment's options and TLS material checked: the model they resolve to, and the PEM
 * text as secrets. Bad input is a StackConfigError naming the field (`tls.cert`, `realtime.nodes`).
 */
export function resolveDeploymentArgs(options: unknown, tls: { cert: string; key: string } | null, baseDir: string): { model: Model; tls: TlsMaterial | null } {
  try {
    const model = resolveModel(options, { baseDir });
    checkReadableFiles(model);
    if (!model.tls) {
      if (tls) throw new ConfigError("tls", `topology ${model.topology} serves no https; leave tls out`);
      return { model, tls: null };
    }
    if (!tls) throw new ConfigError("tls", `topology ${model.topology} serves https: give tls: { cert, key }, the PEM text of a certificate chain and its private key`);
    if (typeof tls.cert !== "string" || !holdsPem(tls.cert, "certificate")) throw new ConfigError("tls.cert", "is not a certificate chain (no PEM block found)");
    if (typeof tls.key !== "string" || !holdsPem(tls.key, "privateKey")) throw new ConfigError("tls.key", "is not a private key (no PEM block found)");
    checkCertificatePair(tls.cert, tls.key, { cert: "tls.cert", key: "tls.key" });
    // Secret in state and outputs whatever the program passed in.
    return { model, tls: { cert: pulumi.secret(tls.cert), key: pulumi.secret(tls.key) } };
  } catch (error) {
    if (error instanceof ConfigError) throw new StackConfigError(error);
    throw error;
  }
}

/**
 * The model options set on the stack, as a raw config object. Structured options (ports, realtime,
 * ...) are read as objects, as `pulumi config set --path realtime.nodes 3` stores them; keys the
 * model does not know are passed on so the schema names them ("unknown option ...").
 */
function modelOptions(config: pulumi.Config): Record<string, unknown> {
  const prefix = `${CONFIG_NAMESPACE}:`;
  const stringOptions = stringTypedOptions();
  const raw: Record<string, unknown> = {};
  for (const fullKey of Object.keys(pulumi.runtime.allConfig()).sort()) {
    if (!fullKey.startsWith(prefix)) continue;
    const key = fullKey.slice(prefix.length);
    if ((STACK_ONLY_KEYS as readonly string[]).includes(key)) continue;
    raw[key] = key in configSchema.shape && !stringOptions.has(key) ? readObject(config, key) : config.get(key);
  }
  return raw;
}

/** Top-level options whose values are plain strings (topology, hostname, ...), from the schema itself. */
function stringTypedOptions(): Set<string> {
  const schema = z.toJSONSchema(configSchema, { io: "input", unrepresentable: "any" }) as { properties?: Record<string, { type?: unknown }> };
  return new Set(Object.entries(schema.properties ?? {}).filter(([, node]) => node.type === "string").map(([key]) => key));
}

function readObject(config: pulumi.Config, key: string): unknown {
  try {
    return config.getObject<unknown>(key);
  } catch {
    throw new ConfigError(key, `is not valid structured config; set its fields one by one, e.g. pulumi config set --path ${key}.<field> <value>`);
  }
}

/** The CLI reads certificate files; a stack keeps the PEM text in secrets instead, never in the repository. */
function rejectCertificateFiles(raw: Record<string, unknown>): void {
  const tls = raw.tls;
  if (tls === null || typeof tls !== "object") return;
  for (const [field, command] of [["certFile", SET_CERT], ["keyFile", SET_KEY]] as const) {
    if ((tls as Record<string, unknown>)[field] !== undefined) {
      throw new ConfigError(`tls.${field}`, `is how the CLI reads TLS files; a Pulumi stack takes the PEM text as secrets instead: ${command}`);
    }
  }
}

function tlsMaterial(config: pulumi.Config, model: Model): { cert: string; key: string } | null {
  const cert = config.get("tlsCert");
  const key = config.get("tlsKey");
  if (!model.tls) {
    const given = cert !== undefined ? "tlsCert" : key !== undefined ? "tlsKey" : null;
    const misfit = misfitOptions(model.topology).find((option) => option.option === "tls");
    if (given && misfit) throw new ConfigError(given, `does not apply to topology ${model.topology}: ${misfit.why}; remove it (pulumi config rm ${given})`);
    return null;
  }
  const pem = (name: "tlsCert" | "tlsKey", value: string | undefined, kind: PemKind, what: string, command: string): string => {
    if (value === undefined) {
      throw new ConfigError(name, `is required: topology ${model.topology} serves https and needs ${what} (PEM) in the secret ${CONFIG_NAMESPACE}:${name}; set it with ${command}`);
    }
    if (!holdsPem(value, kind)) throw new ConfigError(name, `is not ${what} (no PEM block found); set it with ${command}`);
    return value;
  };
  const certPem = pem("tlsCert", cert, "certificate", "a certificate chain", SET_CERT);
  const keyPem = pem("tlsKey", key, "privateKey", "a private key", SET_KEY);
  checkCertificatePair(certPem, keyPem, { cert: "tlsCert", key: "tlsKey" });
  return { cert: certPem, key: keyPem };
}

function registrySettings(config: pulumi.Config): RegistrySettings | null {
  const registry = readObject(config, "registry");
  if (registry === undefined) return null;
  if (registry === null || typeof registry !== "object" || Array.isArray(registry)) {
    throw new ConfigError("registry", "expected {server, username}; set it with pulumi config set --path registry.server registry.example.com");
  }
  const fields = registry as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    if (key === "password") {
      throw new ConfigError("registry.password", "keep the password out of plain config: pulumi config set --secret registryPassword <password>");
    }
    if (key !== "server" && key !== "username") throw new ConfigError(`registry.${key}`, "unknown option; registry takes server and username (the password is the secret registryPassword)");
  }
  const { server, username } = fields;
  if (typeof server !== "string" || !/^[A-Za-z0-9.-]+(:\d{1,5})?(\/[a-z0-9._-]+)*$/.test(server)) {
    throw new ConfigError("registry.server", `expected a registry address such as registry.example.com:5000${server === undefined ? "" : ` (got ${JSON.stringify(server)})`}`);
  }
  if (typeof username !== "string" || username === "") {
    throw new ConfigError("registry.username", `is required with registry.server: the user the images are pushed as; set it with pulumi config set --path registry.username <user>`);
  }
  const password = config.get("registryPassword");
  if (password === undefined || password === "") {
    throw new ConfigError("registryPassword", `is required with registry.server: the images are pushed to ${server} before any container starts; set it with pulumi config set --secret registryPassword <password>`);
  }
  return { server, username, password: pulumi.secret(password) };
}
