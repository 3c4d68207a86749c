/**
 * Finding 2 (embedded engine): what a device, or anyone holding a certificate from the device CA,
 * can make the server hold. Each test performs the attack against `iotcloud up` in its own
 * process and measures that process's RSS.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import tls from 'node:tls';
import mqtt, { type MqttClient } from 'mqtt';
import mqttPacket from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceRegistration } from '../../rest-client/index.ts';
import { connectAsDevice } from '../helpers/server.ts';
import { MB, startAttackTarget, type AttackTarget } from './attack-server.ts';

const RSS_BOUND = 50 * MB;

/** A TLS connection with a device's certificate, speaking raw MQTT bytes. */
async function rawDeviceSocket(target: AttackTarget, device: DeviceRegistration): Promise<tls.TLSSocket> {
  const url = new URL(target.up.mqttUrl);
  const socket = tls.connect({ host: url.hostname, port: Number(url.port), ca: device.rootCa, cert: device.certificate, key: device.privateKey, servername: 'localhost' });
  await once(socket, 'secureConnect');
  socket.on('error', () => {}); // the server is expected to cut us off
  return socket;
}

/** Fixed header of a packet type announcing `length` bytes (MQTT variable-length encoding). */
function header(type: number, length: number): Buffer {
  const bytes = [type << 4];
  do {
    let digit = length % 128;
    length = Math.floor(length / 128);
    if (length > 0) digit |= 0x80;
    bytes.push(digit);
  } while (length > 0);
  return Buffer.from(bytes);
}

/** Next chunk the server sends, or undefined when it closes first. */
function nextData(socket: tls.TLSSocket): Promise<Buffer | undefined> {
  return new Promise((resolve) => (socket.once('data', resolve), socket.once('close', () => resolve(undefined))));
}

/** Streams up to `total` bytes; resolves with how many were written before the server closed. */
async function stream(socket: tls.TLSSocket, total: number): Promise<{ sent: number; closedByServer: boolean }> {
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  let sent = 0;
  let closed = socket.destroyed;
  socket.once('close', () => (closed = true));
  while (sent < total && !closed) {
    if (!socket.write(chunk)) await new Promise((resolve) => (socket.once('drain', resolve), socket.once('close', resolve)));
    sent += chunk.length;
  }
  // Written is not yet read: wait until the server has taken everything (or closed).
  if (!closed) await new Promise<void>((resolve) => socket.end(() => resolve()));
  return { sent, closedByServer: closed };
}

function connectPacket(clientId: string): Buffer {
  return mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId, clean: true, keepalive: 60 });
}

