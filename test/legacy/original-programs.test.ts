/**
 * Issue 19: a team moving from libpyiotcloud runs its client application and its devices against
 * `iotcloud up`, unchanged. The programs in programs/ were written only from the original
 * project's description (the seed README; the seed holds no program source): a client on
 * Python's http.client sending JSON bodies on GET and POST, and paho devices over TLS 1.2 with
 * username guest/guest, MQTT 3.1 (MQIsdp) and 3.1.1, answering without correlation ids and
 * restarting on set_status. They are run as they are, configured only by their own arguments.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { spawnUp, type UpProcess } from '../../testkit/up-process.ts';

const run = promisify(execFile);
const python = '/usr/bin/python3';
const programs = fileURLToPath(new URL('./programs/', import.meta.url));

type Answer = { http: number; answer: Record<string, unknown> & { status: string } };

/** A device program's output, line by line, with a way to wait for a line. */
class DeviceProcess {
  private lines: string[] = [];
  private waiters: { match: RegExp; after: number; resolve: () => void }[] = [];
  readonly child: ChildProcess;

  constructor(args: string[]) {
    this.child = spawn(python, [join(programs, 'original_device.py'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let partial = '';
    const take = (chunk: Buffer) => {
      partial += chunk.toString('utf8');
      const parts = partial.split('\n');
      partial = parts.pop()!;
      for (const line of parts) this.lines.push(line);
      this.waiters = this.waiters.filter((waiter) => {
        if (!this.lines.slice(waiter.after).some((line) => waiter.match.test(line))) return true;
        waiter.resolve();
        return false;
      });
    };
    this.child.stdout!.on('data', take);
    this.child.stderr!.on('data', take);
  }

  /** Lines so far: pass to `next` to wait for a line printed after now. */
  mark(): number {
    return this.lines.length;
  }

  next(match: RegExp, after: number): Promise<void> {
    if (this.lines.slice(after).some((line) => match.test(line))) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ match, after, resolve }));
  }

  output(): string {
    return this.lines.join('\n');
  }

  stop(): void {
    this.child.kill('SIGKILL');
  }
}

