import crypto from "node:crypto";
import fs from "node:fs";
import { ConfigError } from "./errors";

/** The PEM block each kind of TLS file must hold. */
const PEM_BLOCKS = {
  certificate: /-----BEGIN CERTIFICATE-----/,
  privateKey: /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
} as const;
export type PemKind = keyof typeof PEM_BLOCKS;

/** Whether text holds a PEM block of the kind; the full parse is checkCertificatePair's. */
export function holdsPem(text: string, kind: PemKind): boolean {
  return PEM_BLOCKS[kind].test(text);
}

/** Reads a PEM file named by `field`; `what` says what it should be ("a PEM certificate"). */
export function readPemFile(field: string, file: string, kind: PemKind, what: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    throw new ConfigError(field, `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)}); give the path of ${what}`);
  }
  if (!holdsPem(text, kind)) throw new ConfigError(field, `${file} is not ${what} (no PEM block found)`);
  return text;
}

/** Where a certificate and its key came from, for errors that name the right fields. */
export interface PairFields {
  cert: string;
  key: string;
}

/**
 * Checks a TLS certificate chain and private key before anything uses them: both parse, the first
 * certificate holds the key's public key, and it is valid now (not expired, not yet valid). The
 * terminators would otherwise fail at start (or, for a renewal, keep the old pair) far from the
 * mistake.
 */
export function checkCertificatePair(certPem: string, keyPem: string, fields: PairFields, now = new Date()): void {
  let certificate: crypto.X509Certificate;
  try {
    certificate = new crypto.X509Certificate(certPem);
  } catch (error) {
    throw new ConfigError(fields.cert, `is not a readable PEM certificate (${(error as Error).message}); give the certificate chain, the server's certificate first`);
  }
  let key: crypto.KeyObject;
  try {
    key = crypto.createPrivateKey(keyPem);
  } catch (error) {
    throw new ConfigError(fields.key, `is not a readable PEM private key (${(error as Error).message}); give the unencrypted private key of the certificate`);
  }
  if (!certificate.checkPrivateKey(key)) {
    throw new ConfigError(fields.key, `does not belong to the certificate in ${fields.cert} (subject ${certificate.subject.replace(/\n/g, ", ")}): their public keys differ; give the key the certificate was issued for`);
  }
  const notBefore = new Date(certificate.validFrom);
  const notAfter = new Date(certificate.validTo);
  if (now < notBefore) throw new ConfigError(fields.cert, `is not valid yet: valid from ${notBefore.toISOString()} to ${notAfter.toISOString()}`);
  if (now > notAfter) throw new ConfigError(fields.cert, `has expired: it was valid from ${notBefore.toISOString()} to ${notAfter.toISOString()}; renew it`);
}
