import { describe, expect, it } from 'vitest';
import { checkConfig, defaultConfig, isLoopback } from '../../server/config.ts';
import { LoginLimiter } from '../../server/api/login-limiter.ts';
import { TtlCache } from '../../server/ttl-cache.ts';

describe('server configuration checks', () => {
  it('refuses plain HTTP off loopback, with what to change', () => {
    expect(() => checkConfig({ ...defaultConfig, insecureHttp: true, apiHost: '0.0.0.0' })).toThrow(/only allowed on a loopback address.*drop --insecure-http/);
    expect(() => checkConfig({ ...defaultConfig, insecureHttp: true, apiHost: '127.0.0.1' })).not.toThrow();
  });

  it('refuses impossible ports and timeouts', () => {
    expect(() => checkConfig({ ...defaultConfig, apiPort: 70000 })).toThrow(/api port must be 0..65535/);
    expect(() => checkConfig({ ...defaultConfig, defaultCommandTimeoutMs: 0 })).toThrow(/command timeout/);
  });

  it.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['::1', true],
    ['localhost', true],
    ['0.0.0.0', false],
    ['192.168.1.5', false],
    ['127.example.com', false],
  ])('isLoopback(%s) is %s', (host, expected) => {
    expect(isLoopback(host)).toBe(expected);
  });
});

describe('LoginLimiter (fake clock)', () => {
  const wait = (outcome: ReturnType<LoginLimiter['start']>) => ('retryAfterMs' in outcome ? outcome.retryAfterMs : 0);
  const fail = (limiter: LoginLimiter, address: string, user: string) => {
    const attempt = limiter.start(address, user);
    if ('retryAfterMs' in attempt) throw new Error('refused');
    attempt.failed();
  };

  it('blocks a user after N failures until the window passes, and slows an address over its budget', () => {
    let now = 0;
    const limiter = new LoginLimiter({ maxFailuresPerUser: 3, maxFailuresPerAddress: 5, windowMs: 60_000, now: () => now });
    for (let i = 0; i < 3; i++) fail(limiter, '10.0.0.1', 'ada');
    expect(wait(limiter.start('10.0.0.1', 'ada'))).toBe(60_000);
    now = 59_999;
    expect(wait(limiter.start('10.0.0.1', 'ada'))).toBe(1);
    now = 60_000;
    expect(wait(limiter.start('10.0.0.1', 'ada'))).toBe(0);
    for (const user of ['u1', 'u2', 'u3', 'u4', 'u5']) fail(limiter, '10.0.0.2', user);
    expect(wait(limiter.start('10.0.0.2', 'someone'))).toBe(0); // one a second still gets through
    expect(wait(limiter.start('10.0.0.2', 'someone-else'))).toBe(1000);
  });

  it('counts attempts when they start: parallel attempts cannot all pass the gate', () => {
    const limiter = new LoginLimiter({ maxFailuresPerUser: 5, maxFailuresPerAddress: 50, windowMs: 60_000, now: () => 0 });
    const started = Array.from({ length: 200 }, () => limiter.start('a', 'victim')).filter((outcome) => !('retryAfterMs' in outcome));
    expect(started).toHaveLength(5);
  });

  it('a success takes its attempt back and keeps its (address, username) usable past the address budget', () => {
    let now = 0;
    const limiter = new LoginLimiter({ maxFailuresPerUser: 2, maxFailuresPerAddress: 3, windowMs: 1000, now: () => now });
    const ok = limiter.start('a', 'u');
    if ('retryAfterMs' in ok) throw new Error('refused');
    ok.succeeded();
    for (const user of ['x', 'y', 'z']) fail(limiter, 'a', user);
    now = 1;
    expect(wait(limiter.start('a', 'u'))).toBe(0);
    expect(wait(limiter.start('a', 'u'))).toBe(0);
  });
});

describe('TtlCache (fake clock)', () => {
  it('expires entries, honours a shorter per-entry TTL and evicts the oldest when full', () => {
    let now = 0;
    const cache = new TtlCache<string, number>(100, 2, () => now);
    cache.set('a', 1);
    cache.set('b', 2, 10);
    now = 10;
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe(1);
    cache.set('c', 3);
    cache.set('d', 4);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('d')).toBe(4);
    now = 200;
    expect(cache.get('d')).toBeUndefined();
  });
});
