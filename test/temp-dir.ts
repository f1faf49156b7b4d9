import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/**
 * A scratch folder (under the system's temp folder, named `prefix` + random) for the enclosing
 * describe: a fresh one for each test (`"test"`) or one for all its tests (`"describe"`), removed
 * with its contents after. Returns the folder's path; call it inside hooks and tests, where the
 * folder exists.
 */
export function useTempDir(prefix: string, per: "test" | "describe"): () => string {
  let dir = "";
  const make = () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  };
  const remove = () => fs.rmSync(dir, { recursive: true, force: true });
  if (per === "test") {
    beforeEach(make);
    afterEach(remove);
  } else {
    before(make);
    after(remove);
  }
  return () => dir;
}
