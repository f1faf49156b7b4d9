import assert from "node:assert/strict";
import fs from "node:fs";
import { README_PATH, withCurrentOptionsTable } from "../../scripts/readme-options";

describe("README", function () {
  it("documents every model option with the schema's defaults (run `npm run docs` after changing the schema)", function () {
    const readme = fs.readFileSync(README_PATH, "utf8");
    assert.equal(readme, withCurrentOptionsTable(readme));
  });

  it("leads with the setup-and-run command and the test command that .ci/run calls", function () {
    const readme = fs.readFileSync(README_PATH, "utf8");
    const firstBlock = /```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? "";
    const commands = firstBlock.split("\n").filter((line) => line.trim() !== "" && !line.startsWith("#"));
    assert.deepEqual(commands, ["npm ci && npm run setup && npx realtime-kit up multi-node", "npm ci && npm run setup && npm test"]);
    const ci = fs.readFileSync(`${README_PATH.replace(/README\.md$/, "")}.ci/run`, "utf8");
    for (const step of ["npm ci", "npm run setup", "npm test"]) assert.match(ci, new RegExp(`^${step}\\b`, "m"), `.ci/run does not run \`${step}\``);
  });
});
