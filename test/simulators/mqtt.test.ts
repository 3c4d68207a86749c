/**
 * A simulated device over MQTTS against a real aedes broker with mutual TLS, the way the
 * embedded engine runs it: certificates from the project CA, CN = client id, per-device ACL.
 * The test plays the server with a second MQTT.js client.
 */
import { EventEmitter, once } from 'node:events';
import { connectAsync, type MqttClient } from 'mqtt';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEphemeralCertificateAuthority, type CertificateAuthority, type IssuedCertificate } from '../../certs/index.ts';
import { errorCodes, serverSubscription } from '../../firmware-protocol/index.ts';
import { runSingleDevice } from '../../simulators/single.ts';
import { startDevice, type SimulatedDevice } from '../../simulators/device.ts';
import type { Credentials } from '../../device-link/index.ts';
import { startTestBroker, type TestBroker } from './aedes-broker.ts';
import { AnswerInbox, decoded, nextCid, uniqueDeviceId } from './helpers.ts';

const deviceId = uniqueDeviceId('sim-mqtt');
const serverId = uniqueDeviceId('sim-mqtt-server');

let ca: CertificateAuthority;
let serverCert: IssuedCertificate;
let broker: TestBroker;
let url: string;
let credentials: Credentials;
let device: SimulatedDevice;
let server: MqttClient;
const inbox = new AnswerInbox('mqtt');

async function deviceCredentials(id: string): Promise<Credentials> {
  const cert = await ca.issueDeviceCertificate(id);
  return { caPem: ca.rootCertPem, certPem: cert.certPem, keyPem: cert.keyPem };
}

