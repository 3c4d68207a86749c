/** The hand-written DER encoder behind leaf certificates, checked against X.690 and OpenSSL. */
import { createPublicKey, verify, webcrypto } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ecdsaSignatureToDer, time, tlv, unsignedInteger } from '../../certs/der.ts';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

describe('DER encoding', () => {
  it('uses the short length form below 128 bytes and the long form from 128', () => {
    expect(hex(tlv(0x04, new Uint8Array(127))).slice(0, 4)).toBe('047f');
    expect(hex(tlv(0x04, new Uint8Array(128))).slice(0, 6)).toBe('048180');
    expect(hex(tlv(0x04, new Uint8Array(300))).slice(0, 8)).toBe('0482012c');
    expect(tlv(0x04, new Uint8Array(300))).toHaveLength(304);
  });

  it('encodes unsigned integers minimally and never as negative', () => {
    expect(hex(unsignedInteger(Uint8Array.from([0x00, 0x00, 0x7f])))).toBe('02017f');
    expect(hex(unsignedInteger(Uint8Array.from([0x80])))).toBe('02020080');
    expect(hex(unsignedInteger(Uint8Array.from([0x00, 0xff, 0x01])))).toBe('020300ff01');
    expect(hex(unsignedInteger(Uint8Array.from([0x00])))).toBe('020100');
  });

  it('switches from UTCTime to GeneralizedTime in 2050 (RFC 5280 4.1.2.5)', () => {
    expect(time(new Date('2049-12-31T23:59:59Z')).toString('latin1')).toBe('\x17\x0d491231235959Z');
    expect(time(new Date('2050-01-01T00:00:00Z')).toString('latin1')).toBe('\x18\x0f20500101000000Z');
    expect(time(new Date('2026-03-04T05:06:07.890Z')).toString('latin1')).toBe('\x17\x0d260304050607Z');
  });

  it('turns WebCrypto ECDSA signatures into DER that OpenSSL verifies', async () => {
    const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
    const publicKey = createPublicKey({ key: Buffer.from(await webcrypto.subtle.exportKey('spki', keys.publicKey)), format: 'der', type: 'spki' });
    // Enough signatures that r or s with a leading zero or the top bit set are all but certain to occur.
    for (let i = 0; i < 64; i++) {
      const data = Buffer.from(`message ${i}`);
      const p1363 = new Uint8Array(await webcrypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, keys.privateKey, data));
      const der = ecdsaSignatureToDer(p1363);
      expect(verify('sha256', data, { key: publicKey, dsaEncoding: 'der' }, der)).toBe(true);
    }
  });
});
