import crypto from "node:crypto";
import net from "node:net";
import * as x509 from "@peculiar/x509";
import type Docker from "dockerode";
import type { Inputs, ResourceHandler } from "./engine";

/*
 * @pulumi/tls 5.6.1 wraps hashicorp/terraform-provider-tls. File references are to its
 * internal/provider/ at v4.2.1 (commit 857b38cd), the newest tag readable: pulumi-tls's newest
 * readable provider/go.mod pins v4.3.0 (609226f5, not readable; schema.json has the same resource
 * properties and defaults under both), and 5.6.1 adds write-only key inputs (privateKeyPemWo,
 * caPrivateKeyPemWo), which the provider's open write-only pull request only reads the key from
 * (the kit does not use them). The certificate encoding itself is Go's crypto/x509
 * CreateCertificate / CreateCertificateRequest, which the provider calls. None of these resources
 * touches an engine: the provider keeps everything it makes in the state, so Delete is a no-op
 * everywhere (each resource's Delete).
 */

// Node's WebCrypto and the DOM's (tsconfig's lib) are two declarations of the same API.
const webcrypto = crypto.webcrypto as unknown as Crypto;
// @peculiar/x509 builds and signs through WebCrypto; the provider signs with Go's, same algorithms.
x509.cryptoProvider.set(webcrypto);

/**
 * tls.PrivateKey: resource_private_key.go Create with common_key.go keyGenerators. The key is
 * generated once and kept in the state: `privateKeyPem` is x509.MarshalECPrivateKey (SEC1, "EC
 * PRIVATE KEY"), `privateKeyPemPkcs8` x509.MarshalPKCS8PrivateKey, `privateKeyOpenssh`
 * ssh.MarshalPrivateKey; common_key.go setPublicKeyAttributes sets `publicKeyPem` (PKIX "PUBLIC
 * KEY"), `publicKeyOpenssh` and its MD5 / SHA256 fingerprints, and the id, common.go hashForState
 * of the PKIX public key bytes (SHA-1 hex).
 *
 * Only ECDSA on P256, P384, P521: the kit asks for ECDSA P256. RSA and ED25519 are the provider's
 * too but not applied here; P224 (the provider's default curve) cannot sign through WebCrypto.
 */
export const PRIVATE_KEY: ResourceHandler = {
  fields: { algorithm: true, ecdsaCurve: true },
  replace: "create-before-delete",
  async create(_engine: Docker, inputs: Inputs) {
    if (inputs.algorithm !== "ECDSA") throw new Error(`algorithm ${inputs.algorithm} is not applied here; the kit asks for ECDSA`);
    const curveName: string = inputs.ecdsaCurve ?? "P224"; // the schema's default (resource_private_key.go)
    const curve = CURVES.find((known) => known.name === curveName);
    if (!curve) throw new Error(`ecdsaCurve ${curveName} is not applied here (P256, P384 or P521; the kit asks for P256)`);
    const { privateKey } = crypto.generateKeyPairSync("ec", { namedCurve: curve.node });
    const key = describeKey(privateKey, curve);
    return {
      id: hashForState(key.spki),
      outputs: {
        ...inputs,
        rsaBits: 2048, // the schema's default, stored whatever the algorithm
        privateKeyPem: pem("EC PRIVATE KEY", privateKey.export({ type: "sec1", format: "der" })),
        privateKeyPemPkcs8: pem("PRIVATE KEY", privateKey.export({ type: "pkcs8", format: "der" })),
        privateKeyOpenssh: pem("OPENSSH PRIVATE KEY", openSshPrivateKey(key)),
        publicKeyPem: pem("PUBLIC KEY", key.spki),
        // ssh.MarshalAuthorizedKey: "<type> <base64 blob>\n"; fingerprints as ssh.FingerprintLegacyMD5 / FingerprintSHA256.
        publicKeyOpenssh: `${curve.sshType} ${key.sshBlob.toString("base64")}\n`,
        publicKeyFingerprintMd5: crypto.createHash("md5").update(key.sshBlob).digest("hex").replace(/(..)(?!$)/g, "$1:"),
        publicKeyFingerprintSha256: `SHA256:${crypto.createHash("sha256").update(key.sshBlob).digest("base64").replace(/=+$/, "")}`,
      },
    };
  },
  async delete() {},
};

