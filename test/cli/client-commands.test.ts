/**
 * The user journey through the `iotcloud` command itself, off the defaults (own ports, own data
 * folder, own IOTCLOUD_HOME, no IOTCLOUD_SERVER/IOTCLOUD_CA in the environment): signup and login
 * name the server and CA once, and every later command (register, sim, cmd, devices, unregister)
 * finds them without flags. Errors say what to do next.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runIotcloud } from '../../testkit/run-iotcloud.ts';
import { IOTCLOUD_BIN, spawnUp, type UpProcess } from '../../testkit/up-process.ts';
import { loadOrCreateCertificateAuthority } from '../../certs/store.ts';


describe('iotcloud client subcommands, off the default ports', () => {
  let dir: string;
  let up: UpProcess;
  let env: NodeJS.ProcessEnv;
  let sim: ChildProcess | undefined;

  const iotcloud = (...args: string[]) => runIotcloud(args, { env, cwd: dir });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'iotcloud-cli-'));
    up = await spawnUp(['--api-port', '0', '--mqtt-port', '0', '--data-dir', join(dir, 'server')]);
    env = { ...process.env, IOTCLOUD_HOME: join(dir, 'home') };
    for (const name of ['IOTCLOUD_SERVER', 'IOTCLOUD_CA', 'IOTCLOUD_TOKEN', 'IOTCLOUD_MQTT_URL', 'IOTCLOUD_PASSWORD']) delete env[name];
  }, 120_000);
  afterAll(async () => {
    sim?.kill('SIGINT');
    await up?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('names the server and CA once at login; register, sim, cmd, devices and unregister need no flags', async () => {
    const where = ['--server', up.apiUrl, '--ca', up.caCertPath];
    expect((await iotcloud('signup', 'ada', '--password', 'correct horse battery', ...where)).stdout).toMatch(/signed up ada .*next: iotcloud login ada/);
    const login = await iotcloud('login', 'ada', '--password', 'correct horse battery', ...where);
    expect(login.stdout).toContain(`logged in to ${up.apiUrl} as ada`);
    expect((await stat(join(dir, 'home', 'session.json'))).mode & 0o777).toBe(0o600);

    const registered = await iotcloud('register', 'board one', '--device-id', 'ft900device1', '--out', 'certs');
    expect(registered.code, registered.stderr).toBe(0);
    expect(registered.stdout).toContain(`registered board one as ft900device1; it connects to ${up.mqttUrl}`);
    expect(registered.stdout).toContain('iotcloud sim --device ft900device1 --dir certs');
    expect((await stat(join(dir, 'certs', 'ft900device1_pkey.pem'))).mode & 0o777).toBe(0o600);
    expect(await readFile(join(dir, 'certs', 'rootca.pem'), 'utf8')).toBe(up.rootCaPem);

    // The hint, as printed: no --url, the broker URL from the registration is remembered.
    sim = spawn(process.execPath, [IOTCLOUD_BIN, 'sim', '--device', 'ft900device1', '--dir', 'certs'], { env, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      sim!.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
      sim!.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('simulated device running')) resolve();
      });
      sim!.once('exit', (code) => reject(new Error(`iotcloud sim exited with ${code}: ${out}`)));
    });

    expect((await iotcloud('cmd', 'ft900device1', 'set_gpio', '{"number":7,"value":1}')).stdout).toMatch(/^set_gpio -> \{"number":7,"value":1\} {2}\([\d.]+ ms\)$/m);
    const get = await iotcloud('cmd', 'ft900device1', 'get_gpio', '{"number":7}', '--json');
    expect(JSON.parse(get.stdout).result).toEqual({ number: 7, value: 1 });

    const table = (await iotcloud('devices')).stdout;
    expect(table).toMatch(/^NAME\s+DEVICE ID\s+STATE\s+LAST SEEN\s+CERT SHA-256$/m);
    expect(table).toMatch(/^board one\s+ft900device1\s+online\s+now\s+[0-9a-f]{16}$/m);
    expect(table).toContain('1 device(s), 1 online');
    const devices = JSON.parse((await iotcloud('devices', '--json')).stdout) as { deviceId: string; online: boolean }[];
    expect(devices).toMatchObject([{ deviceId: 'ft900device1', online: true }]);

    expect((await iotcloud('unregister', 'ft900device1')).stdout).toContain('unregistered ft900device1');
    expect((await iotcloud('devices')).stdout).toContain('no devices yet: register one with `iotcloud register <name>`');
  }, 120_000);

  it('bad input and failures: what happened and the next step; exit 1 (failed) or 2 (called wrongly)', async () => {
    const badJson = await iotcloud('cmd', 'ft900device1', 'set_gpio', '{number:7}');
    expect(badJson.code).toBe(2);
    expect(badJson.stderr).toMatch(/parameters must be JSON/);
    expect((await iotcloud('cmd', 'ft900device1', 'format_flash')).code).toBe(2);

    const wrongPassword = await iotcloud('login', 'ada', '--password', 'wrong');
    expect(wrongPassword.code).toBe(1);
    expect(wrongPassword.stderr).toMatch(/401 UNAUTHORIZED: wrong username or password/);
    const noPassword = await iotcloud('login', 'ada');
    expect(noPassword.code).toBe(2);
    expect(noPassword.stderr).toMatch(/--password or the IOTCLOUD_PASSWORD environment variable/);

    const noSuchDevice = await iotcloud('cmd', 'dev-missing', 'get_status');
    expect(noSuchDevice.code).toBe(1);
    expect(noSuchDevice.stderr).toMatch(/404 NOT_FOUND.*\n\s+next: list your devices with: iotcloud devices/);

    const nothingThere = await iotcloud('devices', '--server', 'https://127.0.0.1:1', '--token', 'iotc_any');
    expect(nothingThere.code).toBe(1);
    expect(nothingThere.stderr).toMatch(/nothing answers at https:\/\/127\.0\.0\.1:1 .*\n\s+next: start the server with `iotcloud up`/);

    const otherCa = await loadOrCreateCertificateAuthority(join(dir, 'other-ca'));
    expect(otherCa.rootCertPem).not.toBe(up.rootCaPem);
    const wrongCa = await iotcloud('devices', '--ca', join(dir, 'other-ca', 'ca.crt'));
    expect(wrongCa.code).toBe(1);
    expect(wrongCa.stderr).toMatch(/does not vouch for .*\n\s+next: pass that server's CA with --ca/);
  }, 120_000);

  it('asks for a missing password on a terminal, without echoing it', async () => {
    // `script` gives the command a real pty; the password is typed into it.
    const child = spawn('script', ['-qec', `${process.execPath} ${IOTCLOUD_BIN} login ada`, '/dev/null'], { env, cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('password for ada: ') && !child.stdin.writableEnded) child.stdin.end('correct horse battery\n');
    });
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(out).toContain(`logged in to ${up.apiUrl} as ada`);
    expect(out).not.toContain('correct horse battery');
    expect(code).toBe(0);
  }, 60_000);
});