describe('attack: device floods on the embedded engine', () => {
  let target: AttackTarget;
  let device: DeviceRegistration;
  let revoked: DeviceRegistration;

  beforeAll(async () => {
    target = await startAttackTarget();
    device = await target.register('flooder');
    revoked = await target.register('revoked');
    await target.user.unregisterDevice(revoked.deviceId);
  }, 120_000);
  afterAll(async () => target?.close());

  it('a revoked certificate announcing 256 MB before CONNECT is cut off before the server buffers it (4 at once)', async () => {
    const before = target.rss();
    const results = await Promise.all(
      [0, 1, 2, 3].map(async () => {
        const socket = await rawDeviceSocket(target, revoked);
        socket.write(header(1, 268_435_455)); // CONNECT, 256 MB
        return stream(socket, 40 * MB);
      }),
    );
    const growth = target.rss() - before;
    expect(growth, `server RSS grew ${(growth / MB).toFixed(0)} MB`).toBeLessThan(RSS_BOUND);
    for (const result of results) expect(result.closedByServer).toBe(true);
    await target.logged(/packet refused; closing the connection/); // and the refusal is logged
  }, 60_000);

  it('a connected device announcing a 256 MB PUBLISH is cut off before the server buffers it', async () => {
    const socket = await rawDeviceSocket(target, device);
    socket.write(connectPacket(device.deviceId));
    const connack = await nextData(socket);
    expect([...(connack ?? [])]).toEqual([0x20, 2, 0, 0]); // accepted
    const before = target.rss();
    socket.write(Buffer.concat([header(3, 268_435_455), Buffer.from([0, 5]), Buffer.from('server')]));
    const result = await stream(socket, 80 * MB);
    const growth = target.rss() - before;
    expect(growth, `server RSS grew ${(growth / MB).toFixed(0)} MB`).toBeLessThan(RSS_BOUND);
    expect(result.closedByServer).toBe(true);
  }, 60_000);

  it('20,000 retained QoS 1 answers: nothing is retained, memory and the log stay bounded, 6,000-character topics are refused', async () => {
    const client = await connectAsDevice(target.up.mqttUrl, device);
    const before = target.rss();
    const linesBefore = target.up.output().split('\n').length;
    const payload = randomBytes(1750).toString('hex'); // 3,500 bytes, under the 4 KB payload limit
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < 20_000; i++) {
      sends.push(client.publishAsync(`server/${device.deviceId}/${randomBytes(30).toString('hex')}`, payload, { qos: 1, retain: true }));
      if (i % 500 === 499) await Promise.all(sends.splice(0));
    }
    await Promise.all(sends);
    const growth = target.rss() - before;
    expect(growth, `server RSS grew ${(growth / MB).toFixed(0)} MB`).toBeLessThan(RSS_BOUND);
    const logLines = target.up.output().split('\n').length - linesBefore;
    expect(logLines, 'log lines written for one device\'s 20,000 invalid answers').toBeLessThan(50);

    // A new subscriber gets none of them replayed.
    expect(await retainedSeenBy(target, `server/${device.deviceId}/#`)).toEqual([]);

    // A 6,000-character topic closes the connection.
    const gone = new Promise<void>((resolve) => client.once('close', () => resolve()));
    client.publish(`server/${device.deviceId}/${'x'.repeat(6000)}`, '{}', { qos: 1 });
    await gone;
    client.end(true);
  }, 60_000);

  it('wills: not retained, and the will of a device unregistered while connected is not published', async () => {
    const victim = await target.register('will-leaver');
    // 50 connections each leaving a retained will, each replaced by the next.
    let last: MqttClient | undefined;
    for (let i = 0; i < 50; i++) {
      const next = await connectAsDevice(target.up.mqttUrl, victim, { will: { topic: `server/${victim.deviceId}/will${i}`, payload: Buffer.from('x'.repeat(4000)), qos: 1, retain: true } });
      last?.end(true);
      last = next;
    }
    last!.stream.destroy(); // unclean: the will would fire
    expect(await retainedSeenBy(target, `server/${victim.deviceId}/#`)).toEqual([]);

    // Connected with a will, then unregistered by its owner: the will must not go out.
    const watcher = await serviceClient(target);
    const seen: string[] = [];
    watcher.on('message', (topic) => seen.push(topic));
    await watcher.subscribeAsync([`server/${victim.deviceId}/#`, `${victim.deviceId}/marker`]);
    const connected = await connectAsDevice(target.up.mqttUrl, victim, { will: { topic: `server/${victim.deviceId}/get_status`, payload: Buffer.from('{"status":"forged"}'), qos: 1, retain: false } });
    connected.on('error', () => {});
    await target.user.unregisterDevice(victim.deviceId);
    const marker = new Promise<void>((resolve) => watcher.on('message', (topic) => topic.endsWith('/marker') && resolve()));
    await watcher.publishAsync(`${victim.deviceId}/marker`, '{}', { qos: 1 });
    await marker;
    expect(seen.filter((topic) => !topic.endsWith('/marker'))).toEqual([]);
    connected.end(true);
    watcher.end(true);
  }, 60_000);
});

async function serviceClient(target: AttackTarget): Promise<MqttClient> {
  return mqtt.connectAsync(target.service.url, {
    clientId: `${target.service.clientIdPrefix}watch${randomBytes(4).toString('hex')}`,
    username: target.service.username,
    password: target.service.password,
    reconnectPeriod: 0,
    protocolVersion: 4,
  });
}

/** Topics a fresh subscriber to `filter` is replayed as retained, up to a marker that follows them. */
async function retainedSeenBy(target: AttackTarget, filter: string): Promise<string[]> {
  const client = await serviceClient(target);
  const markerTopic = `${filter.split('/')[1]}/marker`;
  const retained: string[] = [];
  const done = new Promise<void>((resolve) =>
    client.on('message', (topic, _payload, packet) => {
      if (topic === markerTopic) resolve();
      else if (packet.retain) retained.push(topic);
    }),
  );
  await client.subscribeAsync([filter, markerTopic]);
  await client.publishAsync(markerTopic, '{}', { qos: 1 });
  await done;
  client.end(true);
  return retained;
}
