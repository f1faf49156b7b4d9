import { Command, CommanderError } from "commander";
import { EXIT_BAD_INPUT } from "../model/errors";
import * as check from "./commands/check";
import * as down from "./commands/down";
import * as generate from "./commands/generate";
import * as logs from "./commands/logs";
import * as options from "./commands/options";
import * as restartRealtime from "./commands/restart-realtime";
import * as topologies from "./commands/topologies";
import * as up from "./commands/up";
import * as validate from "./commands/validate";
import * as verifyImage from "./commands/verify-image";

const program = new Command("realtime-kit")
  .description("Deploy Socket.IO applications behind the right proxies, and prove each deployment with real traffic.")
  .showHelpAfterError()
  .exitOverride();

for (const command of [topologies, options, generate, validate, up, down, logs, check, restartRealtime, verifyImage]) command.register(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  // Usage errors (unknown command, missing argument) are bad input too.
  if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : EXIT_BAD_INPUT);
  throw error;
});
