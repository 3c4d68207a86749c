/** Leaf certificate issuance: one fresh key pair, one certificate signed by its issuer (the root or the device CA). */
import { createHash, randomBytes } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { commonNameDer, encodeCertificate, encodeTbsCertificate, subjectKeyIdentifierDer } from './certificate-der.ts';
import { exportPrivateKeyPem, generateKeyPair, rootSigningAlgorithm, subtle } from './crypto.ts';
import { fingerprintOfDer } from './fingerprint.ts';
import { encodePem } from './pem.ts';
import type { IssuedCertificate, KeyAlgorithm } from './types.ts';

const dayMs = 24 * 60 * 60 * 1000;
/** Backdating notBefore tolerates device clocks (RTCs) that run a little behind the server's. */
const clockSkewMs = 5 * 60 * 1000;

export const defaultValidDays = 365;

/** What a leaf needs from its issuing root, encoded once per CA. */
export interface Issuer {
  /** DER Name of the root's subject. */
  name: Uint8Array;
  signingKey: CryptoKey;
  /** DER AuthorityKeyIdentifier extension pointing at the root's key. */
  authorityKeyIdentifier: Uint8Array;
  notAfter: Date;
}

export type LeafPurpose = 'client' | 'server';

export interface LeafRequest {
  purpose: LeafPurpose;
  commonName: string;
  algorithm: KeyAlgorithm;
  validDays: number;
  subjectAltNames?: x509.JsonGeneralNames;
}

const der = (extension: x509.Extension): Uint8Array => new Uint8Array(extension.rawData);

// Extensions identical in every leaf are encoded once, not per certificate.
const notACa = der(new x509.BasicConstraintsExtension(false, undefined, true));
const extendedKeyUsage: Record<LeafPurpose, Uint8Array> = {
  client: der(new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth])),
  server: der(new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth])),
};
const signatureOnly = der(new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true));
// TLS 1.2 RSA key exchange (still used by some MCU TLS stacks) needs keyEncipherment on the server key.
const signatureAndEncipherment = der(
  new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
);

function keyUsageFor(purpose: LeafPurpose, algorithm: KeyAlgorithm): Uint8Array {
  return purpose === 'server' && algorithm === 'rsa-2048' ? signatureAndEncipherment : signatureOnly;
}

/** 16 random bytes read as a positive DER INTEGER: top bit clear, next bit set so no byte is dropped. */
export function randomSerialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x40;
  return bytes.toString('hex');
}

/** Key identifier per RFC 7093 method 4: the first 160 bits of SHA-256 over the DER SubjectPublicKeyInfo. */
export function keyIdentifierOf(spki: Uint8Array): Buffer {
  return createHash('sha256').update(spki).digest().subarray(0, 20);
}

/** X.509 times have whole seconds: truncating here makes the returned dates equal the certificate's. */
function wholeSeconds(ms: number): Date {
  return new Date(Math.floor(ms / 1000) * 1000);
}

export interface Validity {
  notBefore: Date;
  notAfter: Date;
}

/** Validity window starting now (minus clock skew), never outliving the issuer. */
export function validityOf(validDays: number, issuerNotAfter: Date | undefined): Validity {
  const now = Date.now();
  const wanted = now + validDays * dayMs;
  const notAfter = issuerNotAfter === undefined ? wanted : Math.min(wanted, issuerNotAfter.getTime());
  return { notBefore: wholeSeconds(now - clockSkewMs), notAfter: wholeSeconds(notAfter) };
}

export async function issueLeaf(issuer: Issuer, request: LeafRequest): Promise<IssuedCertificate> {
  const { notBefore, notAfter } = validityOf(request.validDays, issuer.notAfter);
  const keys = await generateKeyPair(request.algorithm);
  const [spkiBuffer, keyPem] = await Promise.all([subtle.exportKey('spki', keys.publicKey), exportPrivateKeyPem(keys.privateKey)]);
  const spki = new Uint8Array(spkiBuffer);
  const extensions = [
    notACa,
    keyUsageFor(request.purpose, request.algorithm),
    extendedKeyUsage[request.purpose],
    subjectKeyIdentifierDer(keyIdentifierOf(spki)),
    issuer.authorityKeyIdentifier,
  ];
  if (request.subjectAltNames) extensions.push(der(new x509.SubjectAlternativeNameExtension(request.subjectAltNames)));
  const serialNumber = randomSerialNumber();
  const tbs = encodeTbsCertificate({
    serialNumber: Buffer.from(serialNumber, 'hex'),
    issuer: issuer.name,
    notBefore,
    notAfter,
    subject: commonNameDer(request.commonName),
    subjectPublicKeyInfo: spki,
    extensions,
  });
  const signature = new Uint8Array(await subtle.sign(rootSigningAlgorithm, issuer.signingKey, tbs));
  const certificate = encodeCertificate(tbs, signature);
  return { certPem: encodePem(certificate, 'CERTIFICATE'), keyPem, fingerprint: fingerprintOfDer(certificate), serialNumber, notAfter };
}