/**
 * tls.SelfSignedCert: resource_self_signed_cert.go Create builds the template (BasicConstraintsValid,
 * the subject) and common_cert.go createCertificate fills and signs it with the certificate's own
 * key (parent = template): random serial below 2^128, NotBefore now, NotAfter now +
 * validityPeriodHours, allowedUses as key usages / extended key usages, and for a CA the subject
 * key id (generateSubjectKeyID, SHA-1 of the public point). Self-signed, so no authority key id
 * (setAuthorityKeyId, not used by the kit, is false). The id is the serial in decimal.
 */
export const SELF_SIGNED_CERT: ResourceHandler = {
  fields: { privateKeyPem: true, subject: { commonName: true }, isCaCertificate: true, validityPeriodHours: true, allowedUses: true },
  replace: "create-before-delete",
  async create(_engine: Docker, inputs: Inputs) {
    const key = await parsePrivateKeyPem(inputs.privateKeyPem);
    const isCa = inputs.isCaCertificate === true;
    const subject = subjectFromInputs(inputs.subject);
    const certificate = await createCertificate({
      subject,
      issuer: subject,
      spki: key.spki,
      signer: key,
      isCa,
      subjectKeyId: isCa ? sha1(key.point) : undefined,
      authorityKeyId: undefined,
      sans: [],
      validityPeriodHours: inputs.validityPeriodHours,
      allowedUses: inputs.allowedUses,
    });
    return {
      id: certificate.id,
      outputs: {
        ...inputs,
        ...certificate.outputs,
        isCaCertificate: isCa,
        earlyRenewalHours: 0,
        setSubjectKeyId: false,
        setAuthorityKeyId: false,
        readyForRenewal: readyForRenewal(inputs.validityPeriodHours, 0),
        keyAlgorithm: "ECDSA",
      },
    };
  },
  async delete() {},
};

/**
 * tls.CertRequest: resource_cert_request.go Create, x509.CreateCertificateRequest of the subject,
 * `dnsNames` and `ipAddresses` (net.ParseIP; a SubjectAltName extension request, not critical)
 * signed with the key. `certRequestPem` is the "CERTIFICATE REQUEST" PEM; the id hashForState of
 * its DER.
 */
export const CERT_REQUEST: ResourceHandler = {
  fields: { privateKeyPem: true, subject: { commonName: true }, dnsNames: true, ipAddresses: true },
  replace: "create-before-delete",
  async create(_engine: Docker, inputs: Inputs) {
    const key = await parsePrivateKeyPem(inputs.privateKeyPem);
    const sans = [...stringList(inputs.dnsNames, "dnsNames").map(dnsSan), ...stringList(inputs.ipAddresses, "ipAddresses").map(ipSan)];
    const request = await x509.Pkcs10CertificateRequestGenerator.create({
      name: subjectFromInputs(inputs.subject),
      // buildCSRExtensions: the SubjectAltName extension request is never marked critical.
      extensions: sans.length > 0 ? [new x509.Extension(OID.subjectAltName, false, view(der(0x30, ...sans)))] : [],
      signingAlgorithm: { name: "ECDSA", hash: key.curve.hash },
      keys: { privateKey: key.signingKey, publicKey: await webcrypto.subtle.importKey("spki", view(key.spki), { name: "ECDSA", namedCurve: key.curve.web }, true, ["verify"]) },
    });
    const requestDer = Buffer.from(request.rawData);
    return { id: hashForState(requestDer), outputs: { ...inputs, certRequestPem: pem("CERTIFICATE REQUEST", requestDer), keyAlgorithm: "ECDSA" } };
  },
  async delete() {},
};

