import type Docker from "dockerode";
import { docker } from "./engine";
import { waitFor } from "./wait";

export type ImageHealthCheck = { test: ["CMD", ...string[]] | ["CMD-SHELL", string]; interval: number; timeout?: number; retries?: number; startPeriod?: number };

/** The image's own HEALTHCHECK (times in ms); null when the image has none. */
export async function imageHealthCheck(image: string, engine: Docker = docker): Promise<ImageHealthCheck | null> {
  const info = (await engine.getImage(image).inspect()) as Docker.ImageInspectInfo & {
    Config: { Healthcheck?: { Test?: string[]; Interval?: number; Timeout?: number; Retries?: number; StartPeriod?: number } };
  };
  const check = info.Config?.Healthcheck;
  if (!check?.Test || check.Test[0] === "NONE") return null;
  const ms = (ns: number | undefined, fallback: number) => (ns ? Math.round(ns / 1e6) : fallback);
  return {
    test: check.Test as ImageHealthCheck["test"],
    interval: ms(check.Interval, 30_000),
    timeout: ms(check.Timeout, 30_000),
    retries: check.Retries ?? 3,
    startPeriod: ms(check.StartPeriod, 0),
  };
}

/** A HEALTHCHECK test as one `sh -c` command line, the way Docker runs it. */
export function shellCommand(test: ImageHealthCheck["test"]): string {
  if (test[0] === "CMD-SHELL") return test[1];
  return test
    .slice(1)
    .map((arg) => `'${arg.replace(/'/g, `'\\''`)}'`)
    .join(" ");
}

/** Waits until a container passes its own HEALTHCHECK; one that is not running is named as such on timeout. */
export async function waitHealthy(container: Docker.Container, what: string, timeoutMs: number, intervalMs = 250): Promise<void> {
  await waitFor(
    async () => {
      const state = (await container.inspect()).State;
      if (!state.Running) throw new Error(`not running (exit ${state.ExitCode}, ${state.Error || state.Status})`);
      return state.Health?.Status === "healthy";
    },
    { timeoutMs, intervalMs, what },
  );
}
