import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { which } from "../../scripts/lib/proc";
import { aptInstall } from "../../scripts/lib/setup-shared";
import { CERT_REQUEST, LOCALLY_SIGNED_CERT, PRIVATE_KEY, SELF_SIGNED_CERT } from "./provider/tls";

/**
 * The @pulumi/tls handlers make real key material: the CA and the Redis certificate the kit's
 * RedisCertificates (stacks/components/redis.ts) declares, checked with the openssl CLI rather than
 * with the library that made them. None of these resources uses an engine.
 */
describe("the tls provider's resources, as the kit's Redis certificates use them (checked by openssl)", function () {
  this.timeout(30_000);
  const none = undefined as never;
  let dir: string;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "pe-tls-"));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  function run(command: string, ...args: string[]): string {
    const result = spawnSync(command, args, { cwd: dir, encoding: "utf8" });
    assert.equal(result.status, 0, `${command} ${args.join(" ")}: ${result.stderr}`);
    return result.stdout;
  }
  const openssl = (...args: string[]) => run("openssl", ...args);
  const write = (name: string, content: string) => fs.writeFileSync(path.join(dir, name), content, { mode: 0o600 });

  async function redisCertificates() {
    const caKey = await PRIVATE_KEY.create(none, { algorithm: "ECDSA", ecdsaCurve: "P256" }, none);
    const ca = await SELF_SIGNED_CERT.create(
      none,
      {
        privateKeyPem: caKey.outputs.privateKeyPem,
        subject: { commonName: "realtime-kit Redis CA" },
        isCaCertificate: true,
        validityPeriodHours: 87_600,
        allowedUses: ["cert_signing", "crl_signing"],
      },
      none,
    );
    const key = await PRIVATE_KEY.create(none, { algorithm: "ECDSA", ecdsaCurve: "P256" }, none);
    const request = await CERT_REQUEST.create(
      none,
      { privateKeyPem: key.outputs.privateKeyPem, subject: { commonName: "redis" }, dnsNames: ["redis"], ipAddresses: ["10.0.0.11"] },
      none,
    );
    const cert = await LOCALLY_SIGNED_CERT.create(
      none,
      {
        certRequestPem: request.outputs.certRequestPem,
        caPrivateKeyPem: caKey.outputs.privateKeyPem,
        caCertPem: ca.outputs.certPem,
        validityPeriodHours: 8_760,
        earlyRenewalHours: 720,
        allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
      },
      none,
    );
    write("ca-key.pem", caKey.outputs.privateKeyPem);
    write("ca.pem", ca.outputs.certPem);
    write("key.pem", key.outputs.privateKeyPem);
    write("key-pkcs8.pem", key.outputs.privateKeyPemPkcs8);
    write("key-openssh", key.outputs.privateKeyOpenssh);
    write("request.pem", request.outputs.certRequestPem);
    write("cert.pem", cert.outputs.certPem);
    return { caKey, ca, key, request, cert };
  }

  it("makes a CA and a server certificate it signs, which openssl verifies", async () => {
    const { ca, cert } = await redisCertificates();
    assert.equal(openssl("verify", "-CAfile", "ca.pem", "cert.pem").trim(), "cert.pem: OK");
    openssl("req", "-in", "request.pem", "-noout", "-verify");

    const caText = openssl("x509", "-in", "ca.pem", "-noout", "-text");
    assert.match(caText, /Subject: CN ?= ?realtime-kit Redis CA/);
    assert.match(caText, /Basic Constraints: critical\s+CA:TRUE\n/);
    assert.match(caText, /Key Usage: critical\s+Certificate Sign, CRL Sign\n/);
    assert.match(caText, /Signature Algorithm: ecdsa-with-SHA256/);
    assert.doesNotMatch(caText, /Extended Key Usage|Authority Key Identifier/);
    const caKeyId = /Subject Key Identifier:\s+(\S+)/.exec(caText)?.[1];
    assert.ok(caKeyId, "the CA has a subject key id");

    const text = openssl("x509", "-in", "cert.pem", "-noout", "-text");
    assert.match(text, /Issuer: CN ?= ?realtime-kit Redis CA/);
    assert.match(text, /Subject: CN ?= ?redis\n/);
    assert.match(text, /X509v3 Subject Alternative Name: \n\s+DNS:redis, IP Address:10\.0\.0\.11\n/);
    assert.match(text, /Extended Key Usage: \n\s+TLS Web Server Authentication\n/);
    assert.match(text, /Key Usage: critical\s+Digital Signature, Key Encipherment\n/);
    assert.match(text, /Basic Constraints: critical\s+CA:FALSE\n/);
    assert.match(text, new RegExp(`Authority Key Identifier: \\n\\s+(keyid:)?${caKeyId}\\n`));
    assert.doesNotMatch(text, /Subject Key Identifier/);

    // The id is the serial number in decimal; the validity is the requested hours from now.
    const serial = openssl("x509", "-in", "cert.pem", "-noout", "-serial").trim().replace(/^serial=/, "");
    assert.equal(cert.id, BigInt(`0x${serial}`).toString(10));
    assert.equal(ca.id, BigInt(`0x${openssl("x509", "-in", "ca.pem", "-noout", "-serial").trim().replace(/^serial=/, "")}`).toString(10));
    const notBefore = Date.parse(cert.outputs.validityStartTime);
    assert.ok(Math.abs(notBefore - Date.now()) < 60_000, cert.outputs.validityStartTime);
    assert.equal(Date.parse(cert.outputs.validityEndTime) - notBefore, 8_760 * 3_600_000);
    const dates = openssl("x509", "-in", "cert.pem", "-noout", "-startdate", "-enddate");
    assert.equal(Date.parse(/notAfter=(.*)/.exec(dates)![1]!) - Date.parse(/notBefore=(.*)/.exec(dates)![1]!), 8_760 * 3_600_000);
    assert.equal(cert.outputs.readyForRenewal, false);
  });

  it("makes EC keys openssl accepts, whose public key is the certificate's", async () => {
    const { key } = await redisCertificates();
    assert.match(key.outputs.privateKeyPem, /^-----BEGIN EC PRIVATE KEY-----\n/);
    const check = spawnSync("openssl", ["ec", "-in", "key.pem", "-check", "-noout"], { cwd: dir, encoding: "utf8" });
    assert.equal(check.status, 0, check.stderr);
    assert.match(check.stdout + check.stderr, /EC Key valid/);
    const publicKey = openssl("ec", "-in", "key.pem", "-pubout");
    assert.equal(publicKey, key.outputs.publicKeyPem);
    assert.equal(openssl("x509", "-in", "cert.pem", "-noout", "-pubkey"), publicKey);
    assert.equal(openssl("req", "-in", "request.pem", "-noout", "-pubkey"), publicKey);
    // The PKCS#8 form is the same key, exactly as openssl writes it.
    assert.equal(openssl("pkey", "-in", "key.pem"), key.outputs.privateKeyPemPkcs8);
    assert.equal(openssl("pkey", "-in", "key-pkcs8.pem", "-pubout"), publicKey);
    assert.match(openssl("ec", "-in", "key.pem", "-noout", "-text"), /ASN1 OID: prime256v1/);
  });

  it("makes the OpenSSH forms of the key that ssh-keygen reads", async function () {
    // ssh-keygen is Debian's openssh-client (the ssh:// engines need it as well): installed when missing, never skipped.
    this.timeout(600_000);
    if (!which("ssh-keygen")) await aptInstall(["openssh-client"]);
    const { key } = await redisCertificates();
    assert.equal(run("ssh-keygen", "-y", "-f", "key-openssh").trim(), key.outputs.publicKeyOpenssh.trim());
    write("key-openssh.pub", key.outputs.publicKeyOpenssh);
    assert.match(run("ssh-keygen", "-l", "-E", "sha256", "-f", "key-openssh.pub"), new RegExp(`^256 ${key.outputs.publicKeyFingerprintSha256.replace(/[+/]/g, "\\$&")} `));
    assert.match(run("ssh-keygen", "-l", "-E", "md5", "-f", "key-openssh.pub"), new RegExp(`^256 MD5:${key.outputs.publicKeyFingerprintMd5} `));
  });

  it("refuses an allowed use the provider does not know, and a CA key that is not the CA certificate's", async () => {
    const caKey = await PRIVATE_KEY.create(none, { algorithm: "ECDSA", ecdsaCurve: "P256" }, none);
    const base = { privateKeyPem: caKey.outputs.privateKeyPem, subject: { commonName: "a CA" }, isCaCertificate: true, validityPeriodHours: 1 };
    await assert.rejects(SELF_SIGNED_CERT.create(none, { ...base, allowedUses: ["cert_signing", "server_authentication"] }, none), /allowedUses: "server_authentication" is not one of/);
    const ca = await SELF_SIGNED_CERT.create(none, { ...base, allowedUses: ["cert_signing"] }, none);
    const other = await PRIVATE_KEY.create(none, { algorithm: "ECDSA", ecdsaCurve: "P256" }, none);
    const request = await CERT_REQUEST.create(none, { privateKeyPem: other.outputs.privateKeyPem, subject: { commonName: "x" } }, none);
    await assert.rejects(
      LOCALLY_SIGNED_CERT.create(none, { certRequestPem: request.outputs.certRequestPem, caPrivateKeyPem: other.outputs.privateKeyPem, caCertPem: ca.outputs.certPem, validityPeriodHours: 1, allowedUses: [] }, none),
      /doesn't match parent's PublicKey/,
    );
  });
});
