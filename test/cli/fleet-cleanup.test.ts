/**
 * Fleets that leave nothing behind, through the real `iotcloud` command: `fleet --cleanup`
 * unregisters what it registered when it ends by itself or on SIGINT, `unregister --prefix`
 * counts and then removes what earlier runs left, and the bulk unregister endpoint refuses a
 * batch holding another user's device (unregistering none of it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RestClient, RestError, type DeviceSummary } from '../../rest-client/index.ts';
import { runIotcloud } from '../../testkit/run-iotcloud.ts';
import { IOTCLOUD_BIN, spawnUp, type UpProcess } from '../../testkit/up-process.ts';

const PASSWORD = 'correct horse battery';

describe('iotcloud fleet --cleanup and unregister --prefix', () => {
  let dir: string;
  let up: UpProcess;
  const envOf = (user: string): NodeJS.ProcessEnv => {
    const env: NodeJS.ProcessEnv = { ...process.env, IOTCLOUD_HOME: join(dir, `home-${user}`) };
    for (const name of ['IOTCLOUD_SERVER', 'IOTCLOUD_CA', 'IOTCLOUD_TOKEN', 'IOTCLOUD_MQTT_URL', 'IOTCLOUD_PASSWORD']) delete env[name];
    return env;
  };

  const iotcloud = (user: string, ...args: string[]) => runIotcloud(args, { env: envOf(user), cwd: dir });
  const devicesOf = async (user: string): Promise<DeviceSummary[]> => {
    const listed = await iotcloud(user, 'devices', '--json');
    expect(listed.code, listed.stderr).toBe(0);
    return JSON.parse(listed.stdout) as DeviceSummary[];
  };
  const namesOf = async (user: string) => (await devicesOf(user)).map((device) => device.name).sort();
  const jsonLines = (text: string) => text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'iotcloud-fleet-cleanup-'));
    up = await spawnUp(['--api-port', '0', '--mqtt-port', '0', '--data-dir', join(dir, 'server')]);
    for (const user of ['ada', 'eve']) {
      const where = ['--server', up.apiUrl, '--ca', up.caCertPath];
      expect((await iotcloud(user, 'signup', user, '--password', PASSWORD, ...where)).code).toBe(0);
      expect((await iotcloud(user, 'login', user, '--password', PASSWORD, ...where)).code).toBe(0);
    }
  }, 120_000);
  afterAll(async () => {
    await up?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('--cleanup leaves no devices when the run ends by itself; --json maps each device to its profile as it joins', async () => {
    const fleet = await iotcloud('ada', 'fleet', '--devices', '5', '--prefix', 'gone', '--profile', '40%:delay=1-5', '--duration', '2', '--cleanup', '--json');
    expect(fleet.code, fleet.stderr).toBe(0);
    const lines = jsonLines(fleet.stdout);
    const joined = lines.filter((line) => line.type === 'device');
    expect(joined.map((line) => line.name)).toEqual(['gone-0', 'gone-1', 'gone-2', 'gone-3', 'gone-4']);
    expect(joined.filter((line) => line.profile === '40%:delay=1-5')).toHaveLength(2);
    expect(joined.filter((line) => line.profile === 'default')).toHaveLength(3);
    expect(lines.filter((line) => line.type === 'cleanup')).toEqual([{ type: 'cleanup', done: 5, total: 5 }]);
    expect(lines.at(-1)).toMatchObject({ type: 'summary', reason: 'duration', cleanup: { unregistered: 5, notFound: 0, left: 0 } });
    expect(await namesOf('ada')).toEqual([]);
  }, 120_000);

  it('--cleanup leaves no devices when the run is stopped with SIGINT', async () => {
    const child = spawn(process.execPath, [IOTCLOUD_BIN, 'fleet', '--devices', '4', '--prefix', 'sig', '--cleanup', '--json', '--json-interval', '0.2'], {
      env: envOf('ada'),
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      // Wait (on the output, not a clock) until every device is connected, then interrupt.
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
          if (jsonLines(stdout.slice(0, stdout.lastIndexOf('\n') + 1)).some((line) => line.type === 'progress' && line.connected === 4)) resolve();
        });
        void exited.then((code) => reject(new Error(`iotcloud fleet exited with ${code} before its devices connected: ${stderr}`)));
      });
      expect(await namesOf('ada')).toEqual(['sig-0', 'sig-1', 'sig-2', 'sig-3']);
      child.kill('SIGINT');
      expect(await exited, stderr).toBe(0);
      expect(jsonLines(stdout).at(-1)).toMatchObject({ type: 'summary', reason: 'signal', cleanup: { unregistered: 4, left: 0 } });
      expect(await namesOf('ada')).toEqual([]);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 120_000);

  it('unregister --prefix counts what an earlier run left, removes it only with --yes, and only the caller\'s own', async () => {
    const left = await iotcloud('ada', 'fleet', '--devices', '3', '--prefix', 'old', '--duration', '1', '--json');
    expect(left.code, left.stderr).toBe(0);
    expect(await namesOf('ada')).toEqual(['old-0', 'old-1', 'old-2']);

    // Another user sees none of them, and cannot remove them by prefix or by id.
    const byPrefix = await iotcloud('eve', 'unregister', '--prefix', 'old', '--yes', '--json');
    expect(JSON.parse(byPrefix.stdout)).toEqual({ unregistered: [], notFound: [] });
    const adaId = (await devicesOf('ada'))[0]!.deviceId;
    const byId = await iotcloud('eve', 'unregister', adaId);
    expect(byId.code).not.toBe(0);
    expect(byId.stderr).toContain('belongs to another user');
    expect(await namesOf('ada')).toEqual(['old-0', 'old-1', 'old-2']);

    const counted = await iotcloud('ada', 'unregister', '--prefix', 'old');
    expect(counted.code, counted.stderr).toBe(0);
    expect(counted.stdout).toContain('3 of your devices are named old-<n>');
    expect(counted.stdout).toContain('nothing was unregistered: add --yes');
    expect(await namesOf('ada')).toEqual(['old-0', 'old-1', 'old-2']);

    const removed = await iotcloud('ada', 'unregister', '--prefix', 'old', '--yes');
    expect(removed.code, removed.stderr).toBe(0);
    expect(await namesOf('ada')).toEqual([]);
  }, 120_000);

  it('POST /api/v1/devices/unregister: a batch holding another user\'s device is refused whole (403)', async () => {
    const ca = await readFile(up.caCertPath, 'utf8');
    const client = () => new RestClient({ baseUrl: up.apiUrl, caPem: ca });
    const ada = client();
    const eve = client();
    try {
      await ada.login('ada', PASSWORD);
      await eve.login('eve', PASSWORD);
      const adas = await ada.registerDevice('ada board');
      const eves = await eve.registerDevice('eve board');
      const refused = await eve.unregisterDeviceBatch([eves.deviceId, adas.deviceId]).then(() => undefined, (error: unknown) => error);
      expect(refused).toBeInstanceOf(RestError);
      expect((refused as RestError).status).toBe(403);
      expect((await eve.listDevices()).devices.map((device) => device.deviceId)).toEqual([eves.deviceId]);
      expect((await ada.listDevices()).devices.map((device) => device.deviceId)).toEqual([adas.deviceId]);

      expect(await eve.unregisterDeviceBatch([eves.deviceId, 'dev-unknown'])).toEqual({ unregistered: [eves.deviceId], notFound: ['dev-unknown'] });
      const tooMany = await eve.send('POST', '/api/v1/devices/unregister', { deviceIds: Array.from({ length: 201 }, (_, index) => `dev-${index}`) });
      expect(tooMany.status).toBe(400);
      await ada.unregisterDeviceBatch([adas.deviceId]);
    } finally {
      ada.close();
      eve.close();
    }
  }, 60_000);
});
