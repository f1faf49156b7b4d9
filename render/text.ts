/**
 * A tiny builder for readable config files: directives with an optional "why" comment above,
 * blank lines between sections. Generators stay pure functions that return text.
 */
export class ConfigText {
  private readonly lines: string[] = [];

  constructor(private readonly commentPrefix: string) {}

  /** A comment line (or several, split on newlines). */
  comment(text: string, indent = ""): this {
    for (const line of text.split("\n")) this.lines.push(`${indent}${this.commentPrefix} ${line}`.trimEnd());
    return this;
  }

  /** A directive, with its reason as a comment above it when the reason is not obvious. */
  line(text: string, why?: string, indent = ""): this {
    if (why) this.comment(why, indent);
    this.lines.push(`${indent}${text}`);
    return this;
  }

  blank(): this {
    if (this.lines.length > 0 && this.lines[this.lines.length - 1] !== "") this.lines.push("");
    return this;
  }

  toString(): string {
    return `${this.lines.join("\n").trimEnd()}\n`;
  }
}

/** Header every generated file starts with, so nobody hand-edits what the next run overwrites. */
export function generatedHeader(text: ConfigText, what: string, topology: string): void {
  text.comment(`${what} for the realtime-kit topology "${topology}".`);
  text.comment("Generated from the topology model: change the model (config file / --set) and regenerate; do not edit by hand.");
  text.blank();
}
