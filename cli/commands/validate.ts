import fs from "node:fs";
import type { Command } from "commander";
import { validateDirectory, type ValidationResult } from "../../driver/validate";
import { ConfigError } from "../../model/errors";
import { listed } from "../../model/topologies";
import { CHECKED_CONFIG_FILES } from "../../plan/files";
import { action } from "../run";

export function register(program: Command): void {
  program
    .command("validate")
    .description("check generated configs with the real programs (haproxy -c, nginx -t, a real stunnel start) in the kit's images")
    .argument("<dir>", "folder written by `realtime-kit generate`")
    .action(
      action(async (dir: string) => {
        if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new ConfigError("<dir>", `${dir} is not a folder; give the --out folder of \`realtime-kit generate\``);
        const results = await validateDirectory(dir);
        if (results.length === 0) throw new ConfigError("<dir>", `${dir} holds no ${listed(CHECKED_CONFIG_FILES, "or")} to check`);
        printValidation(results);
        return results.every((result) => result.ok) ? 0 : 1;
      }),
    );
}

export function printValidation(results: ValidationResult[]): void {
  for (const result of results) {
    process.stdout.write(`${result.ok ? "ok  " : "FAIL"} ${result.file}: ${result.program}\n`);
    if (!result.ok) process.stdout.write(result.output.replace(/^/gm, "     ") + "\n");
  }
}
