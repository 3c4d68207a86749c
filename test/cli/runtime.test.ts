import { describe, expect, it } from 'vitest';
import { commandRuntime, fleetHeapArgs, jemallocEnv, jemallocLibrary } from '../../cli/process/runtime.ts';

const LIB = '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2';
const fleet = (...args: string[]) => ['node', 'iotcloud', 'fleet', ...args];

describe('the runtime `iotcloud fleet` and `iotcloud up` run themselves again in', () => {
  it('preloads jemalloc, sizes the heap for the fleet, and marks the environment so it happens once', () => {
    const runtime = commandRuntime(fleet('--devices', '10000'), { PATH: '/bin' }, LIB);
    expect(runtime).toEqual({
      env: { PATH: '/bin', LD_PRELOAD: LIB, IOTCLOUD_ALLOCATOR: 'jemalloc', IOTCLOUD_RUNTIME: '1' },
      nodeArgs: ['--initial-old-space-size=313'],
    });
    expect(commandRuntime(fleet('--devices', '10000'), runtime!.env, LIB)).toBeUndefined(); // the second run itself
  });

  it('runs the server under jemalloc too, and starts it only once when there is nothing to change', () => {
    const up = ['node', 'iotcloud', 'up', '--api-port', '0'];
    expect(commandRuntime(up, { PATH: '/bin' }, LIB)).toEqual({ env: { PATH: '/bin', LD_PRELOAD: LIB, IOTCLOUD_ALLOCATOR: 'jemalloc', IOTCLOUD_RUNTIME: '1' }, nodeArgs: [] });
    expect(commandRuntime(up, { IOTCLOUD_ALLOCATOR: 'system' }, LIB)).toBeUndefined();
    expect(commandRuntime(up, {}, undefined)).toBeUndefined();
    expect(commandRuntime(up, { IOTCLOUD_RUNTIME: '1', LD_PRELOAD: LIB }, LIB)).toBeUndefined();
  });

  it('leaves other commands alone', () => {
    expect(commandRuntime(['node', 'iotcloud', 'demo'], {}, LIB)).toBeUndefined();
    expect(commandRuntime(['node', 'iotcloud'], {}, LIB)).toBeUndefined();
  });

  it('keeps a heap size the user gave Node, and glibc malloc when asked or when jemalloc is missing', () => {
    expect(commandRuntime(fleet('--devices', '5'), { NODE_OPTIONS: '--max-old-space-size=200' }, LIB)?.nodeArgs).toEqual([]);
    expect(commandRuntime(fleet('--devices', '5'), {}, LIB, ['--initial-old-space-size=90'])?.nodeArgs).toEqual([]);
    expect(commandRuntime(fleet(), { IOTCLOUD_ALLOCATOR: 'system' }, LIB)?.env.LD_PRELOAD).toBeUndefined();
    expect(commandRuntime(fleet(), {}, undefined)?.env.LD_PRELOAD).toBeUndefined();
  });

  it('sizes the heap from --devices, within bounds, and for 10,000 devices when a --certs folder is loaded', () => {
    expect(fleetHeapArgs(['--devices=2000'])).toEqual(['--initial-old-space-size=64']); // 63 MB asked, 64 the least
    expect(fleetHeapArgs(['--rate', '50', '--devices', '100000'])).toEqual(['--initial-old-space-size=3125']);
    expect(fleetHeapArgs(['--devices', '1000000'])).toEqual(['--initial-old-space-size=4096']);
    expect(fleetHeapArgs(['--certs', 'saved'])).toEqual(['--initial-old-space-size=320']);
    expect(fleetHeapArgs(['--devices', 'many'])).toEqual(['--initial-old-space-size=320']);
  });

  it('adds jemalloc to an existing LD_PRELOAD once', () => {
    expect(jemallocEnv({ LD_PRELOAD: '/opt/other.so' }, LIB)?.LD_PRELOAD).toBe(`${LIB}:/opt/other.so`);
    expect(jemallocEnv({ LD_PRELOAD: LIB }, LIB)).toBeUndefined();
  });

  it('finds the library where Debian and others install it', () => {
    expect(jemallocLibrary((path) => path === LIB)).toBe(LIB);
    expect(jemallocLibrary(() => false)).toBeUndefined();
  });
});