beforeAll(async () => {
  ca = await createEphemeralCertificateAuthority();
  let serverClientCert: IssuedCertificate;
  [serverCert, serverClientCert, credentials] = await Promise.all([
    ca.issueServerCertificate(['127.0.0.1', 'localhost']),
    ca.issueDeviceCertificate(serverId),
    deviceCredentials(deviceId),
  ]);
  broker = await startTestBroker({ clientTrustPem: ca.clientTrustPem, serverCert, serverId });
  url = broker.url;

  server = await connectAsync(url, {
    clientId: serverId,
    ca: ca.rootCertPem,
    cert: serverClientCert.certPem,
    key: serverClientCert.keyPem,
    reconnectPeriod: 0,
  });
  (server.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
  server.on('message', (topic, payload) => inbox.push(topic, payload));
  await server.subscribeAsync(serverSubscription(), { qos: 1 });

  device = await startDevice({ transport: 'mqtt', url, credentials, deviceId, bootMs: 20, reconnect: { initialMs: 20, maxMs: 200 } });
});

afterAll(async () => {
  await device?.stop();
  await server?.endAsync();
  await broker?.stop();
});

/** Publish a request as the server does and wait for the answer carrying its cid. */
async function command(name: string, params: object = {}, target = deviceId) {
  const cid = nextCid();
  const answer = inbox.byCid(cid);
  await server.publishAsync(`${target}/${name}`, JSON.stringify({ cid, ...params }), { qos: 1 });
  const received = await answer;
  expect(received.topic).toBe(`server/${target}/${name}`);
  return decoded(received);
}

async function result(name: string, params: object = {}) {
  const response = await command(name, params);
  if (!response.ok) throw new Error(`${name} failed: ${JSON.stringify(response.error)}`);
  return response.result;
}

describe('simulated device over MQTTS (aedes, mutual TLS)', () => {
  it('answers every command, with state kept across commands', async () => {
    expect(await result('get_status')).toEqual({ status: 'running' });
    expect(await result('get_gpio', { number: 18 })).toEqual({ number: 18, value: 0 });
    expect(await result('set_gpio', { number: 18, value: 1 })).toEqual({ number: 18, value: 1 });
    expect(await result('get_gpio', { number: 18 })).toEqual({ number: 18, value: 1 });
    expect(await result('set_rtc', { value: 1_764_144_000 })).toEqual({ value: 1_764_144_000 });
    const rtc = (await result('get_rtc')) as { value: number };
    expect(rtc.value - 1_764_144_000).toBeGreaterThanOrEqual(0);
    expect(rtc.value - 1_764_144_000).toBeLessThan(5);
    expect(await result('get_mac')).toEqual({ value: device.board.mac });
    expect(await result('get_ip')).toEqual({ value: device.board.networkConfig().ip });
    expect(await result('get_subnet')).toEqual({ value: '255.255.255.0' });
    expect(await result('get_gateway')).toEqual({ value: '192.168.1.1' });
    expect(await result('write_uart', { data: 'hello ft900' })).toEqual({ data: 'hello ft900' });
    expect(device.board.uartOutput()).toContain('hello ft900');
  });

  it('answers bad requests with protocol errors', async () => {
    expect(await command('set_gpio', { number: 99, value: 1 })).toMatchObject({ ok: false, error: { code: errorCodes.INVALID_PARAMS, field: '/number' } });
    expect(await command('fly')).toMatchObject({ ok: false, error: { code: errorCodes.UNKNOWN_COMMAND } });

    // Bad JSON: no cid can be read, so the error comes back without one on the command's topic.
    const answer = inbox.next((a) => a.topic === `server/${deviceId}/get_gpio` && a.body?.cid === undefined);
    await server.publishAsync(`${deviceId}/get_gpio`, '{"cid":"zz","number":', { qos: 1 });
    expect(decoded(await answer)).toMatchObject({ ok: false, error: { code: errorCodes.MALFORMED } });
  });

  it('resets: answers restarting, drops the connection, comes back with power-on state', async () => {
    await result('set_gpio', { number: 9, value: 1 });
    await result('write_uart', { data: 'before reset' });
    const reset = once(device, 'reset');
    const back = once(device, 'connected');
    const reconnectsBefore = device.counters.reconnects;
    expect(await result('reset_device')).toEqual({ status: 'restarting' });
    await reset;
    await back;
    expect(device.counters.reconnects).toBe(reconnectsBefore + 1);
    expect(await result('get_status')).toEqual({ status: 'running' });
    expect(await result('get_gpio', { number: 9 })).toEqual({ number: 9, value: 0 });
    expect(device.board.uartOutput()).toBe('');
  });

  it('comes back after a network fault, reconnecting on its own', async () => {
    const down = once(device, 'disconnected');
    const back = once(device, 'connected');
    device.dropConnection();
    await down;
    await back;
    expect(await result('get_status')).toEqual({ status: 'running' });
  });

  it('behaves as its profile says: a legacy device answers without the cid', async () => {
    const legacyId = uniqueDeviceId('sim-mqtt-legacy');
    const legacy = await startDevice({ transport: 'mqtt', url, deviceId: legacyId, profile: 'legacy,delay=5', credentials: await deviceCredentials(legacyId) });
    try {
      const answer = inbox.next((a) => a.topic === `server/${legacyId}/get_status`);
      await server.publishAsync(`${legacyId}/get_status`, JSON.stringify({ cid: nextCid() }), { qos: 1 });
      expect(decoded(await answer)).toEqual({ deviceId: legacyId, command: 'get_status', ok: true, result: { status: 'running' } });
    } finally {
      await legacy.stop();
    }
  });

  it('is refused with another device\'s certificate, and never connects in plain text unless asked', async () => {
    await expect(startDevice({ transport: 'mqtt', url, credentials, deviceId: uniqueDeviceId('sim-mqtt-impostor') })).rejects.toThrow(/not authorized|Not authorized/i);
    await expect(startDevice({ transport: 'mqtt', url: 'mqtt://127.0.0.1:1', deviceId })).rejects.toThrow(/allowPlaintext/);
    await expect(startDevice({ transport: 'mqtt', url, deviceId })).rejects.toThrow(/credentials/);
  });

  it('runs in single-device mode, logging each request and answer, until stopped', async () => {
    const cliId = uniqueDeviceId('sim-mqtt-cli');
    const lines: Record<string, unknown>[] = [];
    const logged = new EventEmitter();
    const logger = pino({ level: 'info' }, { write: (line: string) => { const entry = JSON.parse(line) as Record<string, unknown>; lines.push(entry); logged.emit(String(entry.msg), entry); } });
    const stop = new AbortController();
    const running = once(logged, 'simulated device running; Ctrl-C stops it');
    const run = runSingleDevice({
      transport: 'mqtt', url, deviceId: cliId, profile: 'delay=1', logger, signal: stop.signal,
      credentials: await deviceCredentials(cliId),
    });
    await running;
    const answered = once(logged, 'answer');
    const cid = nextCid();
    const answer = inbox.byCid(cid);
    await server.publishAsync(`${cliId}/set_gpio`, JSON.stringify({ cid, number: 4, value: 1 }), { qos: 1 });
    expect(decoded(await answer)).toMatchObject({ ok: true, result: { number: 4, value: 1 } });
    await answered;
    stop.abort();
    const counters = await run;
    expect(counters).toMatchObject({ received: 1, answered: 1 });
    expect(lines.find((l) => l.msg === 'request')).toMatchObject({ deviceId: cliId, topic: `${cliId}/set_gpio` });
    expect(lines.find((l) => l.msg === 'answer')).toMatchObject({ deviceId: cliId, topic: `server/${cliId}/set_gpio`, delayMs: 1 });
    expect(lines.at(-1)).toMatchObject({ msg: 'simulated device stopped' });
  });

  it('rides out a broker outage, retrying with backoff until the broker is back', async () => {
    const flakyId = uniqueDeviceId('sim-mqtt-outage');
    let flaky = await startTestBroker({ clientTrustPem: ca.clientTrustPem, serverCert, serverId });
    const warnings = new EventEmitter();
    const logger = { debug: () => undefined, info: () => undefined, warn: (object: object, message?: string) => warnings.emit(message ?? '', object) };
    const outage = await startDevice({ transport: 'mqtt', url: flaky.url, deviceId: flakyId, credentials: await deviceCredentials(flakyId), logger, reconnect: { initialMs: 10, maxMs: 80 } });
    try {
      const down = once(outage, 'disconnected');
      const retries: number[] = [];
      const threeRetries = new Promise<void>((resolve) =>
        warnings.on('connection attempt failed', ({ retryInMs }: { retryInMs: number }) => retries.push(retryInMs) === 3 && resolve()),
      );
      await flaky.stop();
      await down;
      await threeRetries;
      // Exponential with equal jitter: each wait is within [step/2, step], steps 20, 40, 80 ms.
      expect(retries[0]).toBeGreaterThanOrEqual(10);
      expect(retries[0]).toBeLessThanOrEqual(20);
      expect(retries[2]).toBeGreaterThanOrEqual(40);
      expect(retries[2]).toBeLessThanOrEqual(80);
      const back = once(outage, 'connected');
      flaky = await startTestBroker({ clientTrustPem: ca.clientTrustPem, serverCert, serverId, port: flaky.port });
      await back;
      expect(outage.counters.reconnects).toBe(1);
    } finally {
      await outage.stop();
      await flaky.stop();
    }
  });

  it('counts what it did', () => {
    expect(device.counters.received).toBeGreaterThan(10);
    expect(device.counters.answered).toBe(device.counters.received);
    expect(device.counters.errors).toBe(3);
    expect(device.counters.resets).toBe(1);
  });
});
