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

/**
 * Where a Dockerfile is built from: the folder a `# build-context: <path>` line names (relative to
 * the Dockerfile's folder), else the Dockerfile's own folder. The one reading of that line, for
 * `npm run setup`, the bench and the Pulumi program alike.
 */
export function dockerfileBuildContext(dockerfile: string, text = fs.readFileSync(dockerfile, "utf8")): string {
  const declared = /^#\s*build-context:\s*(\S+)\s*$/m.exec(text);
  const folder = path.dirname(dockerfile);
  return declared ? path.resolve(folder, declared[1]) : folder;
}

/** The Dockerfile of the kit image images/<name> and its build context, as absolute paths. */
export function kitImageBuild(name: string): { dockerfile: string; context: string } {
  const dockerfile = path.join(KIT_ROOT, "images", name, "Dockerfile");
  return { dockerfile, context: dockerfileBuildContext(dockerfile) };
}
