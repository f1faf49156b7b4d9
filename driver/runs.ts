import fs from "node:fs";
import path from "node:path";
import type { HostSpec, Model } from "../model/model";

/**
 * What `up` leaves in `.realtime-kit/runs/` of the folder it runs in (gitignored), so `down`
 * from the same folder finds the run: its id (the KIT_LABEL value), its process and its URLs.
 */
export interface RunRecord {
  runId: string;
  topology: string;
  /** Process of `realtime-kit up` that owns the run. */
  pid: number;
  startedAt: string;
  urls: Record<string, string | null>;
  /** The throwaway CA clients must trust, when the deployment has TLS and no operator certificate. */
  caFile: string | null;
  /** The machines of a deployment over several hosts (how to reach their engines), for `down`; absent or null on the local engine. */
  hosts?: HostSpec[] | null;
  /** The model the run was started from: `restart-realtime` plans a node's next ports from it across hosts. Absent in records of older versions. */
  model?: Model;
}

export function runsDir(cwd = process.cwd()): string {
  return path.join(cwd, ".realtime-kit", "runs");
}

export function writeRun(record: RunRecord, cwd = process.cwd()): string {
  const dir = runsDir(cwd);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${record.runId}.json`);
  fs.writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
  return file;
}

/** The folder for a run's own files (its CA). */
export function runFilesDir(runId: string, cwd = process.cwd()): string {
  const dir = path.join(runsDir(cwd), runId);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

export function readRuns(cwd = process.cwd()): RunRecord[] {
  const dir = runsDir(cwd);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((name) => name.endsWith(".json"))
    .flatMap((name) => {
      try {
        return [JSON.parse(fs.readFileSync(path.join(dir, name), "utf8")) as RunRecord];
      } catch {
        return [];
      }
    });
}

/** The machines a run recorded in this folder was placed on; null for a run on the local engine or one not recorded here. */
export function recordedHosts(runId: string, cwd = process.cwd()): HostSpec[] | null {
  return readRuns(cwd).find((run) => run.runId === runId)?.hosts ?? null;
}

/** The run recorded in this folder under `runId`, if any. */
export function recordedRun(runId: string, cwd = process.cwd()): RunRecord | null {
  return readRuns(cwd).find((run) => run.runId === runId) ?? null;
}

export function forgetRun(runId: string, cwd = process.cwd()): void {
  fs.rmSync(path.join(runsDir(cwd), `${runId}.json`), { force: true });
  fs.rmSync(path.join(runsDir(cwd), runId), { recursive: true, force: true });
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
