import fs from "node:fs";
import path from "node:path";
import type { Deployment } from "../render/deployment";
import { GENERATED_FILES } from "../plan/files";
import { ConfigError } from "../model/errors";

const README_MARK = "# realtime-kit:";

/**
 * Writes a deployment's files into a staging folder beside `outDir` and only then moves them
 * in, so a failure never leaves a half-written folder. `check` runs on the staged folder first.
 */
export async function writeDeployment(deployment: Deployment, outDir: string, check?: (stagedDir: string) => Promise<void>): Promise<string[]> {
  const target = path.resolve(outDir);
  assertWritableTarget(target);
  const staging = createStaging(target);
  try {
    const written = Object.entries(deployment.files).map(([name, text]) => {
      fs.writeFileSync(path.join(staging, name), text!);
      return name;
    });
    if (check) await check(staging);
    if (!fs.existsSync(target)) {
      fs.renameSync(staging, target);
      return written;
    }
    // Replacing an earlier generation: drop files the new topology no longer needs, move in the new ones.
    for (const name of GENERATED_FILES) if (!written.includes(name)) fs.rmSync(path.join(target, name), { force: true });
    for (const name of written) fs.renameSync(path.join(staging, name), path.join(target, name));
    return written;
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * The staging folder beside the target, with the target's parent folders created as needed; a
 * folder that cannot be made is bad input naming --out, and parents made before the failure go.
 */
function createStaging(target: string): string {
  let firstMissing: string | null = null;
  for (let dir = path.dirname(target); !fs.existsSync(dir); dir = path.dirname(dir)) firstMissing = dir;
  try {
    fs.mkdirSync(path.dirname(target), { recursive: true });
    return fs.mkdtempSync(path.join(path.dirname(target), `.${path.basename(target)}.staging-`));
  } catch (error) {
    if (firstMissing) removeMadeFolder(firstMissing);
    const { code, message } = error as NodeJS.ErrnoException;
    const why = code === "EEXIST" || code === "ENOTDIR" ? "a file stands where a folder is needed" : code === "EROFS" ? "the file system is read-only" : code === "EACCES" || code === "EPERM" ? "permission denied" : code === "ENOENT" ? "no folder can be created there" : (code ?? message);
    throw new ConfigError("--out", `cannot create ${target} (${why}); choose a folder you can write, e.g. ./deploy`);
  }
}

/** Removes a folder this call made; a path through a file (ENOTDIR) never became one. */
function removeMadeFolder(dir: string): void {
  try {
    if (fs.statSync(dir).isDirectory()) fs.rmSync(dir, { recursive: true, force: true });
  } catch {
    /* not made: nothing to remove */
  }
}

function assertWritableTarget(target: string): void {
  if (!fs.existsSync(target)) return;
  if (!fs.statSync(target).isDirectory()) throw new ConfigError("--out", `${target} exists and is not a folder; choose a new or empty folder`);
  const entries = fs.readdirSync(target);
  if (entries.length === 0) return;
  const readme = path.join(target, "README.md");
  const generatedBefore = fs.existsSync(readme) && fs.readFileSync(readme, "utf8").startsWith(README_MARK);
  const foreign = entries.filter((entry) => !(GENERATED_FILES as readonly string[]).includes(entry));
  if (!generatedBefore || foreign.length > 0) {
    throw new ConfigError("--out", `${target} holds files realtime-kit did not write (${(foreign.length ? foreign : entries).slice(0, 3).join(", ")}); choose a new or empty folder`);
  }
}