/**
 * tls.LocallySignedCert: resource_locally_signed_cert.go Create parses the request (its signature
 * is not checked), the CA key and the CA certificate, copies the request's subject, DNS names, IP
 * addresses and URIs (refused here: the kit's requests have none) into the template, and
 * common_cert.go createCertificate signs it with the CA key, the CA certificate as parent: the
 * issuer is the CA's subject, and x509.CreateCertificate takes the authority key id from the CA's
 * subject key id. A CA certificate that is not a CA is only a warning there (not shown here).
 * `earlyRenewalHours` acts on later plans and refreshes (common_cert.go
 * modifyPlanIfCertificateReadyForRenewal replaces a certificate in its renewal window); at create it
 * only sets `readyForRenewal` when it covers the whole validity (attribute_plan_modifier_bool
 * ReadyForRenewal). Unlike the other inputs it is not RequiresReplace: the provider updates it in
 * place.
 */
export const LOCALLY_SIGNED_CERT: ResourceHandler = {
  fields: { certRequestPem: true, caPrivateKeyPem: true, caCertPem: true, validityPeriodHours: true, earlyRenewalHours: true, allowedUses: true },
  replace: "create-before-delete",
  async create(_engine: Docker, inputs: Inputs) {
    const request = new x509.Pkcs10CertificateRequest(view(decodePem(inputs.certRequestPem, "CERTIFICATE REQUEST")));
    const caKey = await parsePrivateKeyPem(inputs.caPrivateKeyPem);
    const caCert = new x509.X509Certificate(view(decodePem(inputs.caCertPem, "CERTIFICATE")));
    // x509.CreateCertificate: "provided PrivateKey doesn't match parent's PublicKey".
    if (!Buffer.from(caCert.publicKey.rawData).equals(caKey.spki)) throw new Error("x509: provided PrivateKey doesn't match parent's PublicKey");
    const earlyRenewalHours: number = inputs.earlyRenewalHours ?? 0;
    if (!Number.isInteger(earlyRenewalHours) || earlyRenewalHours < 0) throw new Error(`earlyRenewalHours must be an integer at least 0, got ${earlyRenewalHours}`);
    const caKeyId = caCert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
    const certificate = await createCertificate({
      subject: subjectFromRequest(request.subjectName),
      issuer: caCert.subjectName, // the CA certificate's subject as it is encoded there (RawSubject)
      spki: Buffer.from(request.publicKey.rawData),
      signer: caKey,
      isCa: false,
      subjectKeyId: undefined,
      authorityKeyId: caKeyId ? Buffer.from(caKeyId, "hex") : undefined,
      sans: sansFromRequest(request),
      validityPeriodHours: inputs.validityPeriodHours,
      allowedUses: inputs.allowedUses,
    });
    return {
      id: certificate.id,
      outputs: {
        ...inputs,
        ...certificate.outputs,
        isCaCertificate: false,
        earlyRenewalHours,
        setSubjectKeyId: false,
        readyForRenewal: readyForRenewal(inputs.validityPeriodHours, earlyRenewalHours),
        caKeyAlgorithm: "ECDSA",
      },
    };
  },
  async delete() {},
};

interface Curve {
  name: "P256" | "P384" | "P521";
  node: string;
  web: string;
  /** x509.signingParamsForKey: the hash Go signs with for a key on this curve. */
  hash: string;
  sshType: string;
  sshCurve: string;
}

const CURVES: Curve[] = [
  { name: "P256", node: "prime256v1", web: "P-256", hash: "SHA-256", sshType: "ecdsa-sha2-nistp256", sshCurve: "nistp256" },
  { name: "P384", node: "secp384r1", web: "P-384", hash: "SHA-384", sshType: "ecdsa-sha2-nistp384", sshCurve: "nistp384" },
  { name: "P521", node: "secp521r1", web: "P-521", hash: "SHA-512", sshType: "ecdsa-sha2-nistp521", sshCurve: "nistp521" },
];

