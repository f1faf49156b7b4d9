import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type Browser } from "playwright-core";

/**
 * Headless Chromium for the browser tests, driven by playwright-core with the system's Chromium
 * (Debian's `chromium` package; no browser download). The throwaway CA of a deployment is
 * trusted for real: it goes into an NSS database in a private HOME the browser is started with,
 * exactly where Chromium on Linux looks for locally added roots, and certificate errors stay fatal.
 */

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome", "/usr/bin/google-chrome-stable"];

/** Debian packages the browser tests need: the browser, and certutil to trust a CA. */
export const BROWSER_PACKAGES = ["chromium", "libnss3-tools"];

const CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

export class BrowserMissingError extends Error {}

/** Path of a Chromium binary (CHROMIUM_PATH wins), or a BrowserMissingError saying how to install one. */
export function findChromium(): string {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new BrowserMissingError(`CHROMIUM_PATH=${fromEnv} is not an executable file`);
    return fromEnv;
  }
  const found = CANDIDATES.find(isExecutable);
  if (!found) {
    throw new BrowserMissingError(
      `no Chromium found (looked for ${CANDIDATES.join(", ")}); install it with \`apt-get install -y --no-install-recommends ${BROWSER_PACKAGES.join(" ")}\` ` +
        "(installBrowserPackages() in harness/browser.ts does this) or point CHROMIUM_PATH at a Chromium binary",
    );
  }
  return found;
}

/** Path of NSS's certutil, or a BrowserMissingError saying how to install it. */
export function findCertutil(): string {
  const found = ["/usr/bin/certutil", "/usr/local/bin/certutil"].find(isExecutable);
  if (!found) throw new BrowserMissingError("certutil (NSS tools) not found; install it with `apt-get install -y --no-install-recommends libnss3-tools`");
  return found;
}

/**
 * For the setup script: installs Chromium and certutil with apt-get when they are missing
 * (Debian/Ubuntu, as root). Returns what it did; throws with apt-get's output on failure.
 */
export function installBrowserPackages(log: (line: string) => void = () => undefined): "present" | "installed" {
  const missing: string[] = [];
  try {
    findChromium();
  } catch {
    missing.push("chromium");
  }
  try {
    findCertutil();
  } catch {
    missing.push("libnss3-tools");
  }
  if (missing.length === 0) return "present";
  log(`apt-get install ${missing.join(" ")}`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  for (const args of [["update"], ["-o", "DPkg::Lock::Timeout=300", "install", "-y", "--no-install-recommends", ...missing]]) {
    const result = spawnSync("apt-get", args, { env, encoding: "utf8" });
    if (result.status !== 0) throw new Error(`apt-get ${args.join(" ")} failed (exit ${result.status ?? result.signal}): ${(result.stderr || result.stdout || "").slice(-2000)}`);
  }
  findChromium();
  findCertutil();
  return "installed";
}

export interface KitBrowser {
  browser: Browser;
  /** Closes the browser and removes its private HOME. */
  close(): Promise<void>;
}

/** Launches headless Chromium that trusts `caPem` (if given) through a private NSS database. */
export async function launchBrowser(options: { caPem?: string | null } = {}): Promise<KitBrowser> {
  const executablePath = findChromium();
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "realtime-kit-browser-"));
  try {
    if (options.caPem) trustCa(home, options.caPem);
    const browser = await chromium.launch({
      executablePath,
      headless: true,
      args: CHROMIUM_FLAGS,
      env: { ...process.env, HOME: home },
      timeout: 60_000,
    });
    return {
      browser,
      close: async () => {
        await browser.close().catch(() => undefined);
        fs.rmSync(home, { recursive: true, force: true });
      },
    };
  } catch (error) {
    fs.rmSync(home, { recursive: true, force: true });
    throw error;
  }
}

/** An NSS database in `home` with the CA as a trusted issuer of server certificates ("C,,"). */
function trustCa(home: string, caPem: string): void {
  const certutil = findCertutil();
  const db = path.join(home, ".pki", "nssdb");
  fs.mkdirSync(db, { recursive: true });
  const caFile = path.join(home, "ca.pem");
  fs.writeFileSync(caFile, caPem);
  for (const args of [
    ["-N", "-d", `sql:${db}`, "--empty-password"],
    ["-A", "-d", `sql:${db}`, "-n", "realtime-kit throwaway CA", "-t", "C,,", "-i", caFile],
  ]) {
    const result = spawnSync(certutil, args, { encoding: "utf8" });
    if (result.status !== 0) throw new Error(`certutil ${args.join(" ")} failed: ${result.stderr || result.stdout}`);
  }
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * page.goto that retries when Chromium reports ERR_NETWORK_CHANGED: it aborts navigations
 * whenever the machine's interfaces change, which Docker does each time a container or network
 * comes or goes (also containers other people start on the same engine). Chromium then commits
 * its error page and reloads the page by itself once the network settles, so the same abort also
 * surfaces as the navigation "interrupted by another navigation" to chrome-error://chromewebdata/
 * (CI at 4f50b2c) or to the very URL asked for (CI at 439b911), both on the first navigation over
 * https while earlier tests' containers were being removed. Each retry waits a little longer
 * (1 s, 2 s, ... 15 s in all). What the page then shows is still checked by the caller.
 */
export async function gotoResilient(page: import("playwright-core").Page, url: string, attempts = 6): Promise<void> {
  // Chromium's error page, or its own reload of the same URL; a navigation anywhere else is a real failure.
  const interrupted = (message: string) => message.includes('interrupted by another navigation to "chrome-error://') || message.includes(`interrupted by another navigation to "${url}"`);
  for (let attempt = 1; ; attempt++) {
    try {
      await page.goto(url, { timeout: 30_000 });
      return;
    } catch (error) {
      const message = (error as Error).message;
      if (attempt >= attempts || !(message.includes("ERR_NETWORK_CHANGED") || interrupted(message))) throw error;
      // Let the network settle: immediate retries met the same abort four times in a row (CI at
      // 4e2ef83), while earlier tests' containers and networks were still being removed.
      await new Promise((resolve) => setTimeout(resolve, 1000 * attempt));
    }
  }
}
