import { ConfigError, EXIT_BAD_INPUT } from "../model/errors";

/**
 * Runs a command's action with the kit's error contract: bad input prints one line naming the
 * field and exits 2; anything else is a failure of the kit or the engine and exits 1.
 */
export function action<Args extends unknown[]>(body: (...args: Args) => Promise<number | void> | number | void): (...args: Args) => Promise<void> {
  return async (...args: Args) => {
    try {
      const code = await body(...args);
      process.exitCode = code ?? 0;
    } catch (error) {
      if (error instanceof ConfigError) {
        process.stderr.write(`realtime-kit: invalid input: ${error.message}\n`);
        process.exitCode = EXIT_BAD_INPUT;
      } else {
        process.stderr.write(`realtime-kit: ${(error as Error).stack ?? String(error)}\n`);
        process.exitCode = 1;
      }
    }
  };
}

/** Commander collector for repeatable options such as `--set a=1 --set b=2`. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