const OID = {
  commonName: "2.5.4.3",
  subjectAltName: "2.5.29.17",
};

/** An ECDSA key pair in the forms the handlers need. */
interface Key {
  curve: Curve;
  /** PKIX SubjectPublicKeyInfo DER (x509.MarshalPKIXPublicKey). */
  spki: Buffer;
  /** The uncompressed public point (elliptic.Marshal), what generateSubjectKeyID hashes. */
  point: Buffer;
  /** The private scalar, fixed width. */
  d: Buffer;
  sshBlob: Buffer;
}

interface SigningKey extends Key {
  signingKey: CryptoKey;
}

function describeKey(privateKey: crypto.KeyObject, curve: Curve): Key {
  const jwk = privateKey.export({ format: "jwk" });
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, "base64url"), Buffer.from(jwk.y!, "base64url")]);
  const spki = crypto.createPublicKey(privateKey).export({ type: "spki", format: "der" });
  // ssh.NewPublicKey for ECDSA: string type, string curve, string point.
  const sshBlob = Buffer.concat([sshString(curve.sshType), sshString(curve.sshCurve), sshString(point)]);
  return { curve, spki, point, d: Buffer.from(jwk.d!, "base64url"), sshBlob };
}

/**
 * common_key.go parsePrivateKeyPEM: the first PEM block, by its preamble "EC PRIVATE KEY" (SEC1),
 * "PRIVATE KEY" (PKCS#8) or "RSA PRIVATE KEY"; only ECDSA keys are applied here.
 */
async function parsePrivateKeyPem(text: unknown): Promise<SigningKey> {
  const block = firstPemBlock(text);
  let privateKey: crypto.KeyObject;
  if (block.type === "EC PRIVATE KEY") privateKey = crypto.createPrivateKey({ key: block.der, format: "der", type: "sec1" });
  else if (block.type === "PRIVATE KEY") privateKey = crypto.createPrivateKey({ key: block.der, format: "der", type: "pkcs8" });
  else if (block.type === "RSA PRIVATE KEY") throw new Error("RSA keys are not applied here; the kit's keys are ECDSA");
  else throw new Error(`unable to determine parser for PEM preamble: ${block.type}`);
  if (privateKey.asymmetricKeyType !== "ec") throw new Error(`${privateKey.asymmetricKeyType} keys are not applied here; the kit's keys are ECDSA`);
  const curve = CURVES.find((known) => known.node === privateKey.asymmetricKeyDetails?.namedCurve);
  if (!curve) throw new Error(`ECDSA curve ${privateKey.asymmetricKeyDetails?.namedCurve} is not applied here`);
  const pkcs8 = privateKey.export({ type: "pkcs8", format: "der" });
  const signingKey = await webcrypto.subtle.importKey("pkcs8", view(pkcs8), { name: "ECDSA", namedCurve: curve.web }, false, ["sign"]);
  return { ...describeKey(privateKey, curve), signingKey };
}

interface CertificateTemplate {
  subject: x509.Name;
  issuer: x509.Name;
  spki: Buffer;
  signer: SigningKey;
  isCa: boolean;
  subjectKeyId: Buffer | undefined;
  authorityKeyId: Buffer | undefined;
  /** Encoded GeneralName entries, in marshalSANs order. */
  sans: Buffer[];
  validityPeriodHours: unknown;
  allowedUses: unknown;
}

