/**
 * `npm run setup`: prepares a machine to run realtime-kit. Idempotent; safe to re-run.
 *
 *   1. Docker engine   running -> used; else install docker.io if needed and start dockerd
 *   2. Base image      debian:bookworm-slim present -> skip; else docker pull; else debootstrap
 *   3. Images          docker build of every images/<name>/ (layer cache), logs in .realtime-kit/logs
 *   4. Browser         Debian's chromium + certutil for the browser tests (skip: --skip-browser)
 *
 * Options: --only name[,name]   build only these images (repeatable)
 *          --skip-build         steps 1 and 2 only
 *          --skip-browser       no browser install (enough for `up`, `generate`, `check`)
 *          --no-cache           build without the layer cache
 */
import { BASE_IMAGE, ensureBaseImage } from "./lib/base-image";
import { ensureEngine } from "./lib/engine";
import { buildImages, listImageFolders } from "./lib/images";
import { consoleReporter } from "./lib/setup-shared";
import { formatDuration } from "./lib/proc";
import { installBrowserPackages } from "../harness/browser";

interface Options {
  only: string[];
  skipBuild: boolean;
  skipBrowser: boolean;
  noCache: boolean;
}

const USAGE = `usage: npm run setup -- [--only name[,name...]] [--skip-build] [--skip-browser] [--no-cache]

  --only name[,name]  build only these images/<name> folders (repeatable)
  --skip-build        only make sure the Docker engine and the base image exist
  --skip-browser      do not install Chromium (only the browser tests need it)
  --no-cache          build images without the layer cache`;

function parseArgs(argv: string[]): Options {
  const opts: Options = { only: [], skipBuild: false, skipBrowser: false, noCache: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--skip-build") opts.skipBuild = true;
    else if (a === "--no-cache") opts.noCache = true;
    else if (a === "--skip-browser") opts.skipBrowser = true;
    else if (a === "--only" || a.startsWith("--only=")) {
      const v = a === "--only" ? argv[++i] : a.slice("--only=".length);
      if (!v) throw new UsageError("--only needs a value, e.g. --only haproxy,nginx");
      opts.only.push(...v.split(",").map((s) => s.trim()).filter(Boolean));
    } else if (a === "-h" || a === "--help") {
      console.log(USAGE);
      process.exit(0);
    } else throw new UsageError(`unknown option: ${a}`);
  }
  if (opts.skipBuild && opts.only.length) throw new UsageError("--only and --skip-build contradict each other");
  return opts;
}

class UsageError extends Error {}

async function step<T extends { summary: string }>(n: number, total: number, title: string, fn: () => Promise<T>): Promise<T> {
  console.log(`[${n}/${total}] ${title}`);
  const t0 = Date.now();
  try {
    const r = await fn();
    console.log(`      -> ${r.summary}  [${formatDuration(Date.now() - t0)}]`);
    return r;
  } catch (e) {
    const err = e as Error;
    console.error(`      -> FAILED after ${formatDuration(Date.now() - t0)}`);
    throw new StepFailure(`step ${n}/${total} (${title}) failed: ${err.message}`);
  }
}

class StepFailure extends Error {}

async function main(): Promise<number> {
  let opts: Options;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`setup: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const t0 = Date.now();
  const total = 2 + (opts.skipBuild ? 0 : 1) + (opts.skipBrowser ? 0 : 1);
  console.log(`realtime-kit setup${opts.only.length ? ` (--only ${opts.only.join(",")})` : ""}${opts.skipBuild ? " (--skip-build)" : ""}`);

  // Fail fast on a bad --only before touching the machine.
  if (opts.only.length) {
    const names = listImageFolders().map((f) => f.name);
    const unknown = opts.only.filter((n) => !names.includes(n));
    if (unknown.length) {
      console.error(`setup: unknown image(s) for --only: ${unknown.join(", ")} (available: ${names.join(", ") || "none"})`);
      return 2;
    }
  }

  try {
    await step(1, total, "Docker engine", () => ensureEngine({ reporter: consoleReporter }));
    await step(2, total, `Base image ${BASE_IMAGE}`, () => ensureBaseImage({ reporter: consoleReporter }));
    if (!opts.skipBuild) {
      await step(3, total, "Images", async () => {
        const results = await buildImages({ reporter: consoleReporter, only: opts.only, noCache: opts.noCache });
        const bad = results.filter((r) => r.status !== "built");
        const summary = `${results.length - bad.length}/${results.length} images built`;
        if (bad.length) {
          throw new Error(`${summary}; not built: ${bad.map((r) => `${r.name} (${r.status}; log ${r.logFile})`).join(", ")}`);
        }
        return { summary, results };
      });
    } else {
      console.log("      (image builds skipped: --skip-build)");
    }
    if (!opts.skipBrowser) {
      await step(total, total, "Browser for the browser tests (chromium, certutil)", async () => ({
        summary: installBrowserPackages((line) => console.log(`      ${line}`)) === "present" ? "already installed" : "installed",
      }));
    }
  } catch (e) {
    console.error(`\nsetup FAILED after ${formatDuration(Date.now() - t0)}: ${(e as Error).message}`);
    return 1;
  }
  console.log(`\nsetup finished in ${formatDuration(Date.now() - t0)}`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`setup: unexpected error: ${(e as Error)?.stack ?? e}`);
    process.exit(1);
  },
);
