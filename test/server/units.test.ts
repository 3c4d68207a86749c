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
  it('blocks a user after N failures until the window passes, and per address too', () => {
    let now = 0;
    const limiter = new LoginLimiter({ maxFailuresPerUser: 3, maxFailuresPerAddress: 5, windowMs: 60_000, now: () => now });
    for (let i = 0; i < 3; i++) limiter.recordFailure('10.0.0.1', 'ada');
    expect(limiter.retryAfterMs('10.0.0.1', 'ada')).toBe(60_000);
    expect(limiter.retryAfterMs('10.0.0.1', 'bob')).toBe(0);
    now = 59_999;
    expect(limiter.retryAfterMs('10.0.0.1', 'ada')).toBe(1);
    now = 60_000;
    expect(limiter.retryAfterMs('10.0.0.1', 'ada')).toBe(0);
    for (const user of ['u1', 'u2', 'u3', 'u4', 'u5']) limiter.recordFailure('10.0.0.2', user);
    expect(limiter.retryAfterMs('10.0.0.2', 'someone-else')).toBeGreaterThan(0);
  });

  it('a success clears the user counter', () => {
    const limiter = new LoginLimiter({ maxFailuresPerUser: 2, maxFailuresPerAddress: 100, windowMs: 1000, now: () => 0 });
    limiter.recordFailure('a', 'u');
    limiter.recordSuccess('a', 'u');
    limiter.recordFailure('a', 'u');
    expect(limiter.retryAfterMs('a', 'u')).toBe(0);
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
