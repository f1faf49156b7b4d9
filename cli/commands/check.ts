import fs from "node:fs";
import type { Command } from "commander";
import { probeDeployment } from "../../driver/probe";
import { ConfigError } from "../../model/errors";
import { action } from "../run";

export function register(program: Command): void {
  program
    .command("check")
    .description("probe a running deployment like a browser: the second stack, the Socket.IO handshake, a long-polling session, the upgrade to WebSocket, idle survival")
    .argument("<url>", "public origin of the deployment, e.g. https://localhost:8443 or http://localhost:8080")
    .option("--ca <file>", "PEM CA certificate to trust for https/wss (e.g. the one `up` printed)")
    .option("--app-path <path>", "route of the second stack to GET", "/ping")
    .option("--app-expect <text>", "text the --app-path answer must contain", "PONG")
    .option("--no-app", "the topology has no second stack (single): skip that step")
    .option("--realtime-url <url>", "origin of the realtime endpoint when it has its own port (split-port option)")
    .option("--idle <seconds>", "idle time in the middle of the WebSocket step", "5")
    .addHelpText(
      "after",
      "\nSteps for every Socket.IO server: GET <url><app-path> contains --app-expect; the handshake on /socket.io/;\n" +
        "one long-polling session carrying 20 requests (stickiness); a client upgrading to WebSocket and idling.\n" +
        "With the kit's own realtime server (it names its node in X-Node-Id) also: WebSocket <url>/echo: 5 messages\n" +
        "echoed, idle, 1 more; Socket.IO over [polling] and over [websocket] doing an echo with ack. For a server of\n" +
        "your own these print `skip` with the reason. Exit code 0 only when every step passed; 1 when one failed;\n" +
        "2 for bad arguments.",
    )
    .action(
      action(async (url: string, options: { ca?: string; appPath: string; appExpect: string; app: boolean; realtimeUrl?: string; idle: string }) => {
        checkOrigin("<url>", url);
        if (options.realtimeUrl !== undefined) checkOrigin("--realtime-url", options.realtimeUrl);
        if (!options.appPath.startsWith("/")) throw new ConfigError("--app-path", `expected a path starting with / (got ${JSON.stringify(options.appPath)})`);
        const idle = Number(options.idle);
        if (!Number.isFinite(idle) || idle < 0 || idle > 600) throw new ConfigError("--idle", `expected seconds from 0 to 600 (got ${JSON.stringify(options.idle)})`);
        let ca: string | undefined;
        if (options.ca !== undefined) {
          try {
            ca = fs.readFileSync(options.ca, "utf8");
          } catch (error) {
            throw new ConfigError("--ca", `cannot read ${options.ca} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
          }
          if (!/-----BEGIN CERTIFICATE-----/.test(ca)) throw new ConfigError("--ca", `${options.ca} is not a PEM certificate`);
        }
        process.stdout.write(`checking ${url}${options.realtimeUrl ? ` (realtime at ${options.realtimeUrl})` : ""}\n`);
        const steps = await probeDeployment(
          { url, realtimeUrl: options.realtimeUrl, ca, appPath: options.app ? options.appPath : null, appExpect: options.appExpect, idleMs: idle * 1000 },
          (step) => {
            const status = step.skipped ? "skip" : step.ok ? "ok  " : "FAIL";
            process.stdout.write(`${status} ${step.name} [${step.ms} ms]: ${step.detail}\n`);
          },
        );
        const failed = steps.filter((step) => !step.ok);
        process.stdout.write(failed.length === 0 ? "all checks passed\n" : `${failed.length} of ${steps.length} checks failed\n`);
        return failed.length === 0 ? 0 : 1;
      }),
    );
}

function checkOrigin(field: string, value: string): void {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new ConfigError(field, `${JSON.stringify(value)} is not a URL; expected an origin such as https://localhost:8443`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new ConfigError(field, `expected http:// or https:// (got ${parsed.protocol})`);
  if ((parsed.pathname !== "/" && parsed.pathname !== "") || parsed.search || parsed.hash) {
    throw new ConfigError(field, `expected an origin without a path (got ${JSON.stringify(value)}); the probe adds /ping, /echo and /socket.io/ itself`);
  }
}
