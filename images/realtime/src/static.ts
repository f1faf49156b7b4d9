import { readFileSync, readdirSync } from "node:fs";
import { extname, join } from "node:path";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".ico": "image/x-icon",
  ".png": "image/png",
};

export interface StaticFile {
  body: Buffer;
  type: string;
}

/**
 * The chat page's files, read once at start-up. Only files that exist in public/ at start can
 * be served, so there is no path handling (and no traversal) at request time.
 */
export function loadPublic(dir: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    if (!type) continue;
    files.set(name, { body: readFileSync(join(dir, name)), type });
  }
  return files;
}