/** common_cert.go createCertificate, with x509.CreateCertificate's extensions (buildCertExtensions). */
async function createCertificate(template: CertificateTemplate): Promise<{ id: string; outputs: Inputs }> {
  const hours = template.validityPeriodHours;
  if (typeof hours !== "number" || !Number.isInteger(hours) || hours < 0) throw new Error(`validityPeriodHours must be an integer at least 0, got ${String(hours)}`);
  const uses = allowedUses(template.allowedUses);
  const subjectIsEmpty = template.subject.toJSON().length === 0;
  // RFC 5280 4.1.2.6, as createCertificate checks it.
  if (template.isCa && subjectIsEmpty) throw new Error("Invalid Certificate Subject: Must contain at least one Distinguished Name when creating Certificate Authority (CA)");

  const notBefore = new Date(); // overridableTimeFunc
  const notAfter = new Date(notBefore.getTime() + hours * 3_600_000);
  // rand.Int(rand.Reader, 2^128): uniform below 2^128, so possibly shorter than 16 bytes.
  const serial = BigInt(`0x${crypto.randomBytes(16).toString("hex")}`);

  // buildCertExtensions' order and criticality: key usage (critical), extended key usage, basic
  // constraints (critical; CA:TRUE or an empty sequence, no path length: max_path_length is unset),
  // subject key id, authority key id, subject alternative names (critical only with an empty subject).
  const extensions: x509.Extension[] = [];
  if (uses.keyUsage !== 0) extensions.push(new x509.KeyUsagesExtension(uses.keyUsage, true));
  if (uses.extKeyUsage.length > 0) extensions.push(new x509.ExtendedKeyUsageExtension(uses.extKeyUsage, false));
  extensions.push(new x509.BasicConstraintsExtension(template.isCa, undefined, true));
  if (template.subjectKeyId) extensions.push(new x509.SubjectKeyIdentifierExtension(template.subjectKeyId.toString("hex"), false));
  if (template.authorityKeyId) extensions.push(new x509.AuthorityKeyIdentifierExtension(template.authorityKeyId.toString("hex"), false));
  if (template.sans.length > 0) extensions.push(new x509.Extension(OID.subjectAltName, subjectIsEmpty, view(der(0x30, ...template.sans))));

  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: serial.toString(16).padStart(32, "0"), // leading zeros are dropped and a sign byte added as DER wants
    subject: template.subject,
    issuer: template.issuer,
    notBefore,
    notAfter,
    publicKey: view(template.spki),
    signingKey: template.signer.signingKey,
    signingAlgorithm: { name: "ECDSA", hash: template.signer.curve.hash },
    extensions,
  });
  return {
    // template.SerialNumber.String(), read back from the certificate (the library would replace a zero serial).
    id: BigInt(`0x${certificate.serialNumber}`).toString(10),
    outputs: {
      certPem: pem("CERTIFICATE", Buffer.from(certificate.rawData)),
      validityStartTime: goTimeText(notBefore),
      validityEndTime: goTimeText(notAfter),
    },
  };
}

/** common_cert.go keyUsages and extendedKeyUsages (Go's x509 constants and their OIDs). */
const KEY_USAGES: Record<string, x509.KeyUsageFlags> = {
  digital_signature: x509.KeyUsageFlags.digitalSignature,
  content_commitment: x509.KeyUsageFlags.nonRepudiation,
  key_encipherment: x509.KeyUsageFlags.keyEncipherment,
  data_encipherment: x509.KeyUsageFlags.dataEncipherment,
  key_agreement: x509.KeyUsageFlags.keyAgreement,
  cert_signing: x509.KeyUsageFlags.keyCertSign,
  crl_signing: x509.KeyUsageFlags.cRLSign,
  encipher_only: x509.KeyUsageFlags.encipherOnly,
  decipher_only: x509.KeyUsageFlags.decipherOnly,
};

