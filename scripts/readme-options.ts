/**
 * `npm run docs`: writes the options table (`realtime-kit options`) into README.md between its
 * markers. test/unit/readme.test.ts fails when the README's table differs from the schema's.
 */
import fs from "node:fs";
import path from "node:path";
import { optionsTable } from "../model/docs";

export const README_PATH = path.resolve(__dirname, "..", "README.md");
const BEGIN = /<!-- options:begin[^>]*-->\n/;
const END = "<!-- options:end -->";

/** The README text with the current options table between the markers. */
export function withCurrentOptionsTable(readme: string): string {
  const begin = BEGIN.exec(readme);
  const end = readme.indexOf(END);
  if (!begin || end < begin.index) throw new Error(`README.md has no "<!-- options:begin -->" ... "${END}" markers`);
  const tableStart = begin.index + begin[0].length;
  return readme.slice(0, tableStart) + optionsTable().trimEnd() + "\n" + readme.slice(end);
}

if (require.main === module) {
  const before = fs.readFileSync(README_PATH, "utf8");
  const after = withCurrentOptionsTable(before);
  fs.writeFileSync(README_PATH, after);
  console.log(before === after ? "README.md options table already current" : "README.md options table updated");
}
