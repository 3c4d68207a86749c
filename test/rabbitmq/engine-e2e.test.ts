/**
 * The server issue's end-to-end flow on the original architecture, driven through the CLI:
 * `iotcloud broker start` (a project-owned RabbitMQ node), two `iotcloud up --engine rabbitmq`
 * servers sharing it and one PostgreSQL database, MQTTS and AMQPS devices, unregistering.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { IOTCLOUD_BIN, spawnUp, type UpProcess } from '../../testkit/up-process.ts';
import { RestClient, type DeviceRegistration } from '../../rest-client/index.ts';
import { startDevice, type SimulatedDevice } from '../../simulators/index.ts';
import { connectAsDevice } from '../helpers/server.ts';
import { FAR_DEADLINE_MS, startWrongDevice, WRONG_MAC_ANSWER } from '../helpers/wrong-device.ts';

const run = promisify(execFile);
const adminUrl = process.env.IOTCLOUD_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const credentialsOf = (r: DeviceRegistration) => ({ caPem: r.rootCa, certPem: r.certificate, keyPem: r.privateKey });

describe('RabbitMQ + PostgreSQL engine, end to end through the CLI', () => {
  let dir: string;
  let database: string;
  let databaseUrl: string;
  let amqpsPort: number;
  const ups: UpProcess[] = [];
  const devices: SimulatedDevice[] = [];
  const clients: RestClient[] = [];

  const iotcloud = (...args: string[]) => run(process.execPath, [IOTCLOUD_BIN, ...args], { cwd: dir, maxBuffer: 8 * 1024 * 1024 });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'iotcloud-rmq-e2e-'));
    database = `iotcloud_e2e_${process.pid}`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect().catch((error: Error) => {
      throw new Error(`PostgreSQL is unreachable at ${adminUrl} (${error.message}): start it or set IOTCLOUD_TEST_DATABASE_URL`);
    });
    await admin.query(`CREATE DATABASE ${database}`);
    await admin.end();
    databaseUrl = adminUrl.replace(/\/[^/]*$/, `/${database}`);

    const [apiPort, apiPort2, mqttsPort, distPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    amqpsPort = await freePort();
    await iotcloud('broker', 'start', '--state-dir', 'rmq', '--data-dir', 'server', '--amqps-port', String(amqpsPort), '--mqtts-port', String(mqttsPort), '--dist-port', String(distPort), '--auth-url', `https://127.0.0.1:${apiPort}/api/v1/broker-auth`);
    const common = ['--engine', 'rabbitmq', '--broker-state-dir', join(dir, 'rmq'), '--database-url', databaseUrl, '--mqtt-port', '0'];
    ups.push(await spawnUp([...common, '--data-dir', join(dir, 'server'), '--api-port', String(apiPort)]));
    ups.push(await spawnUp([...common, '--data-dir', join(dir, 'server'), '--api-port', String(apiPort2)]));
    for (const up of ups) clients.push(new RestClient({ baseUrl: up.apiUrl, caPem: up.rootCaPem }));
    await clients[0]!.signup('rabbit', 'correct horse battery');
    for (const client of clients) await client.login('rabbit', 'correct horse battery');
  }, 180_000);

  afterAll(async () => {
    await Promise.all(devices.map((d) => d.stop()));
    for (const client of clients) client.close();
    for (const up of ups) await up.stop();
    await iotcloud('broker', 'stop', '--state-dir', 'rmq').catch(() => undefined);
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
    await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('each server reaches RabbitMQ over AMQPS with its service certificate', () => {
    for (const up of ups) expect(up.output()).toMatch(/bus\s+RabbitMQ \(amqps:\/\/127\.0\.0\.1:\d+\)/);
  });

  it('devices connect to RabbitMQ over MQTTS, and both servers command them', async () => {
    const registration = await clients[0]!.registerDevice('mqtt board');
    expect(registration.mqttUrl).toBe(ups[0]!.mqttUrl);
    devices.push(await startDevice({ transport: 'mqtt', url: registration.mqttUrl, deviceId: registration.deviceId, credentials: credentialsOf(registration) }));
    expect((await clients[0]!.command(registration.deviceId, 'set_gpio', { number: 18, value: 1 })).result).toEqual({ number: 18, value: 1 });
    expect((await clients[1]!.command(registration.deviceId, 'get_gpio', { number: 18 })).result).toEqual({ number: 18, value: 1 });
    expect((await clients[1]!.command(registration.deviceId, 'write_uart', { data: 'via server two' })).result).toEqual({ data: 'via server two' });
    for (const command of ['get_mac', 'get_ip', 'get_subnet', 'get_gateway', 'get_rtc', 'get_status']) {
      expect((await clients[0]!.command(registration.deviceId, command)).result).toBeDefined();
    }
  });

  it('an AMQP 0-9-1 device logs in with its certificate over AMQPS and answers on server.<id>.<api>', async () => {
    const registration = await clients[1]!.registerDevice('amqp board');
    devices.push(await startDevice({ transport: 'amqp091', url: `amqps://127.0.0.1:${amqpsPort}`, deviceId: registration.deviceId, credentials: credentialsOf(registration) }));
    expect((await clients[0]!.command(registration.deviceId, 'set_rtc', { value: 1_800_000_000 })).result).toEqual({ value: 1_800_000_000 });
    expect((await clients[1]!.command(registration.deviceId, 'get_status')).result).toEqual({ status: 'running' });
  });

  it('a device answering valid JSON that fails the spec gets 502 INVALID_ANSWER at once, quoting the answer', async () => {
    const wrong = await clients[0]!.registerDevice('wrong mac');
    const board = await startWrongDevice(wrong.mqttUrl, wrong);
    try {
      // The deadline is beyond the test's timeout: only an answer settled on arrival passes.
      const answer = await clients[1]!.send('POST', `/api/v1/devices/${wrong.deviceId}/commands/get_mac?timeoutMs=${FAR_DEADLINE_MS}`, {});
      expect(answer.status).toBe(502);
      const error = (answer.json as { error: { name: string; message: string; answer: string } }).error;
      expect(error.name).toBe('INVALID_ANSWER');
      expect(error.answer).toBe(WRONG_MAC_ANSWER);
      expect(error.message).toContain(WRONG_MAC_ANSWER);
    } finally {
      await board.endAsync();
    }
  });

  it('unregistering disconnects the device at RabbitMQ and refuses its next connection', async () => {
    const registration = await clients[0]!.registerDevice('doomed');
    const device = await startDevice({ transport: 'mqtt', url: registration.mqttUrl, deviceId: registration.deviceId, credentials: credentialsOf(registration), reconnect: { initialMs: 60_000 } });
    devices.push(device);
    const gone = new Promise<void>((resolve) => device.once('disconnected', () => resolve()));
    await clients[1]!.unregisterDevice(registration.deviceId);
    await gone;
    await device.stop();
    await expect(connectAsDevice(registration.mqttUrl, registration)).rejects.toThrow();
  });
});
