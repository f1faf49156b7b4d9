import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { planDeployment } from "../../render/deployment";
import { resolveModel } from "../../model/model";
import { GENERATED_CASES } from "./generated-cases";

const DIR = path.join(__dirname, "generated");
/** The folder the model resolves relative paths against (the static folder's default is the kit's own). */
const BASE = path.resolve(__dirname, "..", "..");

describe("generated files stay byte for byte what they were (test/unit/generated/)", () => {
  for (const [name, config] of Object.entries(GENERATED_CASES)) {
    it(name, () => {
      const files = planDeployment(resolveModel(config, { baseDir: BASE })).files;
      const expectedDir = path.join(DIR, name);
      assert.deepEqual(Object.keys(files).sort(), fs.readdirSync(expectedDir).sort(), "the same set of files");
      for (const [file, text] of Object.entries(files)) assert.equal(text, fs.readFileSync(path.join(expectedDir, file), "utf8"), `${name}/${file}`);
    });
  }
});
