import { buildOrder, hostExtraCaCerts, listImageFolders } from "../../scripts/lib/images";
import { envWithSbin, run } from "../../scripts/lib/proc";

export interface BuildTime {
  image: string;
  /** null when not measured in this mode. */
  coldMs: number | null;
  warmMs: number;
}

/** Tags the bench builds under, never the kit's own `:latest` that running deployments use. */
const BENCH_REPO = "rkb-bench";

/**
 * `docker build` of every images/<name>/ as setup does it (classic builder, the machine's extra
 * CAs for the build stages), tagged rkb-bench/<name>:cold|warm and untagged afterwards. Cold:
 * --no-cache (the base image debian:bookworm-slim stays local; packages are fetched again).
 * Warm: the layer cache as it is after the kit's images were built.
 */
export async function measureBuilds(cold: boolean, log: (line: string) => void): Promise<BuildTime[]> {
  const env: NodeJS.ProcessEnv = { ...envWithSbin(), DOCKER_BUILDKIT: process.env.DOCKER_BUILDKIT ?? "0" };
  const ca = hostExtraCaCerts();
  if (process.env.BUILD_CA_CERTS === undefined && ca.pem) env.BUILD_CA_CERTS = ca.pem;
  const results: BuildTime[] = [];
  const tags: string[] = [];
  try {
    for (const folder of buildOrder(listImageFolders())) {
      const build = async (kind: "cold" | "warm"): Promise<number> => {
        const tag = `${BENCH_REPO}/${folder.name}:${kind}`;
        tags.push(tag);
        const args = ["build", "--force-rm", "-t", tag, "-f", folder.dockerfile];
        if (kind === "cold") args.push("--no-cache");
        if (folder.args.includes("BUILD_CA_CERTS") && env.BUILD_CA_CERTS !== undefined) args.push("--build-arg", "BUILD_CA_CERTS");
        args.push(folder.context);
        const result = await run("docker", args, { env, timeoutMs: 20 * 60_000 });
        if (result.code !== 0) throw new Error(`docker build of images/${folder.name} (${kind}) failed: ${result.stderr.slice(-1500) || result.stdout.slice(-1500)}`);
        return result.durationMs;
      };
      const coldMs = cold ? await build("cold") : null;
      const warmMs = await build("warm");
      results.push({ image: folder.name, coldMs, warmMs });
      log(`build ${folder.name}: ${coldMs === null ? "" : `cold ${(coldMs / 1000).toFixed(1)} s, `}warm ${(warmMs / 1000).toFixed(1)} s`);
    }
  } finally {
    await run("docker", ["image", "rm", ...new Set(tags)], { timeoutMs: 5 * 60_000 });
  }
  return results;
}
