/**
 * Runs `iotcloud up` as a child process and reads where it listens from its banner. Tests and
 * benchmarks use it to drive the server exactly as a user starts it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

export const IOTCLOUD_BIN = fileURLToPath(new URL('../bin/iotcloud.js', import.meta.url));

export interface UpProcess {
  apiUrl: string;
  mqttUrl: string;
  caCertPath: string;
  rootCaPem: string;
  /** With `--service-port`: the service.json the harness logs in with. */
  serviceCredentialsPath?: string;
  child: ChildProcess;
  /** The server's own process: the banner's pid (`child` may be the first run, cli/process/runtime.ts). */
  serverPid: number;
  /** Everything the process wrote so far (stdout and stderr). */
  output(): string;
  /** SIGTERM (or the given signal) and wait for exit; resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** `bin`: another copy of bin/iotcloud.js (default this project's). */
export async function spawnUp(args: string[], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv; bin?: string } = {}): Promise<UpProcess> {
  const child = spawn(process.execPath, [...profileArgs(), options.bin ?? IOTCLOUD_BIN, 'up', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit');

  const banner = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`iotcloud up did not start within ${options.timeoutMs ?? 90_000} ms:\n${output}`)), options.timeoutMs ?? 90_000);
    const check = () => {
      if (/Press Ctrl\+C to stop/.test(output)) {
        clearTimeout(timer);
        resolve(output);
      }
    };
    child.stdout!.on('data', check);
    exited.then(([code]) => {
      clearTimeout(timer);
      reject(new Error(`iotcloud up exited with code ${code}:\n${output}`));
    }, reject);
  });
  const field = (label: string) => {
    const match = new RegExp(`^\\s*${label}\\s+(\\S+)`, 'm').exec(banner);
    if (!match) throw new Error(`no "${label}" line in the banner:\n${banner}`);
    return match[1]!;
  };
  const caCertPath = field('root CA');
  const service = /^\s*service\s+\S+.*credentials (\S+)\)/m.exec(banner);
  return {
    apiUrl: field('REST API'),
    mqttUrl: field('devices'),
    caCertPath,
    rootCaPem: await readFile(caCertPath, 'utf8'),
    ...(service ? { serviceCredentialsPath: service[1]! } : {}),
    child,
    serverPid: Number(/^\s*process\s+pid (\d+)/m.exec(banner)?.[1] ?? child.pid),
    output: () => output,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null) return child.exitCode;
      child.kill(signal);
      const [code] = (await exited) as [number | null];
      return code;
    },
  };
}

/**
 * `IOTCLOUD_CPU_PROFILE=<dir>`: the child writes a V8 CPU profile there when it exits, so a
 * benchmark can show where a process spent its time (Node refuses --cpu-prof in NODE_OPTIONS).
 */
export function profileArgs(): string[] {
  const dir = process.env.IOTCLOUD_CPU_PROFILE;
  return dir ? ['--cpu-prof', '--cpu-prof-dir', dir] : [];
}
