import fs from "node:fs";
import { generate } from "selfsigned";
import type { Deployment } from "../render/deployment";
import type { TlsFiles } from "./volumes";

export interface TestCertificates {
  /** PEM of the throwaway certificate authority clients must trust. */
  caCert: string;
  /** PEM server certificate, signed by the CA, valid for the given hostnames. */
  cert: string;
  /** PEM private key of the server certificate. */
  key: string;
  /** PEM private key of the CA, to sign a renewed server certificate with (renewTestCertificate). */
  caKey: string;
}

/**
 * A throwaway CA and a server certificate it signed, for local deployments and tests: clients
 * verify TLS for real against `caCert` instead of switching verification off.
 */
export async function createTestCertificates(hostnames: string[], validDays = 7, caName = "realtime-kit throwaway CA"): Promise<TestCertificates> {
  const notBeforeDate = new Date(Date.now() - 60_000);
  const notAfterDate = new Date(Date.now() + validDays * 86_400_000);
  const generated = await generate([{ name: "commonName", value: caName }], {
    keyType: "ec",
    curve: "P-256",
    algorithm: "sha256",
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: "basicConstraints", cA: true, critical: true },
      { name: "keyUsage", keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  const ca = { cert: generated.cert, key: generated.private };
  const server = await serverCertificate(hostnames, ca, notBeforeDate, notAfterDate);
  return { caCert: ca.cert, caKey: ca.key, cert: server.cert, key: server.key };
}

/** A new server certificate and key from the same CA, as a certificate renewal gives (clients keep trusting the CA). */
export async function renewTestCertificate(certificates: TestCertificates, hostnames: string[], validDays = 7): Promise<TestCertificates> {
  const server = await serverCertificate(hostnames, { cert: certificates.caCert, key: certificates.caKey }, new Date(Date.now() - 60_000), new Date(Date.now() + validDays * 86_400_000));
  return { ...certificates, cert: server.cert, key: server.key };
}

async function serverCertificate(hostnames: string[], ca: { cert: string; key: string }, notBeforeDate: Date, notAfterDate: Date): Promise<{ cert: string; key: string }> {
  const server = await generate([{ name: "commonName", value: hostnames[0] ?? "localhost" }], {
    keyType: "ec",
    curve: "P-256",
    algorithm: "sha256",
    notBeforeDate,
    notAfterDate,
    ca: { key: ca.key, cert: ca.cert },
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true },
      { name: "extKeyUsage", serverAuth: true },
      {
        name: "subjectAltName",
        altNames: hostnames.map((host) => (/^[\d.]+$/.test(host) ? { type: 7 as const, ip: host } : { type: 2 as const, value: host })),
      },
    ],
  });
  return { cert: server.cert, key: server.private };
}

/** The certificate and key a deployment's TLS services get, and the CA clients trust (null with the operator's own certificate). */
export interface TlsMaterial extends TlsFiles {
  ca: string | null;
}

/**
 * The operator's certificate and key when the model names them, otherwise a throwaway CA and a
 * certificate it signed; null when no service of the deployment mounts TLS material.
 */
export async function tlsMaterial(deployment: Deployment): Promise<TlsMaterial | null> {
  const tls = deployment.model.tls;
  if (!tls || !deployment.services.some((service) => service.mountsTls)) return null;
  if (tls.certFile && tls.keyFile) {
    return { cert: fs.readFileSync(tls.certFile, "utf8"), key: fs.readFileSync(tls.keyFile, "utf8"), ca: null };
  }
  // Valid for the public hostname and for the TLS services' names on the network, so clients
  // in client containers verify it too.
  const names = new Set([deployment.model.hostname, "localhost", "127.0.0.1", ...deployment.services.filter((s) => s.mountsTls).map((s) => s.name)]);
  const certificates = await createTestCertificates([...names]);
  return { cert: certificates.cert, key: certificates.key, ca: certificates.caCert };
}
