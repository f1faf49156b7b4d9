/**
 * `npm run results:record -- --suites faults,integration --outcome passed [--note "..."] [--commit <sha> [--dirty]] [--at <ISO time>]`
 *
 * Copies the figures the live suites just wrote (test/artifacts/{faults,measurements,hardening}.json,
 * which git ignores) into a committed run record, test/results/runs/<time>-<commit>.json, with the
 * commit, the time, the machine's load and what the run was, then rewrites test/results/README.md:
 * every figure across every recorded run, so a range in the README can be traced to its runs.
 * A failed run is recorded too (--outcome failed): it is part of the history.
 * The run's time is the latest time the suites stamped on their figures; `--commit` names the commit
 * the suites ran at when the record is written later (with `--dirty` if its tree had changes), and
 * `--at` the time of a run whose figures were not kept (a failed run is recorded from what it printed).
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const REPO = path.resolve(__dirname, "..");
const ARTIFACTS = path.join(REPO, "test", "artifacts");
const RESULTS = path.join(REPO, "test", "results");
const RUNS = path.join(RESULTS, "runs");
/** The figures files each live suite writes (measurements.<suite>.json and durations.<suite>.json: bring-up and whole describe). */
const FIGURE_FILES: Record<string, string[]> = {
  faults: ["faults"],
  hardening: ["hardening", "measurements.hardening", "durations.hardening"],
  integration: ["measurements.integration", "durations.integration"],
  "multi-host": ["measurements.multi-host"],
  "pulumi-engine": ["measurements.pulumi-engine"],
};

interface RunRecord {
  at: string;
  commit: string;
  /** Whether the working tree had uncommitted changes when the suites ran. */
  dirty: boolean;
  suites: string[];
  outcome: "passed" | "failed";
  note: string;
  /** The load average is taken when the record is written: known only for a record written right after its run. */
  machine: { cores: number; loadAverage: number[] | null };
  figures: Record<string, Record<string, unknown>>;
}

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? undefined : process.argv[index + 1];
}

function git(...args: string[]): string {
  return execFileSync("git", args, { cwd: REPO, encoding: "utf8" }).trim();
}

function record(): string {
  const suites = (argument("suites") ?? "").split(",").filter(Boolean);
  const outcome = argument("outcome");
  if (suites.length === 0 || (outcome !== "passed" && outcome !== "failed")) {
    throw new Error('usage: npm run results:record -- --suites faults[,integration,...] --outcome passed|failed [--note "..."]');
  }
  const figures: RunRecord["figures"] = {};
  // Only the named suites' files: another suite's file may be left from an older run. A record
  // back-dated with --at is of a run whose figures were not kept: whatever is in the folder is not its.
  const kinds = argument("at") ? [] : suites.flatMap((suite) => FIGURE_FILES[suite] ?? []);
  for (const kind of kinds) {
    const source = path.join(ARTIFACTS, `${kind}.json`);
    if (fs.existsSync(source)) figures[kind] = JSON.parse(fs.readFileSync(source, "utf8")) as Record<string, unknown>;
    else if (outcome === "passed") throw new Error(`${path.relative(REPO, source)} is missing: run the suite before recording it as passed`);
  }
  const commit = argument("commit");
  const run: RunRecord = {
    at: argument("at") ?? latestStamp(figures) ?? new Date().toISOString(),
    commit: commit ?? git("rev-parse", "--short", "HEAD"),
    dirty: commit ? process.argv.includes("--dirty") : git("status", "--porcelain", "--untracked-files=no") !== "",
    suites,
    outcome,
    note: argument("note") ?? "",
    machine: { cores: os.cpus().length, loadAverage: commit || argument("at") ? null : os.loadavg().map((load) => Math.round(load * 100) / 100) },
    figures,
  };
  fs.mkdirSync(RUNS, { recursive: true });
  const file = path.join(RUNS, `${run.at.replace(/[:.]/g, "-")}-${run.commit}.json`);
  fs.writeFileSync(file, `${JSON.stringify(run, null, 2)}\n`);
  return file;
}

/** The latest `at` the suites wrote into their figures: when the run ended. */
function latestStamp(value: unknown): string | undefined {
  if (!value || typeof value !== "object") return undefined;
  let latest: string | undefined;
  for (const [key, inner] of Object.entries(value)) {
    const stamp = key === "at" && typeof inner === "string" ? inner : latestStamp(inner);
    if (stamp && (!latest || stamp > latest)) latest = stamp;
  }
  return latest;
}

/** Every numeric leaf of a figure object, by its dotted name; a list of numbers (one per node or client) as `name[]`. */
function numbers(value: unknown, prefix: string, out: Map<string, number[]>): void {
  if (typeof value === "number") out.set(prefix, [value]);
  else if (Array.isArray(value)) {
    if (value.length > 0 && value.every((item) => typeof item === "number")) out.set(`${prefix}[]`, value as number[]);
  } else if (value && typeof value === "object") {
    for (const [key, inner] of Object.entries(value)) if (key !== "at") numbers(inner, prefix ? `${prefix}.${key}` : key, out);
  }
}

function summary(): void {
  const runs = fs
    .readdirSync(RUNS)
    .filter((file) => file.endsWith(".json"))
    .sort()
    .map((file) => ({ file, run: JSON.parse(fs.readFileSync(path.join(RUNS, file), "utf8")) as RunRecord }));
  const lines = [
    "# Recorded results of the live suites",
    "",
    "Written by `npm run results:record` after a run of the live suites on this project's machine;",
    "each run's figures are in [runs/](runs/). The README's reliability figures come from here: a",
    "range is the smallest and largest value over the runs listed for it. Failed runs are listed too.",
    "",
    "## Runs",
    "",
    "| run | commit | suites | outcome | load average after the run (1/5/15 min) | note |",
    "|---|---|---|---|---|---|",
    ...runs.map(({ file, run }) => `| [${run.at.slice(0, 16).replace("T", " ")}](runs/${file}) | ${run.commit}${run.dirty ? " (+ changes)" : ""} | ${run.suites.join(", ")} | ${run.outcome} | ${run.machine.loadAverage?.join(" / ") ?? "-"} | ${run.note} |`),
    "",
    "## Figures over the runs",
    "",
    "| figure | values | min | max | values, oldest run first |",
    "|---|---|---|---|---|",
  ];
  const byName = new Map<string, number[]>();
  for (const { run } of runs) {
    const values = new Map<string, number[]>();
    numbers(run.figures, "", values);
    for (const [name, value] of values) byName.set(name, [...(byName.get(name) ?? []), ...value]);
  }
  for (const [name, values] of [...byName].sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(`| ${name} | ${values.length} | ${Math.min(...values)} | ${Math.max(...values)} | ${values.join(", ")} |`);
  }
  fs.writeFileSync(path.join(RESULTS, "README.md"), `${lines.join("\n")}\n`);
}

if (!process.argv.includes("--summary-only")) process.stdout.write(`recorded ${path.relative(REPO, record())}\n`);
summary();
process.stdout.write(`rewrote ${path.relative(REPO, path.join(RESULTS, "README.md"))}\n`);
