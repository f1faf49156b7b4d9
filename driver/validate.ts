import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { CONTAINER_PATHS, IMAGE_NAMES } from "../model/layout";
import { KIT_LABEL } from "../model/labels";
import { CHECKED_CONFIG_FILES } from "../plan/files";
import { createTestCertificates } from "./certs";
import { docker, logsOf, runOneShot } from "./engine";

export interface ValidationResult {
  file: string;
  program: string;
  ok: boolean;
  /** What the program printed (warnings count as failures: a clean config prints none). */
  output: string;
}

const OWNER = "validate";
/** Peer names a generated config may address; the check maps them to loopback so they resolve. */
const PEER_NAME = /\b((?:realtime|app)-\d+|nginx|haproxy|redis)\b/g;

/**
 * Checks generated configs with the real programs (haproxy -c, nginx -t, a stunnel start,
 * promtool check config), inside the kit's own images (the exact
 * versions that will run them), with every peer name resolvable and the operator's certificate
 * and key mounted where the deployment mounts them (a throwaway pair when none is given).
 */
export async function validateDirectory(dir: string, operatorTls: { certFile: string; keyFile: string } | null = null): Promise<ValidationResult[]> {
  const present = CHECKED_CONFIG_FILES.filter((file) => fs.existsSync(path.join(dir, file)));
  const tlsDir = fs.mkdtempSync(path.join(os.tmpdir(), "realtime-kit-validate-"));
  try {
    const certificates = operatorTls
      ? { cert: fs.readFileSync(operatorTls.certFile, "utf8"), key: fs.readFileSync(operatorTls.keyFile, "utf8") }
      : await createTestCertificates(["localhost"]);
    fs.writeFileSync(path.join(tlsDir, "server.pem"), certificates.cert);
    fs.writeFileSync(path.join(tlsDir, "server.pem.key"), certificates.key, { mode: 0o600 });
    const tlsBinds = [`${path.join(tlsDir, "server.pem")}:${CONTAINER_PATHS.tlsCert}:ro`, `${path.join(tlsDir, "server.pem.key")}:${CONTAINER_PATHS.tlsKey}:ro`];
    const results: ValidationResult[] = [];
    for (const file of present) {
      const hostPath = path.resolve(dir, file);
      const config = fs.readFileSync(hostPath, "utf8");
      const extraHosts = peerHosts(config);
      if (file === "haproxy.cfg") {
        const { exitCode, output } = await runOneShot({
          image: `${IMAGE_NAMES.haproxy}:latest`,
          cmd: ["haproxy", "-c", "-f", CONTAINER_PATHS.haproxyConfig],
          binds: [`${hostPath}:${CONTAINER_PATHS.haproxyConfig}:ro`, ...tlsBinds],
          extraHosts,
          // As in production: root only when the config drops privileges itself (native TLS).
          user: /^\s*user\s/m.test(config) ? "root" : undefined,
          owner: OWNER,
        });
        results.push({ file, program: "haproxy -c", ok: exitCode === 0 && !/\[(WARNING|ALERT)\]/.test(output), output });
      } else if (file === "nginx.conf") {
        const { exitCode, output } = await runOneShot({
          image: `${IMAGE_NAMES.nginx}:latest`,
          cmd: ["nginx", "-t", "-c", CONTAINER_PATHS.nginxConfig],
          binds: [`${hostPath}:${CONTAINER_PATHS.nginxConfig}:ro`],
          extraHosts,
          owner: OWNER,
        });
        results.push({ file, program: "nginx -t", ok: exitCode === 0 && !/\[(warn|error|emerg|crit|alert)\]/.test(output), output });
      } else if (file === "prometheus.yml") {
        const { exitCode, output } = await runOneShot({
          image: `${IMAGE_NAMES.prometheus}:latest`,
          cmd: ["promtool", "check", "config", CONTAINER_PATHS.prometheusConfig],
          binds: [`${hostPath}:${CONTAINER_PATHS.prometheusConfig}:ro`],
          owner: OWNER,
        });
        results.push({ file, program: "promtool check config", ok: exitCode === 0 && !/\b(WARNING|FAILED)\b/.test(output), output });
      } else {
        results.push(await startStunnel(hostPath, tlsBinds, extraHosts));
      }
    }
    return results;
  } finally {
    fs.rmSync(tlsDir, { recursive: true, force: true });
  }
}

/** stunnel has no dry-run: start it for real and wait for it to report a loaded configuration. */
async function startStunnel(hostPath: string, tlsBinds: string[], extraHosts: string[]): Promise<ValidationResult> {
  const container = await docker.createContainer({
    Image: `${IMAGE_NAMES.stunnel}:latest`,
    Labels: { [KIT_LABEL]: OWNER },
    User: "root",
    HostConfig: { Binds: [`${hostPath}:${CONTAINER_PATHS.stunnelConfig}:ro`, ...tlsBinds], ExtraHosts: extraHosts, NetworkMode: "none" },
  });
  try {
    await container.start();
    const deadline = Date.now() + 15_000;
    let output = "";
    while (Date.now() < deadline) {
      output = await logsOf(container);
      const state = (await container.inspect()).State;
      if (/Configuration successful/.test(output) || !state.Running) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const running = (await container.inspect()).State.Running;
    // stunnel log levels: LOG0..LOG3 are errors, LOG4 warnings. Version 5.68 logs "No trusted
    // certificates found" at error level whenever no client-certificate CA is configured; the kit
    // does not authenticate clients by certificate, so that one line is expected.
    const problems = output.split("\n").filter((line) => /LOG[0-4]\[/.test(line) && !/No trusted certificates found/.test(line));
    const ok = running && /Configuration successful/.test(output) && problems.length === 0;
    return { file: "stunnel.conf", program: "stunnel (real start)", ok, output };
  } finally {
    await container.remove({ force: true });
  }
}

function peerHosts(config: string): string[] {
  const names = new Set(config.match(PEER_NAME) ?? []);
  return [...names].map((name) => `${name}:127.0.0.1`);
}
