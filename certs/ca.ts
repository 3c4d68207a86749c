/**
 * The CertificateAuthority object: two validated roots and the leaf profiles each issues. The
 * root signs server certificates and is what devices and API clients trust (rootca.pem); the
 * device CA signs device and service (client) certificates and is what listeners trust for them.
 * Kept apart, neither side's trust store holds the issuer of its own certificate, so OpenSSL
 * neither rebuilds and verifies its own chain per handshake nor sends a root the peer already
 * has: bare mutual-TLS handshakes/s rose from 569-624 to 741-817 here (client CPU 1.62-1.73 ->
 * 1.18-1.32 ms, server 1.09-1.13 -> 0.93-1.01 ms per handshake), mostly OpenSSL 3.0 decoding
 * one certificate fewer on each side. A device CA also cannot mint a server the devices trust.
 */
import * as x509 from '@peculiar/x509';
import { importRootSigningKey, publicKeyOfPrivateKey } from './crypto.ts';
import { fingerprintOfDer } from './fingerprint.ts';
import { defaultValidDays, issueLeaf, type Issuer } from './issue.ts';
import { certificateBundle, decodePem } from './pem.ts';
import { createRoot, deviceCaCommonName, type RootPem } from './root.ts';
import type { CertificateAuthority, CertificateAuthorityOptions, IssuedCertificate, IssueOptions } from './types.ts';
import { assertDeviceId, assertServiceName, assertValidDays, canonicalHosts } from './validate.ts';

function leafOptions(options: IssueOptions): Required<IssueOptions> {
  const { algorithm = 'ecdsa-p256', validDays = defaultValidDays } = options;
  if (algorithm !== 'ecdsa-p256' && algorithm !== 'rsa-2048') {
    throw new Error(`invalid key algorithm ${JSON.stringify(algorithm)}: it must be 'ecdsa-p256' or 'rsa-2048'`);
  }
  assertValidDays(validDays);
  return { algorithm, validDays };
}

class RootCertificateAuthority implements CertificateAuthority {
  // Private fields: the signing key never shows up in util.inspect, JSON or enumeration.
  readonly #rootIssuer: Issuer;
  readonly #deviceIssuer: Issuer;

  constructor(
    readonly rootCertPem: string,
    readonly rootFingerprint: string,
    readonly clientTrustPem: string,
    rootIssuer: Issuer,
    deviceIssuer: Issuer,
  ) {
    this.#rootIssuer = rootIssuer;
    this.#deviceIssuer = deviceIssuer;
  }

  async issueDeviceCertificate(deviceId: string, options: IssueOptions = {}): Promise<IssuedCertificate> {
    assertDeviceId(deviceId);
    return issueLeaf(this.#deviceIssuer, { purpose: 'client', commonName: deviceId, ...leafOptions(options) });
  }

  async issueServiceCertificate(name: string, options: IssueOptions = {}): Promise<IssuedCertificate> {
    assertServiceName(name);
    return issueLeaf(this.#deviceIssuer, { purpose: 'client', commonName: name, ...leafOptions(options) });
  }

  async issueServerCertificate(hosts: string[], options: IssueOptions = {}): Promise<IssuedCertificate> {
    const names = canonicalHosts(hosts);
    // CN is capped at 64 characters (RFC 5280 ub-common-name); clients match the SANs anyway.
    const first = names[0]!.value;
    const commonName = first.length <= 64 ? first : 'iotcloud server';
    return issueLeaf(this.#rootIssuer, {
      purpose: 'server',
      commonName,
      subjectAltNames: names.map(({ kind, value }) => ({ type: kind, value })),
      ...leafOptions(options),
    });
  }
}

export interface CertificateAuthorityPem {
  root: RootPem;
  deviceCa: RootPem;
  /**
   * True for a data directory older than its device CA, whose devices hold certificates from the
   * root: listeners then trust the root for client certificates as well (store.ts).
   */
  rootIssuedDevices?: boolean;
}

/**
 * Builds a CA from its two roots, after checking each certificate and key belong together.
 * `source` names where they came from in error messages; a key itself never appears in one.
 */
export async function certificateAuthorityFromPem(pem: CertificateAuthorityPem, source: string): Promise<CertificateAuthority> {
  const root = await issuerFromPem(pem.root, 'root', source);
  const deviceCa = await issuerFromPem(pem.deviceCa, 'device CA', source);
  const clientTrustPem = pem.rootIssuedDevices ? certificateBundle(pem.deviceCa.certPem, pem.root.certPem) : pem.deviceCa.certPem;
  return new RootCertificateAuthority(pem.root.certPem, root.fingerprint, clientTrustPem, root.issuer, deviceCa.issuer);
}

/** Validates one self-signed CA (`role` names it in errors) and encodes what its leaves need. */
async function issuerFromPem({ certPem, keyPem }: RootPem, role: string, source: string): Promise<{ issuer: Issuer; fingerprint: string }> {
  const certDer = decodePem(certPem, 'CERTIFICATE');
  if (!certDer) throw new Error(`${role} certificate in ${source} is not a PEM certificate`);
  let root: x509.X509Certificate;
  try {
    root = new x509.X509Certificate(certDer);
  } catch {
    throw new Error(`${role} certificate in ${source} cannot be parsed`);
  }
  const constraints = root.getExtension(x509.BasicConstraintsExtension);
  if (!constraints?.ca) throw new Error(`${role} certificate in ${source} is not a CA certificate`);
  if (root.notAfter.getTime() <= Date.now()) {
    throw new Error(`${role} certificate in ${source} expired on ${root.notAfter.toISOString()}; devices must be re-provisioned with a new ${role}`);
  }

  const keyDer = decodePem(keyPem, 'PRIVATE KEY');
  const derivedPublicKey = keyDer && publicKeyOfPrivateKey(keyDer);
  if (!keyDer || !derivedPublicKey) throw new Error(`${role} key in ${source} is not a PKCS#8 PEM private key`);
  if (!derivedPublicKey.equals(Buffer.from(root.publicKey.rawData))) {
    throw new Error(`${role} key in ${source} does not belong to the ${role} certificate`);
  }
  let signingKey: CryptoKey;
  try {
    signingKey = await importRootSigningKey(keyDer);
  } catch {
    throw new Error(`${role} key in ${source} is not an ECDSA P-256 key`);
  }

  const keyId = root.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  const authorityKeyIdentifier = keyId
    ? new x509.AuthorityKeyIdentifierExtension(keyId)
    : await x509.AuthorityKeyIdentifierExtension.create(root.publicKey);
  return {
    fingerprint: fingerprintOfDer(certDer),
    issuer: {
      name: new Uint8Array(root.subjectName.toArrayBuffer()),
      signingKey,
      authorityKeyIdentifier: new Uint8Array(authorityKeyIdentifier.rawData),
      notAfter: root.notAfter,
    },
  };
}

/** Create a CA purely in memory (for tests and one-shot runs). */
export async function createEphemeralCertificateAuthority(options: CertificateAuthorityOptions = {}): Promise<CertificateAuthority> {
  const deviceCaName = deviceCaCommonName(options.commonName); // throws on a bad name before any key is made
  const [root, deviceCa] = await Promise.all([createRoot(options.commonName), createRoot(deviceCaName)]);
  return certificateAuthorityFromPem({ root, deviceCa }, 'memory');
}
