import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import type { RedisTls } from "../../plan/secrets";
import { onlyRole } from "./pools";
import { ServiceGroup, type ServiceGroupArgs, type ServiceGroupOptions } from "./service";

export type SharedRedisArgs = ServiceGroupArgs;

/**
 * The Redis the realtime nodes share broadcasts (and, with redis-streams, recovery state) through.
 * Private to the deployment's network; across hosts published on the edge host's private address only.
 */
export class SharedRedis extends ServiceGroup {
  constructor(name: string, args: SharedRedisArgs, opts?: ServiceGroupOptions) {
    super("realtime-kit:index:SharedRedis", name, onlyRole(args, "redis"), opts);
  }
}

export interface RedisCertificatesArgs {
  /** The addresses realtime nodes on other machines reach Redis at (the edge host's private address). */
  addresses: string[];
}

/** The CA lives as long as the deployment is likely to; Redis's certificate a year, renewed by the first `pulumi up` of its last month. */
const CA_VALID_HOURS = 10 * 365 * 24;
const CERT_VALID_HOURS = 365 * 24;
const RENEW_WITHIN_HOURS = 30 * 24;

/**
 * TLS for the port Redis publishes across machines: a CA of the deployment's own and a certificate
 * it signs for Redis's addresses, made by @pulumi/tls and kept in the state (the keys as secrets).
 * Realtime nodes elsewhere trust only this CA, so nothing else on the hosts' network can pose as
 * Redis. A certificate in its renewal window is replaced by `pulumi up`; Redis restarts with it.
 */
export class RedisCertificates extends pulumi.ComponentResource {
  /** The CA's certificate, Redis's certificate and its private key (secret), as plan/secrets.ts hands them to the containers. */
  readonly material: pulumi.Output<RedisTls>;
  /** The CA's certificate alone (not secret), for clients of Redis outside the deployment. */
  readonly caCert: pulumi.Output<string>;

  constructor(name: string, args: RedisCertificatesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("realtime-kit:index:RedisCertificates", name, {}, opts);
    const options = { parent: this };
    const caKey = new tls.PrivateKey(`${name}-ca-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, options);
    const ca = new tls.SelfSignedCert(
      `${name}-ca`,
      {
        privateKeyPem: caKey.privateKeyPem,
        subject: { commonName: "realtime-kit Redis CA" },
        isCaCertificate: true,
        validityPeriodHours: CA_VALID_HOURS,
        allowedUses: ["cert_signing", "crl_signing"],
      },
      options,
    );
    const key = new tls.PrivateKey(`${name}-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, options);
    const request = new tls.CertRequest(`${name}-request`, { privateKeyPem: key.privateKeyPem, subject: { commonName: "redis" }, dnsNames: ["redis"], ipAddresses: args.addresses }, options);
    const cert = new tls.LocallySignedCert(
      `${name}-cert`,
      {
        certRequestPem: request.certRequestPem,
        caPrivateKeyPem: caKey.privateKeyPem,
        caCertPem: ca.certPem,
        validityPeriodHours: CERT_VALID_HOURS,
        earlyRenewalHours: RENEW_WITHIN_HOURS,
        allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
      },
      options,
    );
    this.material = pulumi.secret(pulumi.all([ca.certPem, cert.certPem, key.privateKeyPem]).apply(([caCert, certPem, keyPem]) => ({ caCert, cert: certPem, key: keyPem })));
    this.caCert = ca.certPem;
    this.registerOutputs({ caCert: this.caCert });
  }
}
