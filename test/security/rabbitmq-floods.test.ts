/**
 * Issue 15, finding 2, on the RabbitMQ node, performed the way the attacker did: an MQTT packet
 * header announcing 256 MB, then the bytes, before CONNECT completes, over MQTTS with a device
 * certificate that was revoked (TLS still accepts it: the node does not check revocation).
 *
 * Also: publishes over the message size bound, and retained messages.
 *
 * The node's memory is read as the resident size of its Erlang VM (/proc/<pid>/status, VmRSS),
 * sampled every 50 ms while the attack runs (cheaper and finer than `rabbitmqctl status`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokerMaxMessageBytes, mqttLoginTimeoutMs } from '../../broker/config.ts';
import { rabbitmqBin } from '../../broker/layout.ts';
import { limits } from '../../firmware-protocol/index.ts';
import type { Credentials } from '../../device-link/index.ts';
import { startRabbitmqPlatform, type RabbitmqPlatform } from '../../testkit/rabbitmq-platform.ts';

const installed = existsSync(`${rabbitmqBin}/rabbitmq-server`);
const MB = 1024 * 1024;

/** Node RSS growth allowed while a stalled oversized CONNECT is held (see docs/security.md). */
const NODE_GROWTH_BOUND_MB = 64;

function nodeRssBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match![1]) * 1024;
}

