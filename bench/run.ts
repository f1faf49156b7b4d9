/**
 * `npm run bench [-- --quick]`: brings the topologies up on this machine's Docker engine,
 * measures them with bounded loads on their own networks, and writes bench/results/<mode>.md,
 * <mode>.json and <mode>-latency-vs-connections.svg (a copy of the JSON per run in raw/).
 */

import fs from "node:fs";
import path from "node:path";
import { FULL, QUICK } from "./config";
import { Lab, removeLeftovers } from "./lab";
import { renderMarkdown } from "./markdown";
import { latencyPlotSvg } from "./plot";
import { runSuite } from "./suite";

const RESULTS = path.join(__dirname, "results");

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => a !== "--quick" && a !== "--full");
  if (unknown.length > 0) {
    process.stderr.write(`bench: unknown option ${unknown.join(" ")}\nusage: npm run bench [-- --quick]\n`);
    return 2;
  }
  const config = args.includes("--quick") ? QUICK : FULL;
  const log = (line: string) => process.stdout.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
  const left = await removeLeftovers();
  if (left > 0) log(`removed ${left} leftover deployment(s) of an interrupted bench run`);
  const lab = new Lab();
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      log(`${signal}: removing everything this run started`);
      void lab.cleanup().finally(() => process.exit(130));
    });
  }
  log(`${config.mode} mode, run ${lab.id}`);
  try {
    const results = await runSuite(lab, config, log);
    fs.mkdirSync(path.join(RESULTS, "raw"), { recursive: true });
    const plotFile = `${config.mode}-latency-vs-connections.svg`;
    const ramps = [...(results.capacity ? [results.capacity] : []), ...results.ramps];
    fs.writeFileSync(path.join(RESULTS, plotFile), await latencyPlotSvg(ramps, `${config.mode} mode, ${results.startedAt.slice(0, 16)}`));
    const json = `${JSON.stringify(results, null, 2)}\n`;
    fs.writeFileSync(path.join(RESULTS, `${config.mode}.json`), json);
    fs.writeFileSync(path.join(RESULTS, "raw", `${results.startedAt.replace(/[:.]/g, "-")}-${config.mode}.json`), json);
    const markdown = renderMarkdown(results, plotFile);
    fs.writeFileSync(path.join(RESULTS, `${config.mode}.md`), `${markdown}\n`);
    process.stdout.write(`\n${markdown}\n`);
    log(`done in ${(results.durationS / 60).toFixed(1)} min; bench/results/${config.mode}.md, .json, ${plotFile}`);
    return results.failures.length > 0 ? 1 : 0;
  } finally {
    await lab.cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
