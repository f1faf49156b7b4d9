/**
 * The debootstrapped rootfs behind the base image (step 2, base-image.ts): finding what is still
 * mounted in it, removing it, and trimming it like Debian's official "slim" images.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { run } from "./proc";

/** Mount points at or below `dir`, deepest first. */
export function mountsUnder(dir: string): string[] {
  let text = "";
  try {
    text = fs.readFileSync("/proc/mounts", "utf8");
  } catch {
    return [];
  }
  const prefix = dir.endsWith("/") ? dir : `${dir}/`;
  return text
    .split("\n")
    .map((l) => l.split(" ")[1])
    .filter((m): m is string => !!m)
    .map((m) => m.replace(/\\040/g, " "))
    .filter((m) => m === dir || m.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
}

export async function removeRootfs(dir: string): Promise<void> {
  for (const m of mountsUnder(dir)) await run("umount", ["-l", m], { timeoutMs: 30_000 });
  // --one-file-system: never descend into anything still mounted inside the chroot.
  await run("rm", ["-rf", "--one-file-system", dir], { timeoutMs: 5 * 60_000 });
}

/** Trims a debootstrapped rootfs the way Debian's official "slim" images are trimmed. */
export function slimRootfs(root: string, sourcesText: string | undefined): void {
  const p = (...parts: string[]) => path.join(root, ...parts);
  const write = (rel: string, text: string) => {
    fs.mkdirSync(path.dirname(p(rel)), { recursive: true });
    fs.writeFileSync(p(rel), text);
  };
  const rmrf = (rel: string) => fs.rmSync(p(rel), { recursive: true, force: true });
  const emptyDir = (rel: string, keep: (name: string) => boolean = () => false) => {
    let names: string[] = [];
    try {
      names = fs.readdirSync(p(rel));
    } catch {
      return;
    }
    for (const n of names) if (!keep(n)) rmrf(path.join(rel, n));
  };

  // Future packages: no docs/man/locales (copyright files stay), like debian:*-slim.
  write(
    "etc/dpkg/dpkg.cfg.d/realtime-kit-slim",
    [
      "# realtime-kit base image: keep images small (as Debian's official -slim images do)",
      "path-exclude /usr/share/doc/*",
      "path-include /usr/share/doc/*/copyright",
      "path-exclude /usr/share/man/*",
      "path-exclude /usr/share/groff/*",
      "path-exclude /usr/share/info/*",
      "path-exclude /usr/share/lintian/*",
      "path-exclude /usr/share/linda/*",
      "path-exclude /usr/share/locale/*",
      "path-include /usr/share/locale/locale.alias",
      "",
    ].join("\n"),
  );
  // Same trims on what debootstrap already installed.
  const docDir = p("usr/share/doc");
  try {
    for (const pkg of fs.readdirSync(docDir)) {
      const d = path.join(docDir, pkg);
      if (!fs.lstatSync(d).isDirectory()) {
        fs.rmSync(d, { force: true });
        continue;
      }
      for (const f of fs.readdirSync(d)) if (f !== "copyright") fs.rmSync(path.join(d, f), { recursive: true, force: true });
    }
  } catch {
    /* no docs */
  }
  for (const d of ["usr/share/man", "usr/share/groff", "usr/share/info", "usr/share/lintian", "usr/share/linda"]) emptyDir(d);
  emptyDir("usr/share/locale", (n) => n === "locale.alias");

  // apt behaves as in the official images: no .deb cache, no translations, compressed indexes.
  const clean =
    '"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"';
  write(
    "etc/apt/apt.conf.d/docker-clean",
    `DPkg::Post-Invoke { ${clean}; };\nAPT::Update::Post-Invoke { ${clean}; };\nDir::Cache::pkgcache "";\nDir::Cache::srcpkgcache "";\n`,
  );
  write("etc/apt/apt.conf.d/docker-no-languages", 'Acquire::Languages "none";\n');
  write("etc/apt/apt.conf.d/docker-gzip-indexes", 'Acquire::GzipIndexes "true";\nAcquire::CompressionTypes::Order:: "gz";\n');
  write("etc/apt/apt.conf.d/docker-autoremove-suggests", 'Apt::AutoRemove::SuggestsImportant "false";\n');

  // APT sources: the host's mirrors for bookworm, bookworm-updates, bookworm-security.
  if (sourcesText) {
    write("etc/apt/sources.list.d/debian.sources", sourcesText);
    rmrf("etc/apt/sources.list");
  }

  // Caches, package lists and logs from the bootstrap; host identity files debootstrap copied.
  emptyDir("var/cache/apt/archives", (n) => n === "partial" || n === "lock");
  for (const f of ["var/cache/apt/pkgcache.bin", "var/cache/apt/srcpkgcache.bin"]) rmrf(f);
  emptyDir("var/lib/apt/lists", (n) => n === "partial" || n === "lock");
  emptyDir("var/cache/debconf", (n) => !n.endsWith("-old"));
  emptyDir("var/log", (n) => fs.lstatSync(p("var/log", n)).isDirectory());
  write("etc/resolv.conf", "");
  write("etc/hostname", "localhost\n");
}
