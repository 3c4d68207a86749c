/**
 * Password hashing with scrypt (memory-hard, in Node's crypto). Stored form, self-describing so
 * the cost can be raised later without breaking old hashes:
 *   scrypt$<N>$<r>$<p>$<salt base64url>$<hash base64url>
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** Longer passwords are refused: hashing cost grows with input, so this caps a DoS lever. */
export const MAX_PASSWORD_BYTES = 1024;

// OWASP's password storage guidance (2025) for scrypt at 32 MiB: N = 2^15, r = 8, p = 3 (the
// same work as its N = 2^17, p = 1 in a quarter of the memory). About 0.2 s of one core per hash
// here; server/costly-work.ts runs one at a time so floods queue instead of taking both cores.
// Hashes stored at p = 1 still verify (the cost is read back from each hash).
const COST = { N: 2 ** 15, r: 8, p: 3 } as const;
const SALT_BYTES = 16;
const KEY_BYTES = 32;

// Bounds for parameters read back from storage, so a tampered row cannot demand gigabytes.
const LIMITS = { maxN: 2 ** 20, maxR: 32, maxP: 16, minKeyBytes: 16, maxKeyBytes: 128, minSaltBytes: 16 } as const;

function derive(password: string, salt: Buffer, keyBytes: number, cost: { N: number; r: number; p: number }): Promise<Buffer> {
  // Node refuses when 128 * N * r exceeds maxmem (default 32 MiB); allow headroom above it.
  const options: ScryptOptions = { ...cost, maxmem: 256 * cost.N * cost.r * cost.p };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, keyBytes, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

function tooLong(password: string): boolean {
  return Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES;
}

export async function hashPassword(password: string): Promise<string> {
  if (tooLong(password)) throw new RangeError(`password is longer than ${MAX_PASSWORD_BYTES} bytes`);
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(password, salt, KEY_BYTES, COST);
  return ['scrypt', COST.N, COST.r, COST.p, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

interface ParsedHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

function parse(stored: string): ParsedHash | undefined {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [N, r, p] = parts.slice(1, 4).map((part) => (/^[1-9][0-9]{0,7}$/.test(part) ? Number(part) : NaN));
  const salt = Buffer.from(parts[4] ?? '', 'base64url');
  const hash = Buffer.from(parts[5] ?? '', 'base64url');
  if (N === undefined || r === undefined || p === undefined) return undefined;
  const powerOfTwo = N > 1 && (N & (N - 1)) === 0;
  if (!powerOfTwo || N > LIMITS.maxN || !(r >= 1 && r <= LIMITS.maxR) || !(p >= 1 && p <= LIMITS.maxP)) return undefined;
  if (salt.length < LIMITS.minSaltBytes || hash.length < LIMITS.minKeyBytes || hash.length > LIMITS.maxKeyBytes) return undefined;
  return { N, r, p, salt, hash };
}

/** false for a wrong password, an over-long one, or a stored value that is not a valid hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  if (tooLong(password)) return false;
  const parsed = parse(stored);
  if (!parsed) return false;
  // Some in-range combinations are still invalid for scrypt (e.g. N >= 2^(16r)): a bad hash, not a crash.
  const candidate = await derive(password, parsed.salt, parsed.hash.length, parsed).catch(() => undefined);
  return candidate !== undefined && timingSafeEqual(candidate, parsed.hash);
}
