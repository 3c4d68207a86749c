/**
 * `iotcloud up` and `iotcloud demo` on a port that is taken: they stop at once, naming the flag
 * and how to pick another port, before creating a data folder, a CA or a registry.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runIotcloud } from '../../testkit/run-iotcloud.ts';

const iotcloud = (args: string[]) => runIotcloud(args);

describe('a server port already in use', () => {
  let dir: string;
  let taken: Server;
  let busyPort: number;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'iotcloud-ports-'));
    taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    busyPort = (taken.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => taken.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it('up --api-port: exit 1 naming the flag, and nothing created', async () => {
    const dataDir = join(dir, 'api');
    const outcome = await iotcloud(['up', '--api-port', String(busyPort), '--mqtt-port', '0', '--data-dir', dataDir]);
    expect(outcome.code).toBe(1);
    expect(outcome.stderr).toContain(`port ${busyPort} (--api-port) is already in use on 127.0.0.1:${busyPort}`);
    expect(outcome.stderr).toContain('next: stop it, or choose another port with --api-port <port> (--api-port 0 picks a free one)');
    expect(existsSync(dataDir)).toBe(false);
  }, 60_000);

  it('demo --mqtt-port: the same, for the broker port', async () => {
    const dataDir = join(dir, 'mqtt');
    const outcome = await iotcloud(['demo', '--api-port', '0', '--mqtt-port', String(busyPort), '--data-dir', dataDir, '--reports', join(dir, 'reports')]);
    expect(outcome.code).toBe(1);
    expect(outcome.stderr).toContain(`port ${busyPort} (--mqtt-port) is already in use`);
    expect(existsSync(dataDir)).toBe(false);
  }, 60_000);
});
