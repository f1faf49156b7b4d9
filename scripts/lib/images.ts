/**
 * Step 3 of `npm run setup`: buildImages(), every images/<name>/Dockerfile is built as
 * IMAGE_NAMES[name]:latest. Also what the tests and the bench use to build images the same way
 * (listImageFolders, buildOrder, hostExtraCaCerts).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { dockerfileBuildContext } from "../../model/kit-root";
import { IMAGE_NAMES } from "../../model/layout";
import { describeFailure, envWithSbin, formatBytes, formatDuration, run, tailFile } from "./proc";
import { imageInfo, type Reporter, REPO_ROOT, SETUP_LOG_DIR, SetupError, silent } from "./setup-shared";

export const IMAGES_DIR = path.join(REPO_ROOT, "images");

export interface ImageFolder {
  /** Folder name under images/ (a key of IMAGE_NAMES). */
  name: string;
  dir: string;
  dockerfile: string;
  /** Build context: the folder itself, or what a `# build-context: <path>` line names. */
  context: string;
  /** Repository (without tag) the image is tagged as. */
  repository: string;
  /** Images named in FROM lines. */
  bases: string[];
  /** Build arguments the Dockerfile declares (ARG lines). */
  args: string[];
}

/** Images built first when nothing else decides (infra images are small and independent). */
const PREFERRED_ORDER = ["redis", "haproxy", "stunnel", "nginx", "realtime", "app", "prometheus"];

function stripTag(ref: string): string {
  const noDigest = ref.split("@")[0];
  const lastSlash = noDigest.lastIndexOf("/");
  const colon = noDigest.lastIndexOf(":");
  return colon > lastSlash ? noDigest.slice(0, colon) : noDigest;
}

/** Every images/<name>/ folder that has a Dockerfile. */
export function listImageFolders(imagesDir = IMAGES_DIR): ImageFolder[] {
  let names: string[] = [];
  try {
    names = fs.readdirSync(imagesDir).sort();
  } catch {
    return [];
  }
  const out: ImageFolder[] = [];
  for (const name of names) {
    const dir = path.join(imagesDir, name);
    const dockerfile = path.join(dir, "Dockerfile");
    if (!fs.existsSync(dockerfile)) continue;
    const text = fs.readFileSync(dockerfile, "utf8");
    const bases: string[] = [];
    for (const m of text.matchAll(/^\s*FROM\s+(?:--\S+\s+)*(\S+)/gim)) bases.push(m[1]);
    const args = [...text.matchAll(/^\s*ARG\s+([A-Za-z_][A-Za-z0-9_]*)/gm)].map((m) => m[1]);
    const repository = (IMAGE_NAMES as Record<string, string>)[name] ?? `realtime-kit/${name}`;
    out.push({ name, dir, dockerfile, context: dockerfileBuildContext(dockerfile, text), repository, bases, args });
  }
  return out;
}

/** Orders folders so that an image built FROM another kit image comes after it. */
export function buildOrder(folders: ImageFolder[]): ImageFolder[] {
  const rank = (n: string) => {
    const i = PREFERRED_ORDER.indexOf(n);
    return i === -1 ? PREFERRED_ORDER.length : i;
  };
  const byRepo = new Map(folders.map((f) => [f.repository, f]));
  const deps = new Map(folders.map((f) => [f.name, f.bases.map((b) => byRepo.get(stripTag(b))?.name).filter((x): x is string => !!x && x !== f.name)]));
  const sorted = [...folders].sort((a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name));
  const out: ImageFolder[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (f: ImageFolder) => {
    const s = state.get(f.name);
    if (s === "done") return;
    if (s === "visiting") throw new SetupError(`images/${f.name}: FROM cycle between kit images`);
    state.set(f.name, "visiting");
    for (const d of deps.get(f.name) ?? []) visit(folders.find((x) => x.name === d)!);
    state.set(f.name, "done");
    out.push(f);
  };
  sorted.forEach(visit);
  return out;
}

/** Extra CA certificates installed on this machine (/usr/local/share/ca-certificates/**.crt). */
export function hostExtraCaCerts(dir = "/usr/local/share/ca-certificates"): { files: string[]; pem: string } {
  const files: string[] = [];
  const walk = (d: string) => {
    let entries: fs.Dirent[] = [];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".crt")) files.push(p);
    }
  };
  walk(dir);
  const pem = files
    .map((f) => fs.readFileSync(f, "utf8").trim())
    .filter((t) => t.includes("BEGIN CERTIFICATE"))
    .join("\n");
  return { files, pem };
}

export interface ImageBuildResult {
  name: string;
  tag: string;
  status: "built" | "failed" | "skipped";
  durationMs: number;
  /** Dockerfile steps served from the layer cache / total (classic builder output). */
  cachedSteps?: number;
  totalSteps?: number;
  size?: number;
  logFile: string;
  error?: string;
}

export interface BuildOptions {
  reporter?: Reporter;
  /** Folder names to build (default: all). Kit images they are built FROM are added if missing. */
  only?: string[];
  noCache?: boolean;
  /** Folder holding the image folders (default: images/ of this repository). */
  imagesDir?: string;
}

/**
 * Builds images/<name>/Dockerfile as `<IMAGE_NAMES[name]>:latest` with the layer cache. Output
 * goes to .realtime-kit/logs/build-<name>.log; on failure its last 40 lines are reported.
 * Keeps going after a failure (images built FROM a failed one are skipped); the caller checks
 * the statuses.
 */
