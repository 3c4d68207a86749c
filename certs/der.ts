/**
 * The few DER encodings a leaf certificate needs (X.690). Leaves are assembled here rather than
 * through @peculiar/x509's generator because its generic ASN.1 layer cost ~1.2 ms of main-thread
 * time per certificate, four times everything else; the library still encodes the root and all
 * extension values, and parses every certificate this module reads.
 */
/** Encoded DER bytes; Buffer.concat always returns a fresh, non-shared ArrayBuffer. */
export type Der = Buffer<ArrayBuffer>;

const tag = {
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  utf8String: 0x0c,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
  explicit0: 0xa0,
  explicit3: 0xa3,
} as const;

function lengthOf(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function tlv(type: number, ...contents: readonly Uint8Array[]): Der {
  const body = Buffer.concat(contents);
  return Buffer.concat([Buffer.from([type]), lengthOf(body.length), body]);
}

export const sequence = (...contents: readonly Uint8Array[]): Der => tlv(tag.sequence, ...contents);
export const set = (...contents: readonly Uint8Array[]): Der => tlv(tag.set, ...contents);
export const octetString = (value: Uint8Array): Der => tlv(tag.octetString, value);
export const utf8String = (value: string): Der => tlv(tag.utf8String, Buffer.from(value, 'utf8'));
export const explicit = (number: 0 | 3, content: Uint8Array): Der => tlv(number === 0 ? tag.explicit0 : tag.explicit3, content);
/** A BIT STRING whose bits fill whole bytes (signatures, keys). */
export const bitString = (value: Uint8Array): Der => tlv(tag.bitString, Buffer.from([0]), value);

/** A non-negative INTEGER from big-endian magnitude bytes: minimal, with a 0x00 where the top bit is set. */
export function unsignedInteger(magnitude: Uint8Array): Der {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const value = magnitude.subarray(start);
  return value[0]! >= 0x80 ? tlv(tag.integer, Buffer.from([0]), value) : tlv(tag.integer, value);
}

/** RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050, always whole seconds in UTC. */
export function time(date: Date): Der {
  const digits = date.toISOString().replace(/[-:T]/g, '').slice(0, 14); // YYYYMMDDHHMMSS
  return date.getUTCFullYear() < 2050
    ? tlv(tag.utcTime, Buffer.from(`${digits.slice(2)}Z`, 'latin1'))
    : tlv(tag.generalizedTime, Buffer.from(`${digits}Z`, 'latin1'));
}

/** WebCrypto signs ECDSA as r || s (IEEE P1363); X.509 wants SEQUENCE { INTEGER r, INTEGER s }. */
export function ecdsaSignatureToDer(p1363: Uint8Array): Der {
  const half = p1363.length / 2;
  return sequence(unsignedInteger(p1363.subarray(0, half)), unsignedInteger(p1363.subarray(half)));
}
