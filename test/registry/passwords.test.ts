import { describe, expect, it } from 'vitest';
import { hashPassword, MAX_PASSWORD_BYTES, verifyPassword } from '../../server/registry/passwords.ts';

describe('password hashing (scrypt)', () => {
  it('verifies the right password and rejects a wrong one', async () => {
    const stored = await hashPassword('correct horse battery staple');
    expect(await verifyPassword('correct horse battery staple', stored)).toBe(true);
    expect(await verifyPassword('correct horse battery stapl', stored)).toBe(false);
    expect(await verifyPassword('', stored)).toBe(false);
  });

  it('stores a self-describing hash with a random 16-byte salt', async () => {
    const [a, b] = await Promise.all([hashPassword('same password'), hashPassword('same password')]);
    const parts = a.split('$');
    expect(parts.slice(0, 4)).toEqual(['scrypt', '32768', '8', '3']);
    expect(Buffer.from(parts[4] ?? '', 'base64url')).toHaveLength(16);
    expect(Buffer.from(parts[5] ?? '', 'base64url')).toHaveLength(32);
    expect(a).not.toBe(b); // different salts...
    expect(a.split('$')[4]).not.toBe(b.split('$')[4]);
    expect(await verifyPassword('same password', b)).toBe(true); // ...and both verify
  });

  it('rejects a tampered or malformed stored hash', async () => {
    const stored = await hashPassword('hunter22');
    const parts = stored.split('$');
    const hash = Buffer.from(parts[5] ?? '', 'base64url');
    hash[0] = (hash[0] ?? 0) ^ 1;
    const flipped = [...parts.slice(0, 5), hash.toString('base64url')].join('$');
    const otherSalt = [...parts.slice(0, 4), Buffer.alloc(16, 7).toString('base64url'), parts[5]].join('$');

    expect(await verifyPassword('hunter22', flipped)).toBe(false);
    expect(await verifyPassword('hunter22', otherSalt)).toBe(false);
    expect(await verifyPassword('hunter22', stored.replace('$8$', '$4$'))).toBe(false); // other cost
    expect(await verifyPassword('hunter22', stored.replace('scrypt$', 'bcrypt$'))).toBe(false);
    expect(await verifyPassword('hunter22', stored.replace('$32768$', '$1073741824$'))).toBe(false); // a memory bomb, refused unrun
    expect(await verifyPassword('hunter22', stored.replace('$32768$', '$1000$'))).toBe(false); // not a power of two
    expect(await verifyPassword('hunter22', stored.replace('$32768$8$', '$1048576$1$'))).toBe(false); // in bounds, but invalid for scrypt
    expect(await verifyPassword('hunter22', '')).toBe(false);
    expect(await verifyPassword('hunter22', 'plain-text')).toBe(false);
  });

  it(`refuses passwords over ${MAX_PASSWORD_BYTES} bytes (counted in UTF-8)`, async () => {
    const longest = 'a'.repeat(MAX_PASSWORD_BYTES);
    const stored = await hashPassword(longest);
    expect(await verifyPassword(longest, stored)).toBe(true);

    await expect(hashPassword(`${longest}a`)).rejects.toThrow(RangeError);
    await expect(hashPassword('é'.repeat(513))).rejects.toThrow(/1024 bytes/); // 513 chars, 1026 bytes
    expect(await verifyPassword(`${longest}a`, stored)).toBe(false);
  });

  it('treats composed and decomposed Unicode as the same password', async () => {
    const stored = await hashPassword('caf\u00e9-password');
    expect(await verifyPassword('cafe\u0301-password', stored)).toBe(true);
  });
});
