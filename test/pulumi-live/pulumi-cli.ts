/**
 * The pulumi CLI as test/pulumi-live/run.ts drives it: finding the executable, running it without
 * blocking the event loop, and reading `pulumi preview --json`.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/** The pulumi executable on PATH or in ~/.pulumi/bin, or null. */
export function findPulumi(): string | null {
  const dirs = [...(process.env.PATH ?? "").split(path.delimiter), path.join(os.homedir(), ".pulumi", "bin")];
  for (const dir of dirs.filter(Boolean)) {
    const candidate = path.join(dir, process.platform === "win32" ? "pulumi.exe" : "pulumi");
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      /* next */
    }
  }
  return null;
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command to completion. Asynchronous on purpose: while `pulumi up` runs, this process
 * holds Socket.IO clients open, and a blocked event loop would miss their pings and drop them,
 * which the test would then blame on the deployment.
 */
export function runProcess(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number }): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    let timedOut = false;
    // SIGINT first: pulumi then cancels cleanly and leaves its state consistent for the cleanup.
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGINT");
      setTimeout(() => child.kill("SIGKILL"), 30_000).unref();
    }, options.timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      resolve({ status: null, stdout, stderr: `${stderr}${String(error)}` });
    });
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr: timedOut ? `${stderr}\n(killed after ${options.timeoutMs} ms)` : stderr });
    });
  });
}

/** The command line as it may be printed: after `--secret ... --`, the value is a secret (a private key). */
export function printable(args: string[]): string {
  const end = args.indexOf("--");
  if (!args.includes("--secret") || end < 0) return args.join(" ");
  return [...args.slice(0, end + 1), ...args.slice(end + 1).map((value) => `<secret, ${value.length} characters>`)].join(" ");
}

/** One step of `pulumi preview --json` (pulumi's display.PreviewStep; only the fields read here). */
export interface PreviewStep {
  /** same, create, update, delete, replace, create-replacement, delete-replaced, read, ... */
  op: string;
  urn: string;
  newState?: { inputs?: Record<string, unknown> };
  replaceReasons?: string[];
  diffReasons?: string[];
}

/** The document `pulumi preview --json` prints (pulumi's display.PreviewDigest; only the fields read here). */
export interface PreviewDigest {
  steps: PreviewStep[];
  /** Count of resources per op, e.g. {"same": 30, "replace": 1}. */
  changeSummary?: Record<string, number>;
}

/** Parses `pulumi preview --json`; throws with the start of what was printed when it is not that shape. */
export function parsePreviewDigest(stdout: string): PreviewDigest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch (error) {
    throw new Error(`pulumi preview --json printed no JSON document (${(error as Error).message}); it printed:\n${stdout.slice(0, 4000)}`);
  }
  const steps = (parsed as { steps?: unknown }).steps;
  if (!Array.isArray(steps) || !steps.every((step) => typeof step?.op === "string" && typeof step?.urn === "string")) {
    throw new Error(`pulumi preview --json: expected {steps: [{op, urn, ...}], ...}; got:\n${stdout.slice(0, 4000)}`);
  }
  return parsed as PreviewDigest;
}

/**
 * A resource URN's type and name:
 * urn:pulumi:<stack>::<project>::<parent type>$...$<type>::<name>.
 */
export function urnParts(urn: string): { type: string; name: string } {
  const parts = urn.split("::");
  const name = parts[parts.length - 1] ?? "";
  const qualifiedType = parts[parts.length - 2] ?? "";
  return { type: qualifiedType.split("$").pop() ?? "", name };
}
