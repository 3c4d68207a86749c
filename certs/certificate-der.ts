/** Assembly of a leaf certificate (RFC 5280 section 4.1) from already-encoded parts. */
import { type Der, bitString, ecdsaSignatureToDer, explicit, octetString, sequence, set, time, unsignedInteger, utf8String } from './der.ts';

// Pre-encoded object identifiers (tag, length, value).
const oid = {
  commonName: Buffer.from('0603550403', 'hex'), // 2.5.4.3
  subjectKeyIdentifier: Buffer.from('0603551d0e', 'hex'), // 2.5.29.14
  ecdsaWithSha256: Buffer.from('06082a8648ce3d040302', 'hex'), // 1.2.840.10045.4.3.2
};
/** RFC 5758: ecdsa-with-SHA256 takes no parameters, not even NULL. */
const ecdsaWithSha256 = sequence(oid.ecdsaWithSha256);
const version3 = explicit(0, unsignedInteger(Buffer.from([2])));

export interface TbsFields {
  serialNumber: Uint8Array;
  /** DER Name of the issuer, byte for byte as in the root's subject. */
  issuer: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  subject: Uint8Array;
  /** DER SubjectPublicKeyInfo, as WebCrypto exports it. */
  subjectPublicKeyInfo: Uint8Array;
  /** DER Extension values, in order. */
  extensions: readonly Uint8Array[];
}

/** Name with a single CN attribute, as UTF8String (RFC 5280 4.1.2.6). */
export function commonNameDer(commonName: string): Der {
  return sequence(set(sequence(oid.commonName, utf8String(commonName))));
}

export function subjectKeyIdentifierDer(keyId: Uint8Array): Der {
  return sequence(oid.subjectKeyIdentifier, octetString(octetString(keyId)));
}

/** TBSCertificate to be signed with the root's ECDSA P-256 key. */
export function encodeTbsCertificate(fields: TbsFields): Der {
  return sequence(
    version3,
    unsignedInteger(fields.serialNumber),
    ecdsaWithSha256,
    fields.issuer,
    sequence(time(fields.notBefore), time(fields.notAfter)),
    fields.subject,
    fields.subjectPublicKeyInfo,
    explicit(3, sequence(...fields.extensions)),
  );
}

export function encodeCertificate(tbs: Uint8Array, p1363Signature: Uint8Array): Der {
  return sequence(tbs, ecdsaWithSha256, bitString(ecdsaSignatureToDer(p1363Signature)));
}
