/**
 * The original client.py workflow through the `iotcloud` command itself: signup, login, register
 * (writing the certificate files), a simulated device started with `iotcloud sim` from those files,
 * device commands, and unregister.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { IOTCLOUD_BIN, spawnUp, type UpProcess } from '../../testkit/up-process.ts';

const run = promisify(execFile);

describe('iotcloud client subcommands', () => {
  let dir: string;
  let up: UpProcess;
  let env: NodeJS.ProcessEnv;
  let sim: ChildProcess | undefined;

  const iotcloud = async (...args: string[]) => {
    try {
      const { stdout } = await run(process.execPath, [IOTCLOUD_BIN, ...args], { env, cwd: dir });
      return { code: 0, stdout, stderr: '' };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'iotcloud-cli-'));
    up = await spawnUp(['--api-port', '0', '--mqtt-port', '0', '--data-dir', join(dir, 'server')]);
    env = { ...process.env, IOTCLOUD_HOME: join(dir, 'home'), IOTCLOUD_SERVER: up.apiUrl, IOTCLOUD_CA: up.caCertPath };
  });
  afterAll(async () => {
    sim?.kill('SIGINT');
    await up?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('signup, login (token file mode 0600), register (key file mode 0600), sim, cmd, unregister', async () => {
    expect((await iotcloud('signup', 'ada', '--password', 'correct horse battery')).code).toBe(0);
    const login = await iotcloud('login', 'ada', '--password', 'correct horse battery');
    expect(login.stdout).toMatch(/logged in/);
    expect((await stat(join(dir, 'home', 'session.json'))).mode & 0o777).toBe(0o600);

    const registered = await iotcloud('register', 'board one', '--device-id', 'ft900device1', '--out', 'certs');
    expect(registered.code).toBe(0);
    expect(JSON.parse(registered.stdout)).toMatchObject({ deviceId: 'ft900device1', mqttUrl: up.mqttUrl });
    expect((await stat(join(dir, 'certs', 'ft900device1_pkey.pem'))).mode & 0o777).toBe(0o600);
    expect(await readFile(join(dir, 'certs', 'rootca.pem'), 'utf8')).toBe(up.rootCaPem);

    sim = spawn(process.execPath, [IOTCLOUD_BIN, 'sim', '--device', 'ft900device1', '--url', up.mqttUrl, '--dir', join(dir, 'certs')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      sim!.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
      sim!.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('simulated device running')) resolve();
      });
      sim!.once('exit', (code) => reject(new Error(`iotcloud sim exited with ${code}: ${out}`)));
    });

    const set = await iotcloud('cmd', 'ft900device1', 'set_gpio', '{"number":7,"value":1}');
    expect(JSON.parse(set.stdout).result).toEqual({ number: 7, value: 1 });
    const get = await iotcloud('cmd', 'ft900device1', 'get_gpio', '{"number":7}');
    expect(JSON.parse(get.stdout).result).toEqual({ number: 7, value: 1 });

    const devices = JSON.parse((await iotcloud('devices')).stdout) as { deviceId: string; online: boolean }[];
    expect(devices).toMatchObject([{ deviceId: 'ft900device1', online: true }]);

    expect((await iotcloud('unregister', 'ft900device1')).code).toBe(0);
    expect(JSON.parse((await iotcloud('devices')).stdout)).toEqual([]);
  });

  it('bad input: clear messages and exit codes 1 (failed) and 2 (called wrongly)', async () => {
    const badJson = await iotcloud('cmd', 'ft900device1', 'set_gpio', '{number:7}');
    expect(badJson.code).toBe(2);
    expect(badJson.stderr).toMatch(/parameters must be JSON/);
    const unknownCommand = await iotcloud('cmd', 'ft900device1', 'format_flash');
    expect(unknownCommand.code).toBe(2);
    const wrongPassword = await iotcloud('login', 'ada', '--password', 'wrong password');
    expect(wrongPassword.code).toBe(1);
    expect(wrongPassword.stderr).toMatch(/401 UNAUTHORIZED: wrong username or password/);
    const noSuchDevice = await iotcloud('cmd', 'dev-missing', 'get_status');
    expect(noSuchDevice.code).toBe(1);
    expect(noSuchDevice.stderr).toMatch(/404 NOT_FOUND/);
  });
});