export async function buildImages(opts: BuildOptions = {}): Promise<ImageBuildResult[]> {
  const reporter = opts.reporter ?? silent;
  const imagesDir = opts.imagesDir ?? IMAGES_DIR;
  const all = listImageFolders(imagesDir);
  if (!all.length) throw new SetupError(`no <name>/Dockerfile found under ${imagesDir}`);
  let selected = all;
  if (opts.only?.length) {
    const unknown = opts.only.filter((n) => !all.some((f) => f.name === n));
    if (unknown.length) {
      throw new SetupError(`unknown image(s): ${unknown.join(", ")} (available: ${all.map((f) => f.name).join(", ")})`);
    }
    const wanted = new Set(opts.only);
    // Add kit images the selection is built FROM, when they do not exist yet.
    let grew = true;
    while (grew) {
      grew = false;
      for (const f of all.filter((x) => wanted.has(x.name))) {
        for (const b of f.bases) {
          const dep = all.find((x) => x.repository === stripTag(b));
          if (dep && !wanted.has(dep.name) && !(await imageInfo(b.includes(":") ? b : `${b}:latest`))) {
            reporter.info(`also building ${dep.name}: ${f.name} is built FROM ${b}, which does not exist yet`);
            wanted.add(dep.name);
            grew = true;
          }
        }
      }
    }
    selected = all.filter((f) => wanted.has(f.name));
  }
  const ordered = buildOrder(selected);
  fs.mkdirSync(SETUP_LOG_DIR, { recursive: true });
  const width = Math.max(...ordered.map((f) => f.name.length));
  const tagWidth = Math.max(...ordered.map((f) => f.repository.length + ":latest".length));
  reporter.info(`order: ${ordered.map((f) => f.name).join(" -> ")}   (logs: ${path.relative(REPO_ROOT, SETUP_LOG_DIR)}/build-<name>.log)`);

  const caCerts = hostExtraCaCerts();
  const env: NodeJS.ProcessEnv = { ...envWithSbin(), DOCKER_BUILDKIT: process.env.DOCKER_BUILDKIT ?? "0" };
  const wantsCa = ordered.some((f) => f.args.includes("BUILD_CA_CERTS"));
  if (wantsCa && process.env.BUILD_CA_CERTS !== undefined) {
    reporter.info("BUILD_CA_CERTS: taken from the environment");
  } else if (wantsCa && caCerts.pem) {
    env.BUILD_CA_CERTS = caCerts.pem;
    reporter.info(`BUILD_CA_CERTS: this machine's extra CA certificates (${caCerts.files.map((x) => path.basename(x)).join(", ")})`);
  }
  const results: ImageBuildResult[] = [];
  const failed = new Set<string>();
  for (const f of ordered) {
    const tag = `${f.repository}:latest`;
    const logFile = path.join(SETUP_LOG_DIR, `build-${f.name}.log`);
    const label = `${f.name.padEnd(width)}  ${tag.padEnd(tagWidth)}`;
    const blockedBy = f.bases.map((b) => all.find((x) => x.repository === stripTag(b))?.name).find((n) => n && failed.has(n));
    if (blockedBy) {
      failed.add(f.name);
      results.push({ name: f.name, tag, status: "skipped", durationMs: 0, logFile, error: `base image ${blockedBy} failed` });
      reporter.info(`${label}  SKIPPED (its base image ${blockedBy} failed)`);
      continue;
    }
    fs.writeFileSync(logFile, `$ docker build -t ${tag} -f ${f.dockerfile} ${f.context}\n`);
    const args = ["build", "--force-rm", "-t", tag, "-f", f.dockerfile];
    if (opts.noCache) args.push("--no-cache");
    // A Dockerfile declaring ARG BUILD_CA_CERTS gets this machine's extra CAs (TLS-intercepting
    // proxies) for its build stages; the value is passed through the environment, not argv.
    if (f.args.includes("BUILD_CA_CERTS") && env.BUILD_CA_CERTS !== undefined) {
      args.push("--build-arg", "BUILD_CA_CERTS");
    }
    args.push(f.context);
    const r = await run("docker", args, { env, logFile, timeoutMs: 30 * 60_000 });
    const out = `${r.stdout}\n${r.stderr}`;
    const totalSteps = (out.match(/^Step \d+\/\d+ :/gm) ?? []).length || undefined;
    const cachedSteps = totalSteps ? (out.match(/^ ---> Using cache$/gm) ?? []).length : undefined;
    if (r.code === 0 && !r.timedOut) {
      const info = await imageInfo(tag);
      results.push({ name: f.name, tag, status: "built", durationMs: r.durationMs, cachedSteps, totalSteps, size: info?.size, logFile });
      const cache = totalSteps === undefined ? "" : `${cachedSteps}/${countCacheable(out)} steps cached`;
      reporter.info(`${label}  built in ${formatDuration(r.durationMs)}${cache ? ` (${cache})` : ""}${info ? `, ${formatBytes(info.size)}` : ""}`);
    } else {
      failed.add(f.name);
      const error = describeFailure(`docker build of images/${f.name}`, r, 0);
      results.push({ name: f.name, tag, status: "failed", durationMs: r.durationMs, logFile, error });
      reporter.info(`${label}  FAILED after ${formatDuration(r.durationMs)}: ${error}`);
      reporter.info(`---- last 40 lines of ${path.relative(REPO_ROOT, logFile)} ----`);
      for (const line of tailFile(logFile, 40).split("\n")) reporter.info(`| ${line}`);
      reporter.info("----");
    }
  }
  return results;
}

/** Steps that can be cache hits in classic-builder output: after the first FROM, except FROMs. */
function countCacheable(out: string): number {
  let seenFrom = false;
  let n = 0;
  for (const m of out.matchAll(/^Step \d+\/\d+ : (\S+)/gm)) {
    if (/^FROM$/i.test(m[1])) seenFrom = true;
    else if (seenFrom) n++;
  }
  return n;
}
