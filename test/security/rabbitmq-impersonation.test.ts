/**
 * Issue 15, finding 1, on the RabbitMQ engine, performed the way the attacker did: user B holds a
 * valid certificate for their own device B and tries to become victim device A on a real node.
 *
 * - MQTTS: B's certificate, client id A, CONNECT username A and an empty password. RabbitMQ 3.10
 *   lets CONNECT credentials take priority over the certificate, so only the broker-auth backend
 *   stands between B and A's topics.
 * - AMQPS: B's certificate, SASL PLAIN with username A and an empty password.
 *
 * Each attack must be refused, the real A must stay connected and keep answering its owner's
 * commands, and the refusal must be in the server log.
 */
import { existsSync } from 'node:fs';
import { Writable } from 'node:stream';
import amqp from 'amqplib';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rabbitmqBin } from '../../broker/layout.ts';
import { amqpDeviceQueue } from '../../firmware-protocol/index.ts';
import { startDevice, type SimulatedDevice } from '../../simulators/device.ts';
import type { Credentials } from '../../device-link/index.ts';
import { startRabbitmqPlatform, type RabbitmqPlatform } from '../../testkit/rabbitmq-platform.ts';

const installed = existsSync(`${rabbitmqBin}/rabbitmq-server`);

describe('RabbitMQ engine: device impersonation with another device certificate', () => {
  let platform: RabbitmqPlatform;
  const logLines: Record<string, unknown>[] = [];
  const clients: MqttClient[] = [];
  let victim: SimulatedDevice;
  let victimId: string;
  let attacker: Credentials;
  const presenceOff: string[] = [];

  beforeAll(async () => {
    if (!installed) throw new Error(`RabbitMQ is not installed (${rabbitmqBin}/rabbitmq-server is missing): run bash scripts/setup-system.sh as root`);
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n')) if (line) logLines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    platform = await startRabbitmqPlatform({ logger: pino({ level: 'info' }, sink) });
    platform.bus.onPresence((event) => {
      if (!event.online) presenceOff.push(event.deviceId);
    });
    victimId = `victim-${process.pid}`;
    const attackerId = `attacker-${process.pid}`;
    const victimCredentials = await platform.register(victimId);
    attacker = await platform.register(attackerId);
    victim = await startDevice({ transport: 'mqtt', url: platform.node.mqttsUrl, deviceId: victimId, credentials: victimCredentials, bootMs: 20, reconnect: { initialMs: 50, maxMs: 500 } });
    await until(() => platform.bus.isConnected(victimId), 15_000, 'the victim online');
  }, 120_000);

  afterAll(async () => {
    for (const client of clients) client.end(true);
    await victim?.stop();
    await platform?.close();
  }, 60_000);

  const refusals = () => logLines.filter((line) => line.msg === 'broker access denied' && line.username === victimId && line.check === 'user');

  it('MQTTS: client id and username of the victim, empty password: refused, the victim keeps its connection and its commands', async () => {
    const outcome = await new Promise<string>((resolve) => {
      const client = mqtt.connect(platform.node.mqttsUrl, {
        clientId: victimId,
        username: victimId,
        password: '',
        ca: attacker.caPem,
        cert: attacker.certPem,
        key: attacker.keyPem,
        protocolVersion: 4,
        reconnectPeriod: 0,
        connectTimeout: 5000,
      });
      clients.push(client);
      client.once('connect', () => {
        // What the attacker did next: take the victim's requests.
        client.subscribe(`${victimId}/#`, { qos: 1 }, (error, granted) => resolve(error ? `connected, subscribe failed: ${error.message}` : `connected, granted ${JSON.stringify(granted)}`));
      });
      client.once('error', (error) => resolve(`refused: ${error.message}`));
      client.once('close', () => resolve('refused: closed'));
    });
    expect(outcome).toMatch(/^refused/);
    expect(presenceOff).not.toContain(victimId);
    expect(platform.bus.isConnected(victimId)).toBe(true);
    expect(await platform.bus.command(victimId, 'get_status', {}, 5000)).toMatchObject({ status: 'ok' });
    expect(victim.connected).toBe(true);
    expect(refusals().length).toBeGreaterThan(0);
  });

  it("AMQPS: SASL PLAIN with the victim's name and an empty password: refused, the victim's queue stays the victim's", async () => {
    const outcome = await amqp
      .connect(platform.node.amqpsUrl, {
        ca: attacker.caPem,
        cert: attacker.certPem,
        key: attacker.keyPem,
        servername: 'localhost',
        credentials: amqp.credentials.plain(victimId, ''),
      })
      .then(
        async (connection) => {
          const channel = await connection.createChannel();
          const consumed = await channel.consume(amqpDeviceQueue(victimId), () => undefined).then(
            () => 'consumed the victim queue',
            (error: Error) => `consume failed: ${error.message}`,
          );
          await connection.close().catch(() => undefined);
          return `connected, ${consumed}`;
        },
        (error: Error) => `refused: ${error.message}`,
      );
    // The node offers EXTERNAL only, so it refuses before asking the server (its own log records
    // it); the broker-auth endpoints would refuse the password too (broker-auth-routes.test.ts).
    expect(outcome).toMatch(/^refused: SASL mechanism PLAIN is not provided by the server/);
    expect(platform.bus.isConnected(victimId)).toBe(true);
    for (let i = 0; i < 5; i++) expect(await platform.bus.command(victimId, 'get_status', {}, 5000)).toMatchObject({ status: 'ok' });
  });
});

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
