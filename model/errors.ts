/**
 * The one error a user sees for bad input: which field, what is wrong, what would be valid.
 * The CLI prints it and exits with EXIT_BAD_INPUT; the Pulumi program fails with the same text.
 */
export class ConfigError extends Error {
  constructor(
    /** Dotted path of the offending option, e.g. `realtime.nodes`, or the CLI argument name. */
    readonly field: string,
    /** What is wrong and what would be valid. */
    readonly problem: string,
  ) {
    super(`${field}: ${problem}`);
    this.name = "ConfigError";
  }
}

export const EXIT_BAD_INPUT = 2;
