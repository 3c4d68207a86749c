/**
 * The attacker's target: `iotcloud up` (embedded engine) as a child process, so the test can read
 * the server's own RSS, and a user with a registered device.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RestClient, type DeviceRegistration } from '../../rest-client/index.ts';
import { spawnUp, type UpProcess } from '../../testkit/up-process.ts';

export interface AttackTarget {
  up: UpProcess;
  user: RestClient;
  service: { url: string; username: string; password: string; clientIdPrefix: string };
  register(name: string): Promise<DeviceRegistration>;
  /** Resolves once the server's output matches (pino writes asynchronously). */
  logged(pattern: RegExp): Promise<void>;
  /** The server process's resident set size, in bytes. */
  rss(): number;
  close(): Promise<void>;
}

let users = 0;

export async function startAttackTarget(): Promise<AttackTarget> {
  const dataDir = await mkdtemp(join(tmpdir(), 'iotcloud-attack-'));
  const up = await spawnUp(['--api-port', '0', '--mqtt-port', '0', '--service-port', '0', '--data-dir', dataDir, '--log-level', 'warn'], { timeoutMs: 120_000 });
  const user = new RestClient({ baseUrl: up.apiUrl, caPem: up.rootCaPem });
  const name = `attacker${process.pid}x${users++}`;
  await user.signup(name, 'correct horse battery');
  await user.login(name, 'correct horse battery');
  const service = JSON.parse(await readFile(up.serviceCredentialsPath!, 'utf8')) as AttackTarget['service'];
  return {
    up,
    user,
    service,
    register: (deviceName) => user.registerDevice(deviceName),
    logged: (pattern) =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (!pattern.test(up.output())) return;
          up.child.stdout!.off('data', check);
          up.child.stderr!.off('data', check);
          resolve();
        };
        up.child.stdout!.on('data', check);
        up.child.stderr!.on('data', check);
        check();
      }),
    rss() {
      const status = readFileSync(`/proc/${up.serverPid}/status`, 'utf8');
      return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)![1]) * 1024;
    },
    async close() {
      user.close();
      await up.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export const MB = 1024 * 1024;
