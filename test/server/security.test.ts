import { once } from 'node:events';
import { join } from 'node:path';
import tls from 'node:tls';
import mqttPacket from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEphemeralCertificateAuthority, loadOrCreateCertificateAuthority } from '../../certs/index.ts';
import { closed, connectAsDevice, startTestServer, type TestServer } from '../helpers/server.ts';
import type { RestClient, DeviceRegistration } from '../../rest-client/index.ts';

describe('device identity and permissions on the embedded broker', () => {
  let t: TestServer;
  let alice: RestClient;
  let one: DeviceRegistration;
  let two: DeviceRegistration;

  beforeAll(async () => {
    t = await startTestServer();
    alice = await t.user();
    one = await alice.registerDevice('one');
    two = await alice.registerDevice('two');
  });
  afterAll(() => t.close());

  it('a device connects with its own certificate and client id', async () => {
    const device = await connectAsDevice(t.server.mqttUrl, one);
    expect(device.connected).toBe(true);
    device.end(true);
  });

  it("refuses another device's id as client id", async () => {
    await expect(connectAsDevice(t.server.mqttUrl, { ...one, deviceId: two.deviceId })).rejects.toThrow(/Not authorized|Connection refused/i);
  });

  it('refuses a certificate from a foreign CA at the TLS handshake', async () => {
    const foreign = await createEphemeralCertificateAuthority({ commonName: 'foreign' });
    const forged = await foreign.issueDeviceCertificate(one.deviceId);
    await expect(connectAsDevice(t.server.mqttUrl, { ...one, certificate: forged.certPem, privateKey: forged.keyPem })).rejects.toThrow();
  });

  it('refuses a certificate from the platform CA whose CN is not a device id', async () => {
    const ca = await loadOrCreateCertificateAuthority(join(t.dataDir, 'ca'));
    const service = await ca.issueServiceCertificate('_not-a-device');
    await expect(connectAsDevice(t.server.mqttUrl, { ...one, certificate: service.certPem, privateKey: service.keyPem })).rejects.toThrow(/Not authorized|Connection refused/i);
  });

  it('refuses a certificate from the platform CA for a device id that was registered with another', async () => {
    const ca = await loadOrCreateCertificateAuthority(join(t.dataDir, 'ca'));
    const reissued = await ca.issueDeviceCertificate(one.deviceId);
    await expect(connectAsDevice(t.server.mqttUrl, { ...one, certificate: reissued.certPem, privateKey: reissued.keyPem })).rejects.toThrow(/Not authorized|Connection refused/i);
    const device = await connectAsDevice(t.server.mqttUrl, one); // the registered one still may
    device.end(true);
  });

  it('refuses a client without a certificate', async () => {
    await expect(connectAsDevice(t.server.mqttUrl, { ...one, certificate: '', privateKey: '' })).rejects.toThrow();
  });

  it("refuses a subscription to another device's topics (SUBACK 0x80) and allows its own", async () => {
    const device = await connectAsDevice(t.server.mqttUrl, one);
    // MQTT.js rejects when any topic is refused; the SUBACK it carries says which.
    const suback = await device.subscribeAsync([`${two.deviceId}/#`, `${one.deviceId}/#`, '#', 'server/#'], { qos: 1 }).then(
      () => undefined,
      (error: { packet?: { granted?: number[] } }) => error.packet?.granted,
    );
    expect(suback).toEqual([128, 1, 128, 128]);
    device.end(true);
  });

  it("closes the connection of a device that publishes as another device", async () => {
    const device = await connectAsDevice(t.server.mqttUrl, one);
    const gone = closed(device);
    device.publish(`server/${two.deviceId}/get_status`, '{"status":"running"}', { qos: 1 });
    await gone;
    expect(device.connected).toBe(false);
    device.end(true);
  });

  it('offers no TLS session resumption: every connection proves the device key', async () => {
    const first = await connectOverTls(t.server.mqttUrl, one);
    expect(first.connack).toBe(0);
    const second = await connectOverTls(t.server.mqttUrl, one, first.ticket);
    expect(second.connack).toBe(0);
    expect(second.resumed).toBe(false);
  });

  it("chooses AES-128-GCM with SHA-256 for TLS 1.3, whatever the device's (Node's) own order", async () => {
    const connection = await connectOverTls(t.server.mqttUrl, one);
    expect(connection.connack).toBe(0);
    expect(connection.cipher).toBe('TLS_AES_128_GCM_SHA256');
  });

  it('an unregistered device is disconnected at once and refused afterwards', async () => {
    const three = await alice.registerDevice('three');
    const device = await connectAsDevice(t.server.mqttUrl, three);
    const gone = closed(device);
    await alice.unregisterDevice(three.deviceId);
    await gone;
    await expect(connectAsDevice(t.server.mqttUrl, three)).rejects.toThrow(/Not authorized|Connection refused/i);
  });
});

