import fs from "node:fs";
import path from "node:path";

/**
 * The kit's own folder (package.json, images/, examples/): found from this file whether it runs
 * from the sources or from the library build in dist/, and wherever the package is installed.
 */
export const KIT_ROOT = findPackageRoot(__dirname);

function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, "package.json");
    if (fs.existsSync(manifest) && (JSON.parse(fs.readFileSync(manifest, "utf8")) as { name?: string }).name === "realtime-kit") return dir;
    if (path.dirname(dir) === dir) throw new Error(`realtime-kit: no package.json of realtime-kit above ${from}`);
  }
}
