import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hashToken, newToken } from '../../server/registry/tokens.ts';

describe('session tokens', () => {
  it('are iotc_ and 32 random bytes in base64url, different every time, never starting with a dash', () => {
    const tokens = Array.from({ length: 1000 }, newToken);
    for (const token of tokens) {
      expect(token).toMatch(/^iotc_[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(token.slice('iotc_'.length), 'base64url')).toHaveLength(32);
    }
    expect(new Set(tokens).size).toBe(tokens.length);
  });

  it('hash to SHA-256 hex, deterministic and distinct per token', () => {
    const token = newToken();
    expect(hashToken(token)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashToken(token)).toBe(hashToken(token));
    expect(hashToken(token)).toBe(createHash('sha256').update(token).digest('hex'));
    expect(hashToken(token)).not.toBe(hashToken(newToken()));
    expect(hashToken('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'); // FIPS 180-2 vector
  });
});