/**
 * One MQTT CONNECT over a bare TLS socket, offering `session` for resumption; returns the CONNACK
 * code, whether the session was resumed, the cipher suite and any session ticket the server sent (a TLS 1.3 server
 * sends its tickets before its first application data, so they have arrived with the CONNACK).
 */
async function connectOverTls(url: string, device: DeviceRegistration, session?: Buffer): Promise<{ connack: number; resumed: boolean; cipher: string; ticket?: Buffer }> {
  const { hostname, port } = new URL(url);
  const socket = tls.connect({ host: hostname, port: Number(port), ca: device.rootCa, cert: device.certificate, key: device.privateKey, ...(session ? { session } : {}) });
  let ticket: Buffer | undefined;
  socket.on('session', (offered: Buffer) => (ticket = offered));
  try {
    await once(socket, 'secureConnect');
    const resumed = socket.isSessionReused();
    socket.write(mqttPacket.generate({ cmd: 'connect', clientId: device.deviceId, protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 0 }));
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    const connack = new Promise<number>((resolve) => parser.on('packet', (packet: mqttPacket.Packet) => packet.cmd === 'connack' && resolve(packet.returnCode ?? -1)));
    socket.on('data', (data: Buffer) => parser.parse(data));
    const code = await connack;
    return { connack: code, resumed, cipher: socket.getCipher().name, ...(ticket ? { ticket } : {}) };
  } finally {
    socket.destroy();
  }
}

describe('accounts and tokens', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ tokenTtlMs: 60_000 });
  });
  afterAll(() => t.close());

  it("another user's token can neither see nor command a device", async () => {
    const alice = await t.user();
    const mallory = await t.user();
    const device = await alice.registerDevice('private');
    expect((await mallory.listDevices()).devices).toEqual([]);
    const seen = await mallory.send('GET', `/api/v1/devices/${device.deviceId}`);
    expect(seen.status).toBe(403);
    const command = await mallory.send('POST', `/api/v1/devices/${device.deviceId}/commands/get_status`, {});
    expect(command.status).toBe(403);
    const removal = await mallory.send('DELETE', `/api/v1/devices/${device.deviceId}`);
    expect(removal.status).toBe(403);
  });

  it('forged, missing and logged-out tokens are refused with 401', async () => {
    const client = await t.user();
    const real = client.token!;
    client.token = 'A'.repeat(43);
    expect((await client.send('GET', '/api/v1/devices')).status).toBe(401);
    client.token = undefined;
    expect((await client.send('GET', '/api/v1/devices')).status).toBe(401);
    client.token = real;
    expect((await client.send('GET', '/api/v1/devices')).status).toBe(200);
    expect((await client.send('POST', '/api/v1/auth/logout')).status).toBe(204);
    expect((await client.send('GET', '/api/v1/devices')).status).toBe(401);
  });

  it('rate-limits failed logins with 429 and Retry-After', async () => {
    const client = t.anonymous();
    await client.signup('ratelimited', 'correct horse battery');
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await client.send('POST', '/api/v1/auth/login', { username: 'ratelimited', password: 'wrong password!' })).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    const refused = await client.send('POST', '/api/v1/auth/login', { username: 'ratelimited', password: 'correct horse battery' });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('answers the same error for unknown users and wrong passwords', async () => {
    const client = t.anonymous();
    const unknown = await client.send('POST', '/api/v1/auth/login', { username: 'nobody-here', password: 'whatever123' });
    expect(unknown.status).toBe(401);
    expect((unknown.json as { error: { message: string } }).error.message).toBe('wrong username or password');
  });

  it('a short wrong password is a wrong password (401), not a signup rule (400)', async () => {
    const client = t.anonymous();
    await client.signup('shortguess', 'correct horse battery');
    const short = await client.send('POST', '/api/v1/auth/login', { username: 'shortguess', password: 'wrong' });
    expect(short.status).toBe(401);
    expect((short.json as { error: { message: string } }).error.message).toBe('wrong username or password');
    expect((await client.send('POST', '/api/v1/auth/login', { username: 'shortguess', password: '' })).status).toBe(400);
  });
});

describe('expired tokens', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ tokenTtlMs: 1 });
  });
  afterAll(() => t.close());

  it('a token past its expiry is refused', async () => {
    const client = await t.user();
    // The token expired 1 ms after it was issued; the next request is necessarily later.
    const answer = await client.send('GET', '/api/v1/devices');
    expect(answer.status).toBe(401);
    expect((answer.json as { error: { message: string } }).error.message).toMatch(/expired/);
  });
});
