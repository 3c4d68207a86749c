/**
 * `iotcloud up` in its runtime (cli/process/runtime.ts), started as users start it: under jemalloc, in a
 * second process that must not outlive the first.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jemallocLibrary } from '../../cli/process/runtime.ts';
import { spawnUp, type UpProcess } from '../../testkit/up-process.ts';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('iotcloud up, in its runtime', () => {
  let dataDir: string;
  let up: UpProcess;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'iotcloud-up-runtime-'));
    up = await spawnUp(['--api-port', '0', '--mqtt-port', '0', '--data-dir', dataDir, '--log-level', 'error']);
  });
  afterAll(async () => {
    if (alive(up.serverPid)) process.kill(up.serverPid, 'SIGTERM');
    await up.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('serves from a second process running on jemalloc', () => {
    expect(jemallocLibrary(), 'scripts/setup-system.sh installs libjemalloc2').toBeDefined();
    expect(up.output()).toMatch(new RegExp(`process\\s+pid ${up.serverPid}, jemalloc malloc`));
    expect(up.serverPid).not.toBe(up.child.pid);
  });

  it('shuts the server down when its first process is killed outright', async () => {
    up.child.kill('SIGKILL');
    const deadline = Date.now() + 15_000;
    while (alive(up.serverPid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(alive(up.serverPid)).toBe(false);
  });
});
