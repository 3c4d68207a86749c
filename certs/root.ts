/** Creation of a root (the root or the device CA): an ECDSA P-256 key and its self-signed CA certificate. */
import * as x509 from '@peculiar/x509';
import { exportPrivateKeyPem, generateKeyPair, rootSigningAlgorithm, subtle } from './crypto.ts';
import { keyIdentifierOf, randomSerialNumber, validityOf } from './issue.ts';
import { encodePem } from './pem.ts';

/** Ten years, leap days included. */
const rootValidDays = 3653;
const defaultRootCommonName = 'iotcloud root CA';

export interface RootPem {
  certPem: string;
  keyPem: string;
}

function assertCommonName(commonName: string): void {
  if (typeof commonName !== 'string' || commonName.length < 1 || commonName.length > 64) {
    throw new Error('invalid root commonName: it must be a string of 1 to 64 characters');
  }
}

/** The device CA's name, after the root's: "iotcloud root CA" gives "iotcloud root CA: devices". */
export function deviceCaCommonName(rootCommonName: string = defaultRootCommonName): string {
  assertCommonName(rootCommonName);
  return `${rootCommonName.slice(0, 55)}: devices`;
}

/** A self-signed CA (the root or the device CA), usable for 10 years. */
export async function createRoot(commonName: string = defaultRootCommonName): Promise<RootPem> {
  assertCommonName(commonName);
  const keys = await generateKeyPair('ecdsa-p256');
  const { notBefore, notAfter } = validityOf(rootValidDays, undefined);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerialNumber(),
    name: [{ CN: [commonName] }],
    keys,
    notBefore,
    notAfter,
    signingAlgorithm: rootSigningAlgorithm,
    extensions: [
      // pathlen 0: the root signs leaves only, never an intermediate CA.
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      new x509.SubjectKeyIdentifierExtension(keyIdentifierOf(new Uint8Array(await subtle.exportKey('spki', keys.publicKey))).toString('hex')),
    ],
  });
  return { certPem: encodePem(new Uint8Array(certificate.rawData), 'CERTIFICATE'), keyPem: await exportPrivateKeyPem(keys.privateKey) };
}
