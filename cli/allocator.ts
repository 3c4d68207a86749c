/**
 * `iotcloud fleet` runs under jemalloc when the system has it (Debian: libjemalloc2). Thousands of
 * idle TLS connections are mostly small OpenSSL allocations; glibc's malloc leaves them spread
 * over fragmented pages, jemalloc packs them: measured 69 -> 55 KB of RSS per device connection.
 * The allocator must be loaded before the process starts, so the command runs itself again with
 * LD_PRELOAD set. IOTCLOUD_ALLOCATOR=system keeps glibc's malloc.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Commands whose memory per device matters enough to be worth a second process start. */
const COMMANDS_UNDER_JEMALLOC = new Set(['fleet']);

const JEMALLOC_PATHS = [
  '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2',
  '/usr/lib/aarch64-linux-gnu/libjemalloc.so.2',
  '/usr/lib64/libjemalloc.so.2',
  '/usr/lib/libjemalloc.so.2',
];

const FORWARDED_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

export function jemallocLibrary(exists: (path: string) => boolean = existsSync): string | undefined {
  return JEMALLOC_PATHS.find((path) => exists(path));
}

/** The environment to run `command` again under jemalloc, or undefined to go on as is. */
export function jemallocRerunEnv(command: string | undefined, env: NodeJS.ProcessEnv, library: string | undefined): NodeJS.ProcessEnv | undefined {
  if (!command || !COMMANDS_UNDER_JEMALLOC.has(command)) return undefined;
  if (env.IOTCLOUD_ALLOCATOR !== undefined) return undefined; // asked for one, or already re-run
  if (!library || (env.LD_PRELOAD ?? '').includes('jemalloc')) return undefined;
  return { ...env, LD_PRELOAD: env.LD_PRELOAD ? `${library}:${env.LD_PRELOAD}` : library, IOTCLOUD_ALLOCATOR: 'jemalloc' };
}

/**
 * When this command is better off under jemalloc, run it again so and resolve with its exit
 * code (the caller exits with it); otherwise resolve undefined and the caller goes on.
 */
export async function rerunUnderJemallocIfUseful(argv: readonly string[] = process.argv): Promise<number | undefined> {
  const env = jemallocRerunEnv(argv[2], process.env, jemallocLibrary());
  if (!env) return undefined;
  // Its own process group: a Ctrl+C reaches this process only, which passes it on exactly once
  // (the fleet treats a second SIGINT as "exit now").
  const child = spawn(process.execPath, [...process.execArgv, ...argv.slice(1)], { env, stdio: 'inherit', detached: true });
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
