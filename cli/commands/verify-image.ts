import type { Command } from "commander";
import { GRACEFUL_STOP_BOUND_S, serviceForImage, verifyImage } from "../../driver/verify-image";
import { ConfigError } from "../../model/errors";
import { loadModel } from "../../model/load";
import { TOPOLOGY_NAMES } from "../../model/topologies";
import { action, collect } from "../run";

export function register(program: Command): void {
  program
    .command("verify-image")
    .description("check that an image of your own meets the contract of the kit's proxies before deploying it (README: Your own images)")
    .argument("<image>", "image reference, e.g. myorg/chat:1 (on this Docker engine)")
    .option("--role <role>", "what the image is: realtime (a Socket.IO server) or app (the second stack)", "realtime")
    .option("--topology <topology>", `topology it will run in (${TOPOLOGY_NAMES.join(" | ")}): decides stickiness and Redis`, "multi-node")
    .option("--config <file>", "YAML or JSON file of model options (stickiness, health path, ping...)")
    .option("--set <key=value>", "set one option, e.g. --set realtime.stickiness=cookie (repeatable)", collect, [])
    .addHelpText(
      "after",
      "\nStarts the image alone with the environment the kit gives its first node (and a Redis when the\n" +
        "topology shares state), then checks: a HEALTHCHECK; the health route on PORT answers 200; realtime:\n" +
        "the Socket.IO handshake on /socket.io/, ping settings and buffer size from the environment, session\n" +
        `ids or the sticky cookie as the stickiness needs, a client that polls, upgrades and idles; and an\n` +
        `exit within ${GRACEFUL_STOP_BOUND_S} s of SIGTERM. Exit 0 when all pass, 2 when one fails (with what to add).`,
    )
    .action(
      action(async (image: string, options: { role: string; topology: string; config?: string; set: string[] }) => {
        if (options.role !== "realtime" && options.role !== "app") throw new ConfigError("--role", `expected realtime or app (got ${JSON.stringify(options.role)})`);
        const role = options.role;
        const model = loadModel({ topology: options.topology, configFile: options.config, sets: [...options.set, `${role}.image=${image}`] });
        const service = serviceForImage(model, role, image);
        process.stdout.write(`verifying ${image} as the ${role === "app" ? "second stack" : "realtime server"} of ${model.topology}\n`);
        const steps = await verifyImage(model, service, (step) => process.stdout.write(`${step.ok ? "ok  " : "FAIL"} ${step.name}: ${step.detail}\n`));
        const failed = steps.find((step) => !step.ok);
        if (failed) throw new ConfigError(`${role}.image`, `${image} does not meet the contract: ${failed.name} (see above)`);
        process.stdout.write(`${image} meets the contract\n`);
      }),
    );
}
