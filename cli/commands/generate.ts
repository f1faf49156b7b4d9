import type { Command } from "commander";
import { validateDirectory } from "../../driver/validate";
import { assertContract } from "../../driver/verify-image";
import { ConfigError } from "../../model/errors";
import { loadModel } from "../../model/load";
import { listed, TOPOLOGY_NAMES } from "../../model/topologies";
import { planDeployment } from "../../render/deployment";
import { GENERATED_FILES, CHECKED_CONFIG_FILES } from "../../plan/files";
import { writeDeployment } from "../output";
import { printValidation } from "./validate";
import { action, collect } from "../run";

export function register(program: Command): void {
  program
    .command("generate")
    .description(`write the configuration files a topology needs (${GENERATED_FILES.join(", ")})`)
    .argument("<topology>", TOPOLOGY_NAMES.join(" | "))
    .requiredOption("--out <dir>", "folder to write (new, empty, or written by an earlier generate)")
    .option("--config <file>", "YAML or JSON file of model options")
    .option("--set <key=value>", "set one option, e.g. --set realtime.nodes=3 (repeatable)", collect, [])
    .option("--validate", "check the files with haproxy -c, nginx -t and a real stunnel start, and images of your own against the contract (realtime-kit verify-image), before writing them (needs the kit's images)")
    .action(
      action(async (topology: string, options: { out: string; config?: string; set: string[]; validate?: boolean }) => {
        const model = loadModel({ topology, configFile: options.config, sets: options.set });
        const deployment = planDeployment(model);
        const checked = CHECKED_CONFIG_FILES.filter((file) => deployment.files[file] !== undefined);
        if (options.validate && checked.length === 0) {
          throw new ConfigError("--validate", `${model.topology} generates no ${listed(CHECKED_CONFIG_FILES, "or")} (only ${Object.keys(deployment.files).join(" and ")}): there is nothing for their programs to check; drop --validate`);
        }
        const operatorTls = model.tls?.certFile && model.tls.keyFile ? { certFile: model.tls.certFile, keyFile: model.tls.keyFile } : null;
        let failed = false;
        const written = await writeDeployment(deployment, options.out, options.validate
          ? async (staged) => {
              const results = await validateDirectory(staged, operatorTls);
              printValidation(results);
              failed = results.some((result) => !result.ok);
              if (failed) throw new Error("generated configuration failed validation; nothing was written");
              // Images of one's own are checked against the contract the generated proxies rely on.
              await assertContract(model, (service, step) => process.stdout.write(`${step.ok ? "ok  " : "FAIL"} ${service.role}.image ${service.image}: ${step.name}: ${step.detail}\n`));
            }
          : undefined);
        process.stdout.write(`wrote ${written.join(", ")} to ${options.out}\n`);
      }),
    );
}