describe('the original libpyiotcloud client and devices against iotcloud up (embedded engine)', () => {
  let dir: string;
  let up: UpProcess;
  let api: URL;
  let mqtt: URL;
  let secret: string;
  const devices: DeviceProcess[] = [];

  const client = async (apiName: string, params: Record<string, unknown> = {}, out?: string): Promise<Answer> => {
    const args = [join(programs, 'original_client.py'), '--host', api.hostname, '--port', api.port, '--ca', up.caCertPath, ...(out ? ['--out', out] : []), apiName, JSON.stringify(params)];
    const { stdout } = await run(python, args, { cwd: dir });
    return JSON.parse(stdout) as Answer;
  };
  const as = () => ({ username: 'richmond', secret });

  const startDevice = async (deviceid: string, certs: string, version: '3.1' | '3.1.1') => {
    const device = new DeviceProcess(['--host', mqtt.hostname, '--port', mqtt.port, '--deviceid', deviceid, '--ca', join(certs, 'rootca.pem'), '--cert', join(certs, `${deviceid}_cert.pem`), '--key', join(certs, `${deviceid}_pkey.pem`), '--mqtt', version]);
    devices.push(device);
    await device.next(/^connected$/, 0);
    return device;
  };

  beforeAll(async () => {
    const python3 = spawnSync(python, ['-c', 'import paho.mqtt.client'], { encoding: 'utf8' });
    if (python3.status !== 0) throw new Error(`${python} with paho-mqtt is needed: install the Debian package python3-paho-mqtt (bash scripts/setup-system.sh)`);
    dir = await mkdtemp(join(tmpdir(), 'iotcloud-legacy-'));
    up = await spawnUp(['--api-port', '0', '--mqtt-port', '0', '--data-dir', join(dir, 'server')], { timeoutMs: 90_000 });
    api = new URL(up.apiUrl);
    mqtt = new URL(up.mqttUrl);
  }, 120_000);

  afterAll(async () => {
    for (const device of devices) device.stop();
    await up?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('signup and login answer in the original shape; login answers the secret', async () => {
    expect(await client('signup', { username: 'richmond', password: 'correct horse battery' })).toEqual({ http: 200, answer: { status: 'OK', message: 'Signup successful' } });
    const taken = await client('signup', { username: 'richmond', password: 'correct horse battery' });
    expect(taken.answer.status).toMatch(/^NG, username "richmond" is taken/);
    const login = await client('login', { username: 'richmond', password: 'correct horse battery' });
    expect(login.http).toBe(200);
    expect(login.answer.status).toBe('OK');
    secret = login.answer.secret as string;
    expect(secret).toMatch(/^iotc_/);
  });

  it('register_device answers deviceid, ca, cert and pkey; MQTT 3.1 and 3.1.1 devices connect with them and guest/guest', async () => {
    const one = await client('register_device', { ...as(), devicename: 'ft900device1' }, join(dir, 'certs'));
    expect(one.answer).toMatchObject({ status: 'OK', deviceid: expect.any(String), ca: up.rootCaPem });
    expect(one.answer.cert).toMatch(/BEGIN CERTIFICATE/);
    expect(one.answer.pkey).toMatch(/PRIVATE KEY/);
    const two = await client('register_device', { ...as(), devicename: 'ft900device2' }, join(dir, 'certs'));
    const again = await client('register_device', { ...as(), devicename: 'ft900device1' });
    expect(again.answer.status).toMatch(/^NG, you already have a device named "ft900device1"/);
    await startDevice(one.answer.deviceid as string, join(dir, 'certs'), '3.1');
    await startDevice(two.answer.deviceid as string, join(dir, 'certs'), '3.1.1');

    const list = await client('get_device_list', as());
    expect(list.answer.status).toBe('OK');
    const listed = list.answer.devices as Record<string, unknown>[];
    expect(listed.map((device) => device.devicename)).toEqual(['ft900device1', 'ft900device2']);
    for (const device of listed) {
      expect(device).toMatchObject({ ca: up.rootCaPem, cert: expect.stringMatching(/BEGIN CERTIFICATE/), online: true });
      expect(device).not.toHaveProperty('pkey'); // returned once, at registration
    }
  });

  it.each(['ft900device1', 'ft900device2'])('every device route reaches %s and answers the device\'s JSON', async (devicename) => {
    const call = (route: string, params: Record<string, unknown> = {}) => client(route, { ...as(), devicename, ...params }).then((a) => a.answer);
    expect(await call('set_gpio', { number: 18, value: 1 })).toEqual({ status: 'OK', number: 18, value: 1 });
    expect(await call('get_gpio', { number: 18 })).toEqual({ status: 'OK', number: 18, value: 1 });
    expect(await call('set_rtc', { value: 1_800_000_000 })).toEqual({ status: 'OK', value: 1_800_000_000 });
    expect((await call('get_rtc')).value).toBeGreaterThanOrEqual(1_800_000_000);
    expect(await call('get_mac')).toEqual({ status: 'OK', value: '00:0a:35:00:01:22' });
    expect(await call('get_ip')).toEqual({ status: 'OK', value: '192.168.100.12' });
    expect(await call('get_subnet')).toEqual({ status: 'OK', value: '255.255.255.0' });
    expect(await call('get_gateway')).toEqual({ status: 'OK', value: '192.168.100.1' });
    expect(await call('get_status')).toEqual({ status: 'running' });
    expect(await call('write_uart', { data: 'hello from the original client' })).toEqual({ status: 'OK', data: 'hello from the original client' });
    expect((await call('set_mac', { value: '00:0a:35:00:01:23' })).status).toMatch(/^NG, set_mac is not supported/);
    expect((await call('set_gpio', { number: 99, value: 1 })).status).toMatch(/^NG, set_gpio: .*\/number/);
  });

  it('set_status and reset_device restart the original device: answered "restarting", back with power-on state', async () => {
    const device = devices[0]!;
    const call = (route: string, params: Record<string, unknown> = {}) => client(route, { ...as(), devicename: 'ft900device1', ...params }).then((a) => a.answer);
    for (const [route, params] of [['set_status', { status: 'restart' }], ['reset_device', {}]] as const) {
      expect(await call('set_gpio', { number: 5, value: 1 })).toEqual({ status: 'OK', number: 5, value: 1 });
      const mark = device.mark();
      expect(await call(route, params)).toEqual({ status: 'restarting' });
      await device.next(/^restarting$/, mark);
      await device.next(/^connected$/, mark);
      expect(await call('get_gpio', { number: 5 })).toEqual({ status: 'OK', number: 5, value: 0 });
    }
  });

  it('a wrong secret or another user\'s secret is refused in the original shape', async () => {
    expect((await client('get_device_list', { username: 'richmond', secret: 'iotc_not-a-secret' })).answer.status).toMatch(/^NG, secret is unknown, expired/);
    await client('signup', { username: 'mallory', password: 'correct horse battery' });
    const mallory = (await client('login', { username: 'mallory', password: 'correct horse battery' })).answer.secret as string;
    expect((await client('get_gpio', { username: 'richmond', secret: mallory, devicename: 'ft900device1', number: 5 })).answer.status).toMatch(/^NG, secret is unknown/);
    expect((await client('get_gpio', { username: 'mallory', secret: mallory, devicename: 'ft900device1', number: 5 })).answer.status).toMatch(/^NG, you have no device named "ft900device1"/);
  });

  it('unregister_device disconnects the device and frees its name', async () => {
    const device = devices[1]!;
    const mark = device.mark();
    expect((await client('unregister_device', { ...as(), devicename: 'ft900device2' })).answer).toEqual({ status: 'OK', message: 'Device unregistered successfully' });
    await new Promise<void>((resolve) => (device.child.exitCode === null ? device.next(/./, mark).then(resolve) : resolve()));
    const list = await client('get_device_list', as());
    expect((list.answer.devices as { devicename: string }[]).map((d) => d.devicename)).toEqual(['ft900device1']);
    expect((await client('get_status', { ...as(), devicename: 'ft900device2' })).answer.status).toMatch(/^NG, you have no device named/);
  });
});
