import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { ConfigError } from "./errors";
import { checkCertificatePair, readPemFile } from "./pem";
import { resolveModel, type Model } from "./model";

export interface LoadOptions {
  /** Topology named on the command line, if any. */
  topology?: string;
  /** Path of a YAML or JSON config file. */
  configFile?: string;
  /** `key=value` overrides, dotted keys, values parsed as YAML scalars (`--set realtime.nodes=3`). */
  sets?: string[];
  /** Folder relative paths given by `--set` resolve against. */
  cwd?: string;
}

/**
 * Reads the user's configuration from its sources (file, `--set`, command-line topology),
 * validates it into a Model, and checks the files it names can be read.
 */
export function loadModel(options: LoadOptions): Model {
  const cwd = options.cwd ?? process.cwd();
  const fileConfig = options.configFile ? readConfigFile(path.resolve(cwd, options.configFile)) : {};
  const config: Record<string, unknown> = { ...fileConfig };
  if (options.topology !== undefined) {
    if (config.topology !== undefined && config.topology !== options.topology) {
      throw new ConfigError("topology", `the command line says ${options.topology} but ${options.configFile} says ${String(config.topology)}; make them agree or drop one`);
    }
    config.topology = options.topology;
  }
  const setKeys = new Map<string, string>();
  for (const assignment of options.sets ?? []) {
    const key = assignment.split("=", 1)[0]!;
    const earlier = setKeys.get(key);
    if (earlier !== undefined) throw new ConfigError(key, `is set twice with --set (${earlier}, then ${assignment}); give it once`);
    setKeys.set(key, assignment);
    applySet(config, assignment, cwd);
  }
  const baseDir = options.configFile ? path.dirname(path.resolve(cwd, options.configFile)) : cwd;
  const model = resolveModel(config, { baseDir });
  checkReadableFiles(model);
  return model;
}

export function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    throw new ConfigError("--config", `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)}); give the path of a YAML or JSON file`);
  }
  let parsed: unknown;
  try {
    parsed = file.endsWith(".json") ? JSON.parse(text) : parseYamlDecimal(text);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const message = (error as Error).message.split("\n")[0];
    throw new ConfigError("--config", `${file} is not valid ${file.endsWith(".json") ? "JSON" : "YAML"}: ${message}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new ConfigError("--config", `${file} must hold a mapping of options (like \`topology: single\`), not a ${Array.isArray(parsed) ? "list" : typeof parsed}`);
  }
  return parsed as Record<string, unknown>;
}

function applySet(config: Record<string, unknown>, assignment: string, cwd: string): void {
  const match = /^([A-Za-z][\w]*(?:\.[A-Za-z][\w]*)*)=(.*)$/s.exec(assignment);
  if (!match) throw new ConfigError("--set", `"${assignment}" is not key=value (e.g. --set realtime.nodes=3)`);
  const [, key, rawValue] = match as unknown as [string, string, string];
  let value: unknown;
  try {
    value = rawValue === "" ? "" : YAML.parse(rawValue);
  } catch {
    value = rawValue;
  }
  if (typeof value === "number") checkDecimal(key, rawValue.trim(), value);
  if (typeof value === "string" && /(^|\s)#/.test(rawValue) && !/^\s*["']/.test(rawValue)) {
    throw new ConfigError(key, `"${rawValue}" holds " #", which YAML reads as the start of a comment (the value would be "${value}"); quote the value, e.g. --set '${key}="${rawValue}"'`);
  }
  // Paths given on the command line are relative to where the command runs, not to a config file.
  if (/(^|\.)(certFile|keyFile|staticDir|certPath)$/.test(key) && typeof value === "string") value = path.resolve(cwd, value);
  const parts = key.split(".");
  let target = config;
  for (const part of parts.slice(0, -1)) {
    const next = target[part];
    if (next === undefined) target[part] = {};
    else if (typeof next !== "object" || next === null || Array.isArray(next)) {
      throw new ConfigError(key, `cannot set inside ${part}, which is not a group of options`);
    }
    target = target[part] as Record<string, unknown>;
  }
  target[parts[parts.length - 1]!] = value;
}

/**
 * YAML with every number written in decimal: the YAML 1.2 core schema reads 0x50 as 80 and 0o3 as
 * 3 (and other YAML readers read 050 as octal), which silently turns a typo into another port.
 */
function parseYamlDecimal(text: string): unknown {
  const document = YAML.parseDocument(text, { prettyErrors: true, keepSourceTokens: true });
  if (document.errors.length > 0) throw document.errors[0];
  YAML.visit(document, {
    Scalar(_key, node, path) {
      if (typeof node.value !== "number") return;
      const field = path.filter(YAML.isPair).map((pair) => String((pair.key as YAML.Scalar).value)).join(".");
      checkDecimal(field || "config", node.srcToken && "source" in node.srcToken ? node.srcToken.source : String(node.value), node.value);
    },
  });
  return document.toJS();
}

/** A number must be written in plain decimal (an exponent is fine): not 0x50, 0o3, 050, +5 or .inf. */
function checkDecimal(field: string, source: string, value: number): void {
  if (/^-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?$/.test(source)) return;
  throw new ConfigError(field, `${source} is not a decimal number (YAML reads it as ${value}); write the number in decimal${Number.isFinite(value) ? `, e.g. ${value}` : ""}`);
}

/** Checks the files and folders a model names can be read (certificate, key, static assets). */
export function checkReadableFiles(model: Model): void {
  if (model.tls?.certFile && model.tls.keyFile) {
    const cert = readPemFile("tls.certFile", model.tls.certFile, "certificate", "a PEM certificate");
    const key = readPemFile("tls.keyFile", model.tls.keyFile, "privateKey", "a PEM private key");
    checkCertificatePair(cert, key, { cert: "tls.certFile", key: "tls.keyFile" });
  }
  if (model.staticDir) {
    let isDir = false;
    try {
      isDir = fs.statSync(model.staticDir).isDirectory();
    } catch {
      /* reported below */
    }
    if (!isDir) throw new ConfigError("staticDir", `${model.staticDir} is not a readable folder; point it at the folder of static assets`);
  }
  model.placement?.hosts.forEach((host, index) => {
    if (host.certPath === null) return;
    for (const [file, kind, what] of [
      ["ca.pem", "certificate", "the engine's CA certificate"],
      ["cert.pem", "certificate", "the client certificate"],
      ["key.pem", "privateKey", "the client's private key"],
    ] as const) {
      readPemFile(`hosts.${index}.certPath`, path.join(host.certPath, file), kind, what);
    }
  });
}