const EXTENDED_KEY_USAGES: Record<string, string> = {
  any_extended: "2.5.29.37.0",
  server_auth: "1.3.6.1.5.5.7.3.1",
  client_auth: "1.3.6.1.5.5.7.3.2",
  code_signing: "1.3.6.1.5.5.7.3.3",
  email_protection: "1.3.6.1.5.5.7.3.4",
  ipsec_end_system: "1.3.6.1.5.5.7.3.5",
  ipsec_tunnel: "1.3.6.1.5.5.7.3.6",
  ipsec_user: "1.3.6.1.5.5.7.3.7",
  timestamping: "1.3.6.1.5.5.7.3.8",
  ocsp_signing: "1.3.6.1.5.5.7.3.9",
  microsoft_server_gated_crypto: "1.3.6.1.4.1.311.10.3.3",
  netscape_server_gated_crypto: "2.16.840.1.113730.4.1",
  microsoft_commercial_code_signing: "1.3.6.1.4.1.311.2.1.22",
  microsoft_kernel_code_signing: "1.3.6.1.4.1.311.61.1.1",
};

/**
 * createCertificate ORs the key usages and appends the extended ones in list order; the schema's
 * validator (OneOf supportedKeyUsagesStr) refuses any other value before that.
 */
function allowedUses(value: unknown): { keyUsage: number; extKeyUsage: string[] } {
  let keyUsage = 0;
  const extKeyUsage: string[] = [];
  for (const use of stringList(value, "allowedUses")) {
    if (Object.hasOwn(KEY_USAGES, use)) keyUsage |= KEY_USAGES[use]!;
    else if (Object.hasOwn(EXTENDED_KEY_USAGES, use)) extKeyUsage.push(EXTENDED_KEY_USAGES[use]!);
    else throw new Error(`allowedUses: ${JSON.stringify(use)} is not one of ${[...Object.keys(KEY_USAGES), ...Object.keys(EXTENDED_KEY_USAGES)].sort().join(", ")}`);
  }
  return { keyUsage, extKeyUsage };
}

/** ready_for_renewal's plan modifier: true from the start when the renewal window covers the validity. */
function readyForRenewal(validityPeriodHours: number, earlyRenewalHours: number): boolean {
  return validityPeriodHours === 0 || earlyRenewalHours >= validityPeriodHours;
}

/**
 * common_cert.go createSubjectDistinguishedNames, for the one field the kit sets. Go's pkix.Name
 * omits an empty common name, and encoding/asn1 writes a PrintableString when every character
 * allows it, else a UTF8String.
 */
function subjectFromInputs(subject: Inputs | undefined): x509.Name {
  const commonName: unknown = subject?.commonName;
  if (commonName === undefined || commonName === "") return new x509.Name([]);
  if (typeof commonName !== "string") throw new Error(`subject.commonName must be a string, got ${JSON.stringify(commonName)}`);
  return goName([[OID.commonName, [commonName]]]);
}

/**
 * The request's subject as x509.CreateCertificate writes it back: ParseCertificateRequest fills a
 * pkix.Name (the attributes it knows; a repeated CN or SERIALNUMBER keeps the last), and
 * ToRDNSequence marshals it again in its own order, each attribute's values in one RDN. Attributes
 * pkix.Name has no field for are not carried over (they land in Names, not ExtraNames).
 */
function subjectFromRequest(name: x509.Name): x509.Name {
  // pkix.Name.ToRDNSequence order: C, ST, L, STREET, POSTALCODE, O, OU, CN, SERIALNUMBER.
  const order: [oid: string, single: boolean][] = [
    ["2.5.4.6", false],
    ["2.5.4.8", false],
    ["2.5.4.7", false],
    ["2.5.4.9", false],
    ["2.5.4.17", false],
    ["2.5.4.10", false],
    ["2.5.4.11", false],
    [OID.commonName, true],
    ["2.5.4.5", true],
  ];
  const found = new Map<string, string[]>();
  for (const [oid] of order) {
    const values = name.getField(oid);
    if (values.length > 0) found.set(oid, values);
  }
  return goName(order.filter(([oid]) => found.has(oid)).map(([oid, single]) => [oid, single ? [found.get(oid)!.at(-1)!] : found.get(oid)!]));
}

function goName(rdns: [oid: string, values: string[]][]): x509.Name {
  return new x509.Name(rdns.map(([oid, values]) => ({ [oid]: values.map((value) => (x509.Name.isPrintableString(value) ? { printableString: value } : { utf8String: value })) })));
}