describe('RabbitMQ node: what a device can make it hold', () => {
  let platform: RabbitmqPlatform;
  const clients: MqttClient[] = [];
  const sockets: TLSSocket[] = [];

  beforeAll(async () => {
    if (!installed) throw new Error(`RabbitMQ is not installed (${rabbitmqBin}/rabbitmq-server is missing): run bash scripts/setup-system.sh as root`);
    platform = await startRabbitmqPlatform({ bus: false });
  }, 120_000);

  afterAll(async () => {
    for (const client of clients) client.end(true);
    for (const socket of sockets) socket.destroy();
    await platform?.close();
  }, 60_000);

  /** A raw MQTT 3.1.1 client over MQTTS; resolves on CONNACK. */
  function connectMqtt(credentials: Credentials, clientId: string, extra: IClientOptions = {}): Promise<MqttClient> {
    return new Promise((resolve, reject) => {
      const client = mqtt.connect(platform.node.mqttsUrl, { clientId, ca: credentials.caPem, cert: credentials.certPem, key: credentials.keyPem, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, ...extra });
      clients.push(client);
      client.once('connect', () => resolve(client));
      client.once('error', reject);
      client.once('close', () => reject(new Error('connection closed before CONNACK')));
    });
  }

  /**
   * A subscriber to `server/<id>/get_status` (and the marker) that would be handed retained messages on subscribe: the
   * server's own MQTT login (internal user), as the harness uses it. `mark()` publishes a QoS 1
   * marker and waits for it: what arrives before it is what the node routed or replayed.
   */
  async function watch(credentials: Credentials, id: string): Promise<{ received: Buffer[]; mark(): Promise<void> }> {
    const { username, password } = platform.node.credentials;
    const watcher = await connectMqtt(credentials, `watcher-${id}`, { username, password });
    const received: Buffer[] = [];
    watcher.on('message', (_topic, payload) => received.push(payload));
    // Exact topics: RabbitMQ 3.10 replays retained messages to exact-topic subscriptions only.
    await new Promise<void>((resolve, reject) => watcher.subscribe([`server/${id}/get_status`, `server/${id}/marker`], { qos: 1 }, (error) => (error ? reject(error) : resolve())));
    return {
      received,
      async mark() {
        await new Promise<void>((resolve, reject) => watcher.publish(`server/${id}/marker`, 'marker', { qos: 1 }, (error) => (error ? reject(error) : resolve())));
        await untilAsync(async () => received.some((payload) => payload.toString() === 'marker'), 10_000, 'the marker');
      },
    };
  }

  async function nodeLog(): Promise<string> {
    const dir = join(platform.node.stateDir, 'log');
    const files = (await readdir(dir)).filter((name) => name.endsWith('.log') && name.startsWith('iotcloud-') && !name.includes('_upgrade'));
    return (await Promise.all(files.map((name) => readFile(join(dir, name), 'utf8')))).join('\n');
  }

  /** Opens TLS with a device certificate, writes a CONNECT header announcing 256 MB, then `bytes` of it. */
  function oversizedConnect(credentials: Credentials, bytes: number): Promise<{ socket: TLSSocket; sent: number }> {
    const url = new URL(platform.node.mqttsUrl);
    const socket = tlsConnect({ host: url.hostname, port: Number(url.port), ca: credentials.caPem, cert: credentials.certPem, key: credentials.keyPem });
    sockets.push(socket);
    return new Promise((resolve) => {
      let sent = 0;
      let ended = false;
      const finish = () => {
        if (!ended) resolve({ socket, sent });
        ended = true;
      };
      socket.once('close', finish);
      socket.once('error', finish);
      socket.once('secureConnect', () => {
        // CONNECT, remaining length 268,435,455 (the MQTT maximum), then filler.
        socket.write(Buffer.from([0x10, 0xff, 0xff, 0xff, 0x7f]));
        const chunk = Buffer.alloc(64 * 1024, 0x41);
        const pump = () => {
          while (!ended && sent < bytes) {
            sent += chunk.length;
            if (!socket.write(chunk)) return void socket.once('drain', pump);
          }
          if (sent >= bytes) finish();
        };
        pump();
      });
    });
  }

  /** A registered then revoked device sends an oversized CONNECT of `bytes`; the node's RSS is sampled until the node closes it. */
  async function revokedDeviceFlood(id: string, bytes: number): Promise<{ sent: number; growthMb: number }> {
    const credentials = await platform.register(id);
    await platform.store.revokeDevice(id);
    const pid = platform.node.pid;
    const before = nodeRssBytes(pid);
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, nodeRssBytes(pid))), 50);
    const { socket, sent } = await oversizedConnect(credentials, bytes);
    await new Promise<void>((resolve) => (socket.closed ? resolve() : socket.once('close', () => resolve())));
    clearInterval(sampler);
    return { sent, growthMb: (Math.max(peak, nodeRssBytes(pid)) - before) / MB };
  }

  it(`a CONNECT announcing 256 MB that stalls after 4 MB, with a revoked certificate: the node closes it (login timeout, ${mqttLoginTimeoutMs} ms here; 10 s by default) and grows by under ${NODE_GROWTH_BOUND_MB} MB`, async () => {
    // The node, not this test, ends the connection: nothing here would.
    const { growthMb } = await revokedDeviceFlood(`stall-${process.pid}`, 4 * MB);
    console.log(`rabbitmq_stalled_connect_node_growth ${growthMb.toFixed(1)} MB`);
    expect(growthMb).toBeLessThan(NODE_GROWTH_BOUND_MB);
  }, 60_000);

  it('a CONNECT announcing 256 MB sent in full at loopback speed: measured (RabbitMQ 3.10 cannot bound it), and the node still serves devices', async () => {
    const { sent, growthMb } = await revokedDeviceFlood(`flood-${process.pid}`, 256 * MB);
    console.log(`rabbitmq_oversized_connect_sent ${Math.round(sent / MB)} MB`);
    console.log(`rabbitmq_oversized_connect_node_growth ${growthMb.toFixed(1)} MB`);
    const good = `good-${process.pid}`;
    const client = await connectMqtt(await platform.register(good), good);
    expect(client.connected).toBe(true);
  }, 60_000);

  it(`a publish larger than ${brokerMaxMessageBytes} bytes after CONNECT is refused by the node and reaches no one`, async () => {
    const id = `big-${process.pid}`;
    const credentials = await platform.register(id);
    const watcher = await watch(credentials, id);
    const client = await connectMqtt(credentials, id);
    client.publish(`server/${id}/get_status`, Buffer.alloc(brokerMaxMessageBytes + 1, 0x41), { qos: 1 });
    // 3.10 closes the device's internal channel and says so in its log (the MQTT connection stays
    // open, without a PUBACK): wait for that line, then check nothing was routed.
    await untilAsync(async () => (await nodeLog()).includes(`message size ${brokerMaxMessageBytes + 1} is larger than configured max size ${brokerMaxMessageBytes}`), 15_000, 'the refusal in the node log');
    await watcher.mark();
    expect(watcher.received.map((payload) => payload.length)).toEqual([6]); // the marker only

    // Within the bound is fine.
    const fine = `fine-${process.pid}`;
    const fineCredentials = await platform.register(fine);
    const fineWatcher = await watch(fineCredentials, fine);
    const other = await connectMqtt(fineCredentials, fine);
    await new Promise<void>((resolve, reject) => other.publish(`server/${fine}/get_status`, Buffer.alloc(limits.maxPayloadBytes, 0x41), { qos: 1 }, (error) => (error ? reject(error) : resolve())));
    await fineWatcher.mark();
    expect(fineWatcher.received.map((payload) => payload.length)).toEqual([limits.maxPayloadBytes, 6]);
  });

  it('a retained publish (or retained will) from a device is not kept by the node', async () => {
    const id = `retain-${process.pid}`;
    const credentials = await platform.register(id);
    const device = await connectMqtt(credentials, id);
    await new Promise<void>((resolve, reject) => device.publish(`server/${id}/get_status`, '{"status":"forged"}', { qos: 1, retain: true }, (error) => (error ? reject(error) : resolve())));
    device.end(true);
    const watcher = await watch(credentials, id);
    await watcher.mark();
    expect(watcher.received.map(String)).toEqual(['marker']);
  });
});

async function untilAsync(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
