/**
 * The long-running commands, `iotcloud up` and `iotcloud fleet`, run themselves once more in a
 * runtime set up for thousands of TLS connections. The settings must be in place before the
 * process starts, hence the second start:
 *
 * - jemalloc when the system has it (Debian: libjemalloc2), for both. Thousands of TLS
 *   connections are mostly small OpenSSL allocations; glibc's malloc leaves them spread over
 *   fragmented pages, jemalloc packs them: measured 69 -> 55 KB of RSS per device connection in a
 *   fleet. In the server, glibc's malloc was ~10% of its CPU during a fleet ramp (perf), and with
 *   jemalloc the server's CPU per connect fell from 1.52-1.70 to 1.40-1.49 ms (3 runs each of
 *   10,000 MQTTS devices). IOTCLOUD_ALLOCATOR=system keeps glibc's malloc.
 * - For a fleet, V8's old generation sized for it from the start (`--initial-old-space-size`). A
 *   fleet ramping up grows its heap by ~21 KB a device, and V8's concurrent marking threads took
 *   about a fifth of its CPU. Measured A/B on 10,000 MQTTS devices, alternating, 4 pairs: fleet
 *   CPU per connect 2.5-3.5 ms (mean 2.9) with the flag vs 3.0-3.5 ms (mean 3.25) without;
 *   connects/s 270-383 (mean 337) vs 273-316 (mean 298); memory after a GC unchanged. GC traces
 *   still show a full mark about every 10 MB of growth either way: V8 starts those for "external
 *   memory pressure", not for the heap. Node reports ~133 KB of native memory per TLS connection
 *   (a 64 KB read buffer among it) and V8 marks every 64 MB of that: every ~480 connects.
 *
 * The second run exits when the first one goes away, however it ends (even SIGKILL): a server
 * left behind would keep its ports and its database.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Set in the second run, so that it does not start a third. */
const RERUN_MARK = 'IOTCLOUD_RUNTIME';

const JEMALLOC_PATHS = [
  '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2',
  '/usr/lib/aarch64-linux-gnu/libjemalloc.so.2',
  '/usr/lib64/libjemalloc.so.2',
  '/usr/lib/libjemalloc.so.2',
];

/** Heap a connected device keeps (20.8 KB measured), with room for the garbage of a ramp. */
const HEAP_KB_PER_DEVICE = 32;
const HEAP_MB_MIN = 64;
const HEAP_MB_MAX = 4096;
/** `--certs DIR` does not say how many devices the folder holds: size for 10,000. */
const HEAP_MB_UNKNOWN_FLEET = 320;

const FORWARDED_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

export function jemallocLibrary(exists: (path: string) => boolean = existsSync): string | undefined {
  return JEMALLOC_PATHS.find((path) => exists(path));
}

/** `env` with jemalloc preloaded, or undefined when it is not wanted, not there or already in. */
export function jemallocEnv(env: NodeJS.ProcessEnv, library: string | undefined): NodeJS.ProcessEnv | undefined {
  if (env.IOTCLOUD_ALLOCATOR === 'system') return undefined;
  if (!library || (env.LD_PRELOAD ?? '').includes('jemalloc')) return undefined;
  return { ...env, LD_PRELOAD: env.LD_PRELOAD ? `${library}:${env.LD_PRELOAD}` : library, IOTCLOUD_ALLOCATOR: 'jemalloc' };
}

/** The fleet size `--devices N` (or `--devices=N`) asks for, if it says. */
function devicesAskedFor(args: readonly string[]): number | undefined {
  for (const [index, arg] of args.entries()) {
    const value = arg === '--devices' ? args[index + 1] : arg.startsWith('--devices=') ? arg.slice('--devices='.length) : undefined;
    if (value !== undefined && /^\d+$/.test(value)) return Number(value);
  }
  return undefined;
}

/** Node options sizing V8's old generation for a fleet run with these command-line arguments. */
export function fleetHeapArgs(fleetArgs: readonly string[]): string[] {
  const devices = devicesAskedFor(fleetArgs);
  const megabytes = devices === undefined ? HEAP_MB_UNKNOWN_FLEET : Math.ceil((devices * HEAP_KB_PER_DEVICE) / 1024);
  return [`--initial-old-space-size=${Math.min(HEAP_MB_MAX, Math.max(HEAP_MB_MIN, megabytes))}`];
}

export interface CommandRuntime {
  env: NodeJS.ProcessEnv;
  /** Node options to start the second run with, before the script. */
  nodeArgs: string[];
}

/**
 * How to start `iotcloud <argv[2]> ...` again, or undefined when the command runs as it is: not a
 * long-running one, already the second run, or (`up`) nothing to change. A fleet keeps an
 * old-space size the user gave Node.
 */
export function commandRuntime(argv: readonly string[], env: NodeJS.ProcessEnv, library: string | undefined, execArgv: readonly string[] = []): CommandRuntime | undefined {
  const command = argv[2];
  if ((command !== 'fleet' && command !== 'up') || env[RERUN_MARK] !== undefined) return undefined;
  const allocatorEnv = jemallocEnv(env, library);
  if (command === 'up') return allocatorEnv ? { env: { ...allocatorEnv, [RERUN_MARK]: '1' }, nodeArgs: [] } : undefined;
  const heapSizeGiven = [...execArgv, ...(env.NODE_OPTIONS ?? '').split(/\s+/)].some((arg) => /^--(initial|max)-old-space-size/.test(arg));
  return {
    env: { ...(allocatorEnv ?? env), [RERUN_MARK]: '1' },
    nodeArgs: heapSizeGiven ? [] : fleetHeapArgs(argv.slice(3)),
  };
}

/** In the second run: exit (as on SIGTERM, cleanly) once the first run is gone. */
export function followFirstRun(): void {
  if (process.env[RERUN_MARK] === undefined || !process.channel) return;
  process.channel.unref(); // the link to the first run must not keep this one alive
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}

/**
 * For `iotcloud up` and `iotcloud fleet`, run the command again in its runtime and resolve with its
 * exit code (the caller exits with it); for anything else resolve undefined and the caller goes on.
 */
export async function rerunInCommandRuntime(argv: readonly string[] = process.argv): Promise<number | undefined> {
  const runtime = commandRuntime(argv, process.env, jemallocLibrary(), process.execArgv);
  if (!runtime) return undefined;
  // Its own process group: a Ctrl+C reaches this process only, which passes it on exactly once
  // (the fleet treats a second SIGINT as "exit now"). The IPC channel only tells the second run
  // when this one is gone.
  const child = spawn(process.execPath, [...process.execArgv, ...runtime.nodeArgs, ...argv.slice(1)], { env: runtime.env, stdio: ['inherit', 'inherit', 'inherit', 'ipc'], detached: true });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);
  return new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      for (const s of FORWARDED_SIGNALS) process.off(s, forward);
      resolve(code ?? 128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
    });
  });
}