/** The request's DNS names, IP addresses and URIs (not its e-mail addresses: the template leaves them out). */
function sansFromRequest(request: x509.Pkcs10CertificateRequest): Buffer[] {
  const extension = request.getExtension(OID.subjectAltName);
  const names = extension ? new x509.SubjectAlternativeNameExtension(extension.rawData).names.items : [];
  const byType = (type: string) => names.filter((name) => name.type === type).map((name) => name.value);
  if (byType("url").length > 0) throw new Error("a request with URIs is not applied here; the kit's requests have DNS names and IP addresses");
  return [...byType("dns").map(dnsSan), ...byType("ip").map(ipSan)];
}

/** GeneralName dNSName [2] IA5String; marshalSANs refuses non-ASCII names. */
function dnsSan(name: string): Buffer {
  if (/[^\x00-\x7f]/.test(name)) throw new Error(`x509: ${JSON.stringify(name)} cannot be encoded as an IA5String`);
  return der(0x82, Buffer.from(name, "ascii"));
}

/** GeneralName iPAddress [7]: net.ParseIP, then 4 bytes whenever To4 allows (marshalSANs). */
function ipSan(text: string): Buffer {
  const bytes = parseIp(text);
  if (!bytes) throw new Error(`Invalid IP address: Failed to parse ${JSON.stringify(text)}`);
  return der(0x87, bytes);
}

