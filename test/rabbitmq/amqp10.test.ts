/**
 * AMQP 1.0 devices on the project-owned RabbitMQ node (3.10, rabbitmq_amqp1_0): a device logs in
 * with its certificate (SASL EXTERNAL over AMQPS), consumes its queue `mqtt-subscription-<id>qos1`
 * and answers the bus; another device's queue and requests stay out of reach.
 *
 * 3.10's AMQP 1.0 plugin declares the device's queue but cannot bind it; the server binds it to
 * `amq.topic` with `<id>.#` when the node reports the device declared it (queue.created). The
 * devices here speak AMQP 1.0 only. (`source: 'exchange'` is not used: the plugin declares its
 * private queue non-exclusive and never deletes it, so every attach leaves a queue behind that
 * keeps collecting requests.)
 */
import { existsSync } from 'node:fs';
import amqp from 'amqplib';
import rhea, { type ConnectionOptions, type EventContext } from 'rhea';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rabbitmqBin } from '../../broker/layout.ts';
import { AMQP_EXCHANGE, amqpDeviceQueue, deviceSubscription } from '../../firmware-protocol/index.ts';
import { startDevice, type SimulatedDevice } from '../../simulators/device.ts';
import type { Credentials } from '../../device-link/index.ts';
import { startRabbitmqPlatform, type RabbitmqPlatform } from '../../testkit/rabbitmq-platform.ts';

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

  /** Retries `check` until it holds or `ms` pass (each try is a real round trip, not a sleep). */
  async function until(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
    const deadline = performance.now() + ms;
    while (!(await check())) {
      if (performance.now() > deadline) throw new Error(`not true within ${ms} ms`);
    }
  }

  /** A registered device whose queue exists: its first AMQP 1.0 session declared it. */
  async function provision(id: string): Promise<Credentials> {
    const credentials = await platform.register(id);
    const first = await device(id, credentials, 'amqp10');
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

  it('a device that speaks only AMQP 1.0 logs in with its certificate, gets its queue bound by the server and answers the bus', async () => {
    const id = newId('a10');
    const sim = await device(id, await platform.register(id), 'amqp10');
    expect(sim.connected).toBe(true);
    // The bind follows the node's queue.created event: wait until a request gets through.
    await until(async () => (await platform.bus.command(id, 'get_status', {}, 500)).status === 'ok');

    expect(await platform.bus.command(id, 'get_status', {}, 5000)).toMatchObject({ status: 'ok', result: { status: 'running' } });
    expect(await platform.bus.command(id, 'set_gpio', { number: 18, value: 1 }, 5000)).toMatchObject({ status: 'ok', result: { number: 18, value: 1 } });
    expect(await platform.bus.command(id, 'get_gpio', { number: 18 }, 5000)).toMatchObject({ status: 'ok', result: { number: 18, value: 1 } });
  });

  it('a server that connects later binds a device queue declared while no server was listening', async () => {
    const id = newId('a10-missed');
    const sim = await device(id, await platform.register(id), 'amqp10');
    await until(async () => (await platform.bus.command(id, 'get_status', {}, 500)).status === 'ok');
    // As if the queue had been declared with no server around: take the binding away again.
    const { caPem, certPem, keyPem } = platform.serviceTls;
    const admin = await amqp.connect(platform.node.amqpsUrl, { credentials: amqp.credentials.external(), ca: [caPem], cert: certPem, key: keyPem });
    try {
      const channel = await admin.createChannel();
      await channel.unbindQueue(amqpDeviceQueue(id), AMQP_EXCHANGE, deviceSubscription(id, 'amqp'));
      expect(await platform.bus.command(id, 'get_status', {}, 300)).toMatchObject({ status: 'timeout' });
    } finally {
      await admin.close();
    }

    const late = await platform.startBus();
    try {
      await until(async () => (await late.command(id, 'get_status', {}, 500)).status === 'ok', 30_000);
      expect(sim.connected).toBe(true);
    } finally {
      await late.close();
    }
  }, 60_000);

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
