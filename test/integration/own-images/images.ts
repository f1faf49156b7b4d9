import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { hostExtraCaCerts } from "../../../scripts/lib/images";

/**
 * Images that are not the kit's, built by the tests: the examples (examples/live-poll, a Socket.IO
 * poll in plain Node; examples/status-api, a Python JSON API) and broken variants of live-poll
 * (broken/), one per rule of the contract they break.
 */
const REPO = path.resolve(__dirname, "..", "..", "..");
export const LIVE_POLL = "realtime-kit-example/live-poll:test";
export const STATUS_API = "realtime-kit-example/status-api:test";
export const BROKEN_MODES = ["no-health-route", "health-500", "no-session-prefix", "ignores-sigterm", "no-healthcheck"] as const;
export const broken = (mode: (typeof BROKEN_MODES)[number]) => `realtime-kit-example/broken:${mode}`;
/** Options that deploy both examples. */
export const OWN_IMAGES = { realtime: { image: LIVE_POLL }, app: { image: STATUS_API, healthPath: "/health" } };
export const OWN_IMAGE_SETS = [`realtime.image=${LIVE_POLL}`, `app.image=${STATUS_API}`, "app.healthPath=/health"];

async function buildImage(tag: string, context: string, args: Record<string, string> = {}, dockerfile?: string): Promise<void> {
  const ca = hostExtraCaCerts().pem;
  const argv = ["build", "-q", "-t", tag, ...(dockerfile ? ["-f", path.join(context, dockerfile)] : [])];
  for (const [key, value] of Object.entries(args)) argv.push("--build-arg", `${key}=${value}`);
  // Passed through the environment: a build stage behind a TLS-intercepting proxy trusts its CA.
  if (ca) argv.push("--build-arg", "BUILD_CA_CERTS");
  await promisify(execFile)("docker", [...argv, context], { env: { ...process.env, BUILD_CA_CERTS: ca }, maxBuffer: 64 * 1024 * 1024 });
}

/**
 * The two examples, as their users would build them (the layer cache makes a rebuild quick);
 * live-poll from the repository root, for the @realtime-kit/server it builds from server/.
 */
export async function buildExamples(): Promise<void> {
  await buildImage(LIVE_POLL, REPO, {}, "examples/live-poll/Dockerfile");
  await buildImage(STATUS_API, path.join(REPO, "examples", "status-api"));
}

/** Every broken variant, on top of the live-poll example. */
export async function buildBrokenImages(): Promise<void> {
  const dir = path.join(__dirname, "broken");
  for (const mode of BROKEN_MODES) {
    if (mode === "no-healthcheck") await buildImage(broken(mode), dir, { BASE: LIVE_POLL }, "Dockerfile.no-healthcheck");
    else await buildImage(broken(mode), dir, { BASE: LIVE_POLL, MODE: mode });
  }
}
