/**
 * AMQP 1.0 devices on the project-owned RabbitMQ node (3.10, rabbitmq_amqp1_0): a device logs in
 * with its certificate (SASL EXTERNAL over AMQPS), consumes its queue `mqtt-subscription-<id>qos1`
 * and answers the bus; another device's queue and requests stay out of reach.
 *
 * 3.10's AMQP 1.0 plugin cannot bind a queue, so the device's queue must already be bound to
 * `amq.topic` with `<id>.#`: here, as in the field, by an earlier AMQP 0-9-1 session of the same
 * device. (`source: 'exchange'` is not used: the plugin declares its private queue non-exclusive
 * and never deletes it, so every attach leaves a queue behind that keeps collecting requests.)
 */
import { existsSync } from 'node:fs';
import rhea, { type ConnectionOptions, type EventContext } from 'rhea';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rabbitmqBin } from '../../broker/layout.ts';
import { amqpDeviceQueue } from '../../firmware-protocol/index.ts';
import { startDevice, type SimulatedDevice } from '../../simulators/device.ts';
import type { Credentials } from '../../simulators/transports/connection.ts';
import { startRabbitmqPlatform, type RabbitmqPlatform } from './platform.ts';

const installed = existsSync(`${rabbitmqBin}/rabbitmq-server`);

describe('AMQP 1.0 devices on the RabbitMQ node', () => {
  let platform: RabbitmqPlatform;
  const devices: SimulatedDevice[] = [];
  let counter = 0;
  const newId = (prefix: string) => `${prefix}-${process.pid}-${(counter++).toString(36)}`;

  beforeAll(async () => {
    if (!installed) throw new Error(`RabbitMQ is not installed (${rabbitmqBin}/rabbitmq-server is missing): run bash scripts/setup-system.sh as root`);
    platform = await startRabbitmqPlatform();
  }, 120_000);

  afterAll(async () => {
    await Promise.all(devices.map((device) => device.stop()));
    await platform?.close();
  }, 60_000);

  async function device(id: string, credentials: Credentials, transport: 'amqp091' | 'amqp10'): Promise<SimulatedDevice> {
    const started = await startDevice({ transport, url: platform.node.amqpsUrl, deviceId: id, credentials, bootMs: 20, reconnect: { initialMs: 50, maxMs: 500 } });
    devices.push(started);
    return started;
  }

  /** A device's own AMQP 1.0 queue, declared and bound by its first AMQP 0-9-1 session. */
  async function provision(id: string): Promise<Credentials> {
    const credentials = await platform.register(id);
    const first = await device(id, credentials, 'amqp091');
    await first.stop();
    return credentials;
  }

  /** Attach a receiver as the certificate's device; resolves `open` or with why the broker refused. */
  function attach(credentials: Credentials, containerId: string, address: string): Promise<{ open: boolean; received: number; why?: string }> {
    const url = new URL(platform.node.amqpsUrl);
    return new Promise((resolve) => {
      const container = rhea.create_container({ id: containerId });
      container.on('error', () => undefined);
      // As the transport builds it: rhea reads enable_sasl_external, which its typings omit.
      const tls = { transport: 'tls', ca: credentials.caPem, cert: credentials.certPem, key: credentials.keyPem, servername: 'localhost', rejectUnauthorized: true, enable_sasl_external: true } as const;
      const options: ConnectionOptions = { host: url.hostname, port: Number(url.port), reconnect: false, ...tls };
      const connection = container.connect(options);
      let received = 0;
      let done = false;
      const finish = (result: { open: boolean; why?: string }) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        (connection.socket as { destroy(): void } | undefined)?.destroy();
        resolve({ ...result, received });
      };
      const timer = setTimeout(() => finish({ open: false, why: 'no answer to the attach' }), 10_000);
      const refused = (what: string) => (context: EventContext) => {
        const error = (context.receiver?.error ?? context.session?.error ?? context.connection?.error ?? context.error) as { condition?: string; description?: string } | undefined;
        finish({ open: false, why: `${what}: ${error?.condition ?? ''} ${error?.description ?? ''}` });
      };
      // Durable terminus, as the transport asks: the plugin redeclares `/queue/…` durable.
      const receiver = connection.open_receiver({ source: { address, durable: 2 }, credit_window: 10 });
      receiver.on('message', () => void received++);
      receiver.on('receiver_open', () => setTimeout(() => finish({ open: true }), 500));
      for (const event of ['receiver_error', 'receiver_close']) receiver.on(event, refused(event));
      for (const event of ['session_error', 'session_close', 'connection_error', 'connection_close', 'disconnected']) connection.on(event, refused(event));
    });
  }

  it('a device logs in with its certificate over AMQPS, consumes its own queue and answers the bus', async () => {
    const id = newId('a10');
    const credentials = await provision(id);
    const sim = await device(id, credentials, 'amqp10');
    expect(sim.connected).toBe(true);

    expect(await platform.bus.command(id, 'get_status', {}, 5000)).toMatchObject({ status: 'ok', result: { status: 'running' } });
    expect(await platform.bus.command(id, 'set_gpio', { number: 18, value: 1 }, 5000)).toMatchObject({ status: 'ok', result: { number: 18, value: 1 } });
    expect(await platform.bus.command(id, 'get_gpio', { number: 18 }, 5000)).toMatchObject({ status: 'ok', result: { number: 18, value: 1 } });
  });

  it('another device may not consume its queue or bind to its requests', async () => {
    const [victim, intruder] = [newId('a10-victim'), newId('a10-intruder')];
    await provision(victim);
    // Its own queue, as a control: the same helper gets through.
    const intruderCredentials = await provision(intruder);
    const own = await attach(intruderCredentials, intruder, `/queue/${amqpDeviceQueue(intruder)}`);
    expect(own, own.why).toMatchObject({ open: true });

    for (const address of [`/queue/${amqpDeviceQueue(victim)}`, `/amq/queue/${amqpDeviceQueue(victim)}`, `/exchange/amq.topic/${victim}.#`, '/exchange/amq.topic/#']) {
      const pending = platform.bus.command(victim, 'get_status', {}, 300);
      const outcome = await attach(intruderCredentials, intruder, address);
      expect(outcome, address).toMatchObject({ open: false, received: 0 });
      expect(outcome.why, address).toMatch(/unauthorized|ACCESS_REFUSED|internal-error|disconnected|close/i);
      await pending;
    }
  }, 60_000);
});
