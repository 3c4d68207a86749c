/** The CertificateAuthority object: a validated root plus the leaf profiles it issues. */
import * as x509 from '@peculiar/x509';
import { importRootSigningKey, publicKeyOfPrivateKey } from './crypto.ts';
import { fingerprintOfDer } from './fingerprint.ts';
import { defaultValidDays, issueLeaf, type Issuer } from './issue.ts';
import { decodePem } from './pem.ts';
import { createRoot } from './root.ts';
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
  readonly #issuer: Issuer;

  constructor(
    readonly rootCertPem: string,
    readonly rootFingerprint: string,
    issuer: Issuer,
  ) {
    this.#issuer = issuer;
  }

  async issueDeviceCertificate(deviceId: string, options: IssueOptions = {}): Promise<IssuedCertificate> {
    assertDeviceId(deviceId);
    return issueLeaf(this.#issuer, { purpose: 'client', commonName: deviceId, ...leafOptions(options) });
  }

  async issueServiceCertificate(name: string, options: IssueOptions = {}): Promise<IssuedCertificate> {
    assertServiceName(name);
    return issueLeaf(this.#issuer, { purpose: 'client', commonName: name, ...leafOptions(options) });
  }

  async issueServerCertificate(hosts: string[], options: IssueOptions = {}): Promise<IssuedCertificate> {
    const names = canonicalHosts(hosts);
    // CN is capped at 64 characters (RFC 5280 ub-common-name); clients match the SANs anyway.
    const first = names[0]!.value;
    const commonName = first.length <= 64 ? first : 'iotcloud server';
    return issueLeaf(this.#issuer, {
      purpose: 'server',
      commonName,
      subjectAltNames: names.map(({ kind, value }) => ({ type: kind, value })),
      ...leafOptions(options),
    });
  }
}

/**
 * Builds a CA from a root certificate and its PKCS#8 key, after checking they belong together.
 * `source` names where they came from in error messages; the key itself never appears in one.
 */
export async function certificateAuthorityFromPem(certPem: string, keyPem: string, source: string): Promise<CertificateAuthority> {
  const certDer = decodePem(certPem, 'CERTIFICATE');
  if (!certDer) throw new Error(`root certificate in ${source} is not a PEM certificate`);
  let root: x509.X509Certificate;
  try {
    root = new x509.X509Certificate(certDer);
  } catch {
    throw new Error(`root certificate in ${source} cannot be parsed`);
  }
  const constraints = root.getExtension(x509.BasicConstraintsExtension);
  if (!constraints?.ca) throw new Error(`root certificate in ${source} is not a CA certificate`);
  if (root.notAfter.getTime() <= Date.now()) {
    throw new Error(`root certificate in ${source} expired on ${root.notAfter.toISOString()}; devices must be re-provisioned with a new root`);
  }

  const keyDer = decodePem(keyPem, 'PRIVATE KEY');
  const derivedPublicKey = keyDer && publicKeyOfPrivateKey(keyDer);
  if (!keyDer || !derivedPublicKey) throw new Error(`root key in ${source} is not a PKCS#8 PEM private key`);
  if (!derivedPublicKey.equals(Buffer.from(root.publicKey.rawData))) {
    throw new Error(`root key in ${source} does not belong to the root certificate`);
  }
  let signingKey: CryptoKey;
  try {
    signingKey = await importRootSigningKey(keyDer);
  } catch {
    throw new Error(`root key in ${source} is not an ECDSA P-256 key`);
  }

  const keyId = root.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  const authorityKeyIdentifier = keyId
    ? new x509.AuthorityKeyIdentifierExtension(keyId)
    : await x509.AuthorityKeyIdentifierExtension.create(root.publicKey);
  return new RootCertificateAuthority(certPem, fingerprintOfDer(certDer), {
    name: new Uint8Array(root.subjectName.toArrayBuffer()),
    signingKey,
    authorityKeyIdentifier: new Uint8Array(authorityKeyIdentifier.rawData),
    notAfter: root.notAfter,
  });
}

/** Create a CA purely in memory (for tests and one-shot runs). */
export async function createEphemeralCertificateAuthority(options: CertificateAuthorityOptions = {}): Promise<CertificateAuthority> {
  const root = await createRoot(options.commonName);
  return certificateAuthorityFromPem(root.certPem, root.keyPem, 'memory');
}
