/**
 * The whole flow as a user drives it: `iotcloud up` as a child process on random ports, sign up,
 * log in, register, connect a simulated device with the returned certificate, run every command
 * through the REST API, unregister, restart the server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAR_DEADLINE_MS, startWrongDevice, WRONG_MAC_ANSWER } from '../helpers/wrong-device.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnUp, type UpProcess } from '../../testkit/up-process.ts';
import { RestClient, type DeviceRegistration } from '../../rest-client/index.ts';
import { startDevice, type SimulatedDevice } from '../../simulators/index.ts';
import { connectAsDevice } from '../helpers/server.ts';

const upArgs = (dataDir: string) => ['--api-port', '0', '--mqtt-port', '0', '--data-dir', dataDir];

describe('iotcloud up, end to end', () => {
  let dataDir: string;
  let up: UpProcess;
  let client: RestClient;
  let registration: DeviceRegistration;
  let device: SimulatedDevice;

  const deviceFrom = (r: DeviceRegistration, url: string) =>
    startDevice({ transport: 'mqtt', url, deviceId: r.deviceId, credentials: { caPem: r.rootCa, certPem: r.certificate, keyPem: r.privateKey } });

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'iotcloud-e2e-'));
    up = await spawnUp(upArgs(dataDir));
    client = new RestClient({ baseUrl: up.apiUrl, caPem: up.rootCaPem });
    await client.signup('firmware-dev', 'correct horse battery');
    await client.login('firmware-dev', 'correct horse battery');
    registration = await client.registerDevice('bench board');
    device = await deviceFrom(registration, up.mqttUrl);
  });

  afterAll(async () => {
    await device?.stop();
    client?.close();
    await up?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('registration returns a device id, the root CA, a certificate and a key for MQTTS', () => {
    expect(registration.deviceId).toMatch(/^dev-[0-9a-f]{16}$/);
    expect(registration.rootCa).toContain('BEGIN CERTIFICATE');
    expect(registration.certificate).toContain('BEGIN CERTIFICATE');
    expect(registration.privateKey).toContain('PRIVATE KEY');
    expect(registration.mqttUrl).toBe(up.mqttUrl);
  });

  it('lists the device as online once it is connected', async () => {
    const { devices } = await client.listDevices();
    expect(devices).toMatchObject([{ deviceId: registration.deviceId, name: 'bench board', online: true }]);
  });

  it('runs every read command and gets answers of the right shape', async () => {
    const id = registration.deviceId;
    expect((await client.command(id, 'get_status')).result).toEqual({ status: 'running' });
    expect((await client.command(id, 'get_mac')).result.value).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    expect((await client.command(id, 'get_mac')).result.value).toBe((await client.command(id, 'get_mac')).result.value);
    for (const command of ['get_ip', 'get_subnet', 'get_gateway']) {
      expect((await client.command(id, command)).result.value).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    }
  });

  it('set_gpio then get_gpio reads back what was set', async () => {
    const id = registration.deviceId;
    expect((await client.command(id, 'set_gpio', { number: 18, value: 1 })).result).toEqual({ number: 18, value: 1 });
    expect((await client.command(id, 'get_gpio', { number: 18 })).result).toEqual({ number: 18, value: 1 });
    await client.command(id, 'set_gpio', { number: 18, value: 0 });
    expect((await client.command(id, 'get_gpio', { number: 18 })).result).toEqual({ number: 18, value: 0 });
  });

  it('set_rtc then get_rtc returns the value set (or a moment later)', async () => {
    const id = registration.deviceId;
    const value = 1_800_000_000;
    expect((await client.command(id, 'set_rtc', { value })).result).toEqual({ value });
    const read = (await client.command(id, 'get_rtc')).result.value as number;
    expect(read).toBeGreaterThanOrEqual(value);
    expect(read).toBeLessThan(value + 5);
  });

  it('write_uart reaches the board UART', async () => {
    const answer = await client.command(registration.deviceId, 'write_uart', { data: 'hello ft900\r\n' });
    expect(answer.result).toEqual({ data: 'hello ft900\r\n' });
    expect(device.board.uartOutput()).toContain('hello ft900\r\n');
  });

  it('reset_device answers restarting, and the device comes back with power-on state', async () => {
    const id = registration.deviceId;
    await client.command(id, 'set_gpio', { number: 5, value: 1 });
    const back = new Promise<void>((resolve) => device.once('connected', () => resolve()));
    expect((await client.command(id, 'reset_device')).result).toEqual({ status: 'restarting' });
    await back;
    expect((await client.command(id, 'get_gpio', { number: 5 })).result).toEqual({ number: 5, value: 0 });
  });

  it('answers 504 with a hint when a device asked to be waited for stays silent', async () => {
    const silent = await client.registerDevice('never connected');
    const answer = await client.send('POST', `/api/v1/devices/${silent.deviceId}/commands/get_status?timeoutMs=150&wait=true`, {});
    expect(answer.status).toBe(504);
  });

  it('answers 502 INVALID_ANSWER at once, quoting the answer, when the device answers valid JSON that fails the spec', async () => {
    const wrong = await client.registerDevice('wrong mac');
    const board = await startWrongDevice(up.mqttUrl, wrong);
    try {
      // The deadline is beyond the test's timeout: only an answer settled on arrival passes.
      const answer = await client.send('POST', `/api/v1/devices/${wrong.deviceId}/commands/get_mac?timeoutMs=${FAR_DEADLINE_MS}`, {});
      expect(answer.status).toBe(502);
      const error = (answer.json as { error: { name: string; message: string; answer: string } }).error;
      expect(error.name).toBe('INVALID_ANSWER');
      expect(error.answer).toBe(WRONG_MAC_ANSWER);
      expect(error.message).toContain(WRONG_MAC_ANSWER);
      expect(error.message).toMatch(/\/value/);
    } finally {
      await board.endAsync();
      await client.unregisterDevice(wrong.deviceId); // the later cases list this user's devices
    }
  });

  it('keeps users and devices across a restart, and the device reconnects with its certificate', async () => {
    await device.stop();
    expect(await up.stop('SIGINT')).toBe(0);
    up = await spawnUp(upArgs(dataDir));
    client.close();
    client = new RestClient({ baseUrl: up.apiUrl, caPem: up.rootCaPem });
    await client.login('firmware-dev', 'correct horse battery');
    const names = (await client.listDevices()).devices.map((d) => d.name);
    expect(names).toEqual(['bench board', 'never connected']);
    device = await deviceFrom(registration, up.mqttUrl);
    expect((await client.command(registration.deviceId, 'get_status')).result).toEqual({ status: 'running' });
  });

  it('unregistering disconnects the device and refuses its next connection', async () => {
    const disconnected = new Promise<void>((resolve) => device.once('disconnected', () => resolve()));
    await client.unregisterDevice(registration.deviceId);
    await disconnected;
    await device.stop();
    await expect(connectAsDevice(up.mqttUrl, registration)).rejects.toThrow(/Not authorized|refused/i);
    expect((await client.send('POST', `/api/v1/devices/${registration.deviceId}/commands/get_status`, {})).status).toBe(404);
  });
});
