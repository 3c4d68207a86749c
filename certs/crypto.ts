/**
 * The one crypto provider of this module: Node's WebCrypto, registered with @peculiar/x509 so its
 * extension helpers and the certificate generator use the same OpenSSL-backed implementation.
 */
import { createPrivateKey, createPublicKey, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { encodePem } from './pem.ts';
import type { KeyAlgorithm } from './types.ts';

x509.cryptoProvider.set(webcrypto as Crypto);

export const subtle = webcrypto.subtle as SubtleCrypto;

const keyGenParams: Record<KeyAlgorithm, EcKeyGenParams | RsaHashedKeyGenParams> = {
  'ecdsa-p256': { name: 'ECDSA', namedCurve: 'P-256' },
  'rsa-2048': { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
};

/** The only signature algorithm the root uses: it is always an ECDSA P-256 key. */
export const rootSigningAlgorithm: EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };

export async function generateKeyPair(algorithm: KeyAlgorithm): Promise<CryptoKeyPair> {
  // Extractable so the private key can be exported once for the device; it is never kept.
  return (await subtle.generateKey(keyGenParams[algorithm], true, ['sign', 'verify'])) as CryptoKeyPair;
}

export async function exportPrivateKeyPem(key: CryptoKey): Promise<string> {
  return encodePem(Buffer.from(await subtle.exportKey('pkcs8', key)), 'PRIVATE KEY');
}

/** Imports the root key for signing only: non-extractable, so it can never leave the process again. */
export async function importRootSigningKey(pkcs8: Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  return subtle.importKey('pkcs8', pkcs8, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
}

/** SPKI DER of the public half of a PKCS#8 key (DER or PEM); undefined when it is not a readable key. */
export function publicKeyOfPrivateKey(pkcs8: Uint8Array | string): Buffer | undefined {
  try {
    const privateKey = typeof pkcs8 === 'string' ? createPrivateKey(pkcs8) : createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' });
    return createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  } catch {
    return undefined; // the parser's message is dropped: nothing derived from key material reaches an error
  }
}
