import { describe, expect, it } from 'vitest';
import { jemallocLibrary, jemallocRerunEnv } from '../../cli/allocator.ts';

const LIB = '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2';

describe('running the fleet under jemalloc', () => {
  it('re-runs `fleet` with the library preloaded, and marks the environment so it happens once', () => {
    expect(jemallocRerunEnv('fleet', { PATH: '/bin' }, LIB)).toEqual({ PATH: '/bin', LD_PRELOAD: LIB, IOTCLOUD_ALLOCATOR: 'jemalloc' });
    expect(jemallocRerunEnv('fleet', { LD_PRELOAD: '/opt/other.so' }, LIB)?.LD_PRELOAD).toBe(`${LIB}:/opt/other.so`);
    expect(jemallocRerunEnv('fleet', { IOTCLOUD_ALLOCATOR: 'jemalloc' }, LIB)).toBeUndefined(); // the re-run itself
  });

  it('leaves everything else alone: other commands, IOTCLOUD_ALLOCATOR=system, no library, already preloaded', () => {
    expect(jemallocRerunEnv('up', {}, LIB)).toBeUndefined();
    expect(jemallocRerunEnv(undefined, {}, LIB)).toBeUndefined();
    expect(jemallocRerunEnv('fleet', { IOTCLOUD_ALLOCATOR: 'system' }, LIB)).toBeUndefined();
    expect(jemallocRerunEnv('fleet', {}, undefined)).toBeUndefined();
    expect(jemallocRerunEnv('fleet', { LD_PRELOAD: LIB }, LIB)).toBeUndefined();
  });

  it('finds the library where Debian and others install it', () => {
    expect(jemallocLibrary((path) => path === LIB)).toBe(LIB);
    expect(jemallocLibrary(() => false)).toBeUndefined();
  });
});
