/**
 * Small child-process helpers for the setup scripts: run a command with a timeout, keep only the
 * tail of its output in memory (full output optionally appended to a log file), find programs.
 */
import { spawn, type SpawnOptions } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Kill the command (SIGTERM, then SIGKILL 5 s later) after this many milliseconds. */
  timeoutMs?: number;
  /** Written to the command's stdin (stdin is closed afterwards). */
  input?: string;
  /** Append stdout and stderr to this file as they arrive. */
  logFile?: string;
  /** Called with each chunk of stdout/stderr (for progress display). */
  onOutput?: (chunk: string) => void;
}

export interface RunResult {
  /** Exit code; null when killed by a signal. 127 when the program could not be started. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Up to the last 256 KiB of stdout / stderr. */
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** Set when the program could not be spawned (e.g. ENOENT). */
  spawnError?: Error;
  durationMs: number;
}

const TAIL_BYTES = 256 * 1024;

function appendTail(buf: string, chunk: string): string {
  const s = buf + chunk;
  return s.length > TAIL_BYTES ? s.slice(s.length - TAIL_BYTES) : s;
}

/** Runs a command to completion. Never rejects: inspect `code`, `timedOut`, `spawnError`. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    let log: fs.WriteStream | undefined;
    if (opts.logFile) {
      fs.mkdirSync(path.dirname(opts.logFile), { recursive: true });
      log = fs.createWriteStream(opts.logFile, { flags: "a" });
    }
    const spawnOpts: SpawnOptions = {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    };
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    let settled = false;
    let killTimer: NodeJS.Timeout | undefined;
    let hardKillTimer: NodeJS.Timeout | undefined;

    const child = spawn(cmd, args, spawnOpts);
    const finish = (r: Omit<RunResult, "stdout" | "stderr" | "timedOut" | "durationMs">) => {
      if (settled) return;
      settled = true;
      clearTimeout(killTimer);
      clearTimeout(hardKillTimer);
      const done = () => resolve({ ...r, stdout, stderr, timedOut, durationMs: Date.now() - started });
      if (log) log.end(done);
      else done();
    };
    child.stdout?.setEncoding("utf8").on("data", (c: string) => {
      stdout = appendTail(stdout, c);
      log?.write(c);
      opts.onOutput?.(c);
    });
    child.stderr?.setEncoding("utf8").on("data", (c: string) => {
      stderr = appendTail(stderr, c);
      log?.write(c);
      opts.onOutput?.(c);
    });
    child.on("error", (err) => finish({ code: 127, signal: null, spawnError: err }));
    child.on("close", (code, signal) => finish({ code, signal }));
    if (opts.input !== undefined && child.stdin) {
      child.stdin.on("error", () => undefined); // EPIPE if the command exits early
      child.stdin.end(opts.input);
    }
    if (opts.timeoutMs !== undefined) {
      killTimer = setTimeout(() => {
        timedOut = true;
        child.kill("SIGTERM");
        hardKillTimer = setTimeout(() => child.kill("SIGKILL"), 5000);
      }, opts.timeoutMs);
    }
  });
}

/** Last `n` non-empty lines of a text. */
export function tailLines(text: string, n: number): string {
  if (n <= 0) return "";
  const lines = text.replace(/\r/g, "").split("\n");
  while (lines.length && lines[lines.length - 1].trim() === "") lines.pop();
  return lines.slice(-n).join("\n");
}

/** Last `n` lines of a file ("" if it cannot be read). Reads at most the last 1 MiB. */
export function tailFile(file: string, n: number): string {
  try {
    const fd = fs.openSync(file, "r");
    try {
      const size = fs.fstatSync(fd).size;
      const len = Math.min(size, 1024 * 1024);
      const buf = Buffer.alloc(len);
      fs.readSync(fd, buf, 0, len, size - len);
      return tailLines(buf.toString("utf8"), n);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return "";
  }
}

export class CommandError extends Error {
  constructor(
    message: string,
    readonly result?: RunResult,
  ) {
    super(message);
    this.name = "CommandError";
  }
}

/** Human description of why a command failed, with the tail of its output. */
export function describeFailure(what: string, r: RunResult, lines = 20): string {
  let why: string;
  if (r.spawnError) why = `could not start: ${r.spawnError.message}`;
  else if (r.timedOut) why = `timed out after ${(r.durationMs / 1000).toFixed(0)} s`;
  else if (r.signal) why = `killed by ${r.signal}`;
  else why = `exit code ${r.code}`;
  const out = tailLines(`${r.stdout}\n${r.stderr}`, lines);
  return `${what} failed (${why})${out ? `:\n${indent(out, "    ")}` : ""}`;
}

/** Runs a command and throws a CommandError (with output tail) unless it exits 0. */
export async function runOk(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0 || r.timedOut) {
    throw new CommandError(describeFailure(`\`${[cmd, ...args].join(" ")}\``, r), r);
  }
  return r;
}

/** Absolute path of a program found on PATH (plus the sbin directories), or undefined. */
export function which(program: string, envPath = process.env.PATH ?? ""): string | undefined {
  const dirs = [...envPath.split(":"), "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = path.join(dir, program);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/** process.env with the sbin directories on PATH (dockerd, iptables, debootstrap live there). */
export function envWithSbin(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const parts = (process.env.PATH ?? "").split(":").filter(Boolean);
  for (const d of ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]) {
    if (!parts.includes(d)) parts.push(d);
  }
  return { ...process.env, PATH: parts.join(":"), ...extra };
}

export function indent(text: string, prefix: string): string {
  return text
    .split("\n")
    .map((l) => prefix + l)
    .join("\n");
}

export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return `${m}m${String(s).padStart(2, "0")}s`;
}

export function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  return `${(n / 1e6).toFixed(1)} MB`;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
