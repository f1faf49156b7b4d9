/**
 * Reads the machine's APT sources (deb822 `*.sources` and one-line `*.list` / sources.list) so
 * the setup can use the same Debian mirror the host uses, without naming any host in the repo.
 */
import * as fs from "node:fs";
import * as path from "node:path";

export interface AptSource {
  types: string[];
  uris: string[];
  suites: string[];
  components: string[];
  signedBy?: string;
  /** File the entry came from. */
  file: string;
}

function readIfExists(file: string): string | undefined {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

/** Parses deb822 stanzas (`Types:`, `URIs:`, `Suites:`, `Components:`, `Signed-By:`). */
export function parseDeb822(text: string, file: string): AptSource[] {
  const out: AptSource[] = [];
  const stanzas = text.split(/\n\s*\n/);
  for (const stanza of stanzas) {
    const fields = new Map<string, string>();
    let last: string | undefined;
    for (const raw of stanza.split("\n")) {
      if (raw.startsWith("#")) continue;
      if (/^\s/.test(raw) && last) {
        // continuation line (e.g. an inline Signed-By key block)
        fields.set(last, `${fields.get(last)}\n${raw.trim()}`);
        continue;
      }
      const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(raw);
      if (m) {
        last = m[1].toLowerCase();
        fields.set(last, m[2].trim());
      }
    }
    if (!fields.has("uris") || !fields.has("suites")) continue;
    if ((fields.get("enabled") ?? "yes").toLowerCase() === "no") continue;
    const words = (k: string) => (fields.get(k) ?? "").split(/\s+/).filter(Boolean);
    const signedBy = fields.get("signed-by");
    out.push({
      types: words("types"),
      uris: words("uris"),
      suites: words("suites"),
      components: words("components"),
      signedBy: signedBy && !signedBy.includes("\n") ? signedBy : undefined,
      file,
    });
  }
  return out;
}

/** Parses one-line sources: `deb [opts] URI suite [component...]`. */
export function parseOneLine(text: string, file: string): AptSource[] {
  const out: AptSource[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*$/, "").trim();
    if (!line) continue;
    const m = /^(deb|deb-src)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (!m) continue;
    const opts = m[2] ?? "";
    const signed = /signed-by=(\S+)/.exec(opts);
    out.push({
      types: [m[1]],
      uris: [m[3]],
      suites: [m[4]],
      components: m[5].split(/\s+/).filter(Boolean),
      signedBy: signed?.[1],
      file,
    });
  }
  return out;
}

/** Every enabled APT source entry of the machine (sources.list, sources.list.d/*.list|*.sources). */
export function readAptSources(root = "/etc/apt"): AptSource[] {
  const out: AptSource[] = [];
  const main = path.join(root, "sources.list");
  const mainText = readIfExists(main);
  if (mainText) out.push(...parseOneLine(mainText, main));
  const dir = path.join(root, "sources.list.d");
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir).sort();
  } catch {
    /* no directory */
  }
  for (const name of names) {
    const file = path.join(dir, name);
    const text = readIfExists(file);
    if (!text) continue;
    if (name.endsWith(".sources")) out.push(...parseDeb822(text, file));
    else if (name.endsWith(".list")) out.push(...parseOneLine(text, file));
  }
  return out;
}

const USABLE_URI = /^(https?|file):/;

/**
 * The Debian archive mirror the host uses for `suite` (the first `deb` entry serving exactly that
 * suite with a http(s)/file URI), e.g. the URI to pass to debootstrap.
 */
export function findDebianMirror(suite: string, sources = readAptSources()): string | undefined {
  for (const s of sources) {
    if (!s.types.includes("deb") || !s.suites.includes(suite)) continue;
    const uri = s.uris.find((u) => USABLE_URI.test(u));
    if (uri) return uri.replace(/\/+$/, "");
  }
  return undefined;
}

/**
 * A deb822 sources file for a `suite` system, mirroring the host's entries for that suite family
 * (`suite`, `suite-updates`, `suite-security`): `deb` types only, http(s)/file URIs only.
 * `keyringExists` decides whether a Signed-By path is kept (it must exist in the target system).
 */
export function sourcesForSuite(
  suite: string,
  sources: AptSource[],
  keyringExists: (p: string) => boolean,
): string | undefined {
  const family = new Set([suite, `${suite}-updates`, `${suite}-security`]);
  const stanzas: string[] = [];
  const seen = new Set<string>();
  for (const s of sources) {
    if (!s.types.includes("deb")) continue;
    const suites = s.suites.filter((x) => family.has(x));
    const uris = s.uris.filter((u) => USABLE_URI.test(u));
    if (!suites.length || !uris.length) continue;
    const components = s.components.length ? s.components : ["main"];
    const key = `${uris.join(" ")}|${suites.join(" ")}|${components.join(" ")}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const lines = [
      "Types: deb",
      `URIs: ${uris.join(" ")}`,
      `Suites: ${suites.join(" ")}`,
      `Components: ${components.join(" ")}`,
    ];
    if (s.signedBy && keyringExists(s.signedBy)) lines.push(`Signed-By: ${s.signedBy}`);
    stanzas.push(lines.join("\n"));
  }
  return stanzas.length ? `${stanzas.join("\n\n")}\n` : undefined;
}