function parseIp(text: string): Buffer | undefined {
  if (text.includes("%")) return undefined; // net.ParseIP refuses zones
  const family = net.isIP(text);
  if (family === 4) return Buffer.from(text.split(".").map(Number));
  if (family !== 6) return undefined;
  let groups = text;
  let tail: number[] = [];
  const dotted = /:(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    tail = dotted[1]!.split(".").map(Number);
    groups = text.slice(0, dotted.index + 1) + "0:0"; // stand-ins for the two groups the dotted quad fills
  }
  const [left, right] = groups.split("::") as [string, string | undefined];
  const head = left ? left.split(":") : [];
  const rest = right === undefined ? [] : right ? right.split(":") : [];
  const all = right === undefined ? head : [...head, ...Array<string>(8 - head.length - rest.length).fill("0"), ...rest];
  const bytes = Buffer.alloc(16);
  all.forEach((group, index) => bytes.writeUInt16BE(parseInt(group, 16), index * 2));
  if (dotted) Buffer.from(tail).copy(bytes, 12);
  const v4Mapped = bytes.subarray(0, 10).every((byte) => byte === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  return v4Mapped ? bytes.subarray(12) : bytes;
}

/** golang.org/x/crypto/ssh marshalOpenSSHPrivateKey, unencrypted: "openssh-key-v1", one key, padded to 8 bytes. */
function openSshPrivateKey(key: Key): Buffer {
  const check = crypto.randomBytes(4);
  const body = Buffer.concat([check, check, sshString(key.curve.sshType), sshString(key.curve.sshCurve), sshString(key.point), sshMpint(key.d), sshString("")]);
  const padding = Array.from({ length: (8 - (body.length % 8)) % 8 }, (_, index) => index + 1);
  return Buffer.concat([
    Buffer.from("openssh-key-v1\0", "binary"),
    sshString("none"),
    sshString("none"),
    sshString(""),
    uint32(1),
    sshString(key.sshBlob),
    sshString(Buffer.concat([body, Buffer.from(padding)])),
  ]);
}

function sshString(value: string | Buffer): Buffer {
  const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : value;
  return Buffer.concat([uint32(bytes.length), bytes]);
}

function sshMpint(magnitude: Buffer): Buffer {
  let start = 0;
  while (start < magnitude.length && magnitude[start] === 0) start++;
  const trimmed = magnitude.subarray(start);
  return sshString(trimmed.length > 0 && trimmed[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

function uint32(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value);
  return bytes;
}

/** The bytes in a view of their own: TypeScript's BufferSource wants an ArrayBuffer under it, which a Buffer's type does not promise. */
function view(bytes: Buffer): Uint8Array<ArrayBuffer> {
  return new Uint8Array(bytes);
}

/** A DER element with a definite length. */
function der(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  if (body.length < 0x80) return Buffer.concat([Buffer.from([tag, body.length]), body]);
  const hex = body.length.toString(16);
  const length = Buffer.from(hex.padStart(hex.length + (hex.length % 2), "0"), "hex");
  return Buffer.concat([Buffer.from([tag, 0x80 | length.length]), length, body]);
}

function sha1(bytes: Buffer): Buffer {
  return crypto.createHash("sha1").update(bytes).digest();
}

/** encoding/pem EncodeToMemory: 64-character base64 lines, each ending in a newline. */
function pem(type: string, body: Buffer): string {
  const lines = body.toString("base64").match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${type}-----\n${lines.map((line) => `${line}\n`).join("")}-----END ${type}-----\n`;
}

/** encoding/pem Decode of the first block (its headers, which nothing here writes, are not read). */
function firstPemBlock(text: unknown): { type: string; der: Buffer } {
  if (typeof text !== "string") throw new Error("expected a PEM string");
  const match = /-----BEGIN ([^\n-]+)-----\r?\n([\s\S]*?)-----END \1-----/.exec(text);
  if (!match) throw new Error("failed to decode PEM block");
  return { type: match[1]!, der: Buffer.from(match[2]!.replace(/\s+/g, ""), "base64") };
}

/** resource_locally_signed_cert.go decodePEM: the first block, of the expected type. */
function decodePem(text: unknown, type: string): Buffer {
  const block = firstPemBlock(text);
  if (block.type !== type) throw new Error(`invalid PEM type - expected "${type}", got "${block.type}"`);
  return block.der;
}

/**
 * common.go hashForState: SHA-1 hex of strings.TrimSpace(value). The ids hash DER bytes as a Go
 * string, so Unicode white space at either end of the DER (an ASCII one, or U+0085 / U+00A0 /
 * U+1680 / U+2000-U+200A / U+2028 / U+2029 / U+202F / U+205F / U+3000 in UTF-8) is dropped first,
 * as the provider does.
 */
function hashForState(value: Buffer): string {
  let start = 0;
  let end = value.length;
  const spaceAt = (index: number, fromEnd: boolean): number => {
    const byte = value[fromEnd ? index - 1 : index]!;
    if (byte === 0x20 || (byte >= 0x09 && byte <= 0x0d)) return 1;
    for (const space of UNICODE_SPACES) {
      const at = fromEnd ? index - space.length : index;
      if (at >= start && at + space.length <= end && value.subarray(at, at + space.length).equals(space)) return space.length;
    }
    return 0;
  };
  for (let width; start < end && (width = spaceAt(start, false)) > 0; ) start += width;
  for (let width; end > start && (width = spaceAt(end, true)) > 0; ) end -= width;
  return crypto.createHash("sha1").update(value.subarray(start, end)).digest("hex");
}

const UNICODE_SPACES = [0x85, 0xa0, 0x1680, ...Array.from({ length: 11 }, (_, index) => 0x2000 + index), 0x2028, 0x2029, 0x202f, 0x205f, 0x3000].map((code) =>
  Buffer.from(String.fromCodePoint(code), "utf8"),
);

/** time.Time MarshalText (RFC 3339 with the fraction's trailing zeros dropped), in UTC. */
function goTimeText(time: Date): string {
  return time.toISOString().replace(/\.(\d*?)0*Z$/, (_, fraction: string) => (fraction ? `.${fraction}Z` : "Z"));
}

function stringList(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((item) => typeof item !== "string")) throw new Error(`${field} must be a list of strings, got ${JSON.stringify(value)}`);
  return value as string[];
}
