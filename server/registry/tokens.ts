/** Session tokens: the client holds the token, the registry stores only its hash. */
import { createHash, randomBytes } from 'node:crypto';

/**
 * `iotc_` and 256 random bits, URL-safe. The prefix keeps a token from ever starting with `-`
 * (one in 64 did), which command-line parsers read as an option (`client.py --token -x...`
 * failed), and lets secret scanners recognise a leaked one.
 */
const TOKEN_PREFIX = 'iotc_';

export function newToken(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/** SHA-256 hex. No salt or slow hash needed: the token is random, not guessable like a password. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
