import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { generate } from "selfsigned";
import { createTestCertificates } from "../../driver/certs";
import { ConfigError } from "../../model/errors";
import { loadModel } from "../../model/load";
import { checkCertificatePair } from "../../model/pem";

/** A self-signed certificate valid from `from` to `to` (days from now), and its key. */
async function dated(from: number, to: number): Promise<{ cert: string; key: string }> {
  const day = 86_400_000;
  const pair = await generate([{ name: "commonName", value: "localhost" }], { keyType: "ec", curve: "P-256", notBeforeDate: new Date(Date.now() + from * day), notAfterDate: new Date(Date.now() + to * day) });
  return { cert: pair.cert, key: pair.private };
}

function rejects(run: () => void, field: string, problem: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof ConfigError, String(error));
    assert.equal(error.field, field);
    assert.match(error.problem, problem);
    return true;
  });
}

describe("a certificate and its key are checked before any terminator sees them", () => {
  const fields = { cert: "tls.certFile", key: "tls.keyFile" };

  it("a matching, current pair passes", async () => {
    const pair = await createTestCertificates(["localhost"]);
    checkCertificatePair(pair.cert, pair.key, fields);
  });

  it("a key of another certificate is refused, naming the key", async () => {
    const [one, other] = await Promise.all([createTestCertificates(["localhost"]), createTestCertificates(["localhost"])]);
    rejects(() => checkCertificatePair(one.cert, other.key, fields), "tls.keyFile", /does not belong to the certificate in tls\.certFile .*their public keys differ/);
  });

  it("an expired certificate is refused with its dates", async () => {
    const old = await dated(-30, -1);
    rejects(() => checkCertificatePair(old.cert, old.key, fields), "tls.certFile", /has expired: it was valid from \d{4}-\d\d-\d\dT.* to \d{4}-\d\d-\d\dT.*; renew it/);
  });

  it("a certificate not valid yet is refused with its dates", async () => {
    const future = await dated(2, 30);
    rejects(() => checkCertificatePair(future.cert, future.key, fields), "tls.certFile", /is not valid yet: valid from /);
  });

  it("`generate` and `up` (loadModel) check the files' pair", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rk-pem-"));
    try {
      const [one, other] = await Promise.all([createTestCertificates(["localhost"]), createTestCertificates(["localhost"])]);
      fs.writeFileSync(path.join(dir, "cert.pem"), one.cert);
      fs.writeFileSync(path.join(dir, "key.pem"), other.key);
      rejects(() => loadModel({ topology: "ssl-split", sets: [`tls.certFile=${dir}/cert.pem`, `tls.keyFile=${dir}/key.pem`] }), "tls.keyFile", /does not belong to the certificate/);
      fs.writeFileSync(path.join(dir, "key.pem"), one.key);
      assert.equal(loadModel({ topology: "ssl-split", sets: [`tls.certFile=${dir}/cert.pem`, `tls.keyFile=${dir}/key.pem`] }).tls!.certFile, path.join(dir, "cert.pem"));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
