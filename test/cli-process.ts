import { spawn } from "node:child_process";
import path from "node:path";

/** The repository root; the default folder the command runs in. */
const REPO = path.resolve(__dirname, "..");
const BIN = path.join(REPO, "bin", "realtime-kit.js");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs `realtime-kit <args>` as a child process, the way a user would. */
export function runCli(args: string[], options: { cwd?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  const started = Date.now();
  const timeoutMs = options.timeoutMs ?? 120_000;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd ?? REPO, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** `realtime-kit <args>` left running (e.g. `logs --follow`): its output so far, and a stop by SIGINT that resolves with the exit code. */
export function spawnCli(args: string[], options: { cwd?: string } = {}): { output: () => string; stop: () => Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd ?? REPO, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  return {
    output: () => output,
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGINT");
      return exited;
    },
  };
}

