import { createHash, X509Certificate } from 'node:crypto';

/** Lowercase hex SHA-256 of a certificate's DER, no colons. */
export function fingerprintOfDer(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex');
}

/** Fingerprint of the first certificate in `certPem`, in the same format as `IssuedCertificate.fingerprint`. */
export function fingerprintOfPem(certPem: string): string {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(certPem);
  } catch {
    throw new Error('fingerprintOfPem: input is not a PEM X.509 certificate');
  }
  return fingerprintOfDer(certificate.raw);
}
