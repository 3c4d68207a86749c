/**
 * AMQP 0-9-1 transport (amqplib), the way an original libpyiotcloud AMQP device talks: consume
 * queue `mqtt-subscription-<id>qos1` bound to `amq.topic` with `<id>.#` — the queue RabbitMQ's
 * MQTT plugin makes for an MQTT device of the same id, so the two are interchangeable — and
 * publish answers to `amq.topic` with routing key `server.<id>.<command>`.
 *
 * Over `amqps://` the device logs in with its certificate (SASL EXTERNAL, CN = device id).
 */
import type { Duplex } from 'node:stream';
import amqp, { type ChannelModel, type ConfirmChannel, type Options } from 'amqplib';
import { AMQP_EXCHANGE, amqpDeviceQueue, deviceSubscription } from '../../firmware-protocol/index.ts';
import { type BrokerSession, type SessionHandlers, type TransportBinding, type TransportOptions } from '../connection.ts';
import { deviceTlsContext } from '../tls.ts';
import { checkUrl, serverName } from '../url.ts';

export interface Amqp091TransportOptions extends TransportOptions {
  /** How the device queue is declared when it does not exist yet. Default: durable, so
   * requests wait for the device across a reset, like a persistent MQTT session. */
  queue?: Options.AssertQueue;
  /** Requests delivered before earlier ones are acknowledged. */
  prefetch?: number;
}

export function amqp091Transport(options: Amqp091TransportOptions): TransportBinding {
  const { url, tls } = checkUrl(options, { tls: 'amqps', plain: 'amqp' });
  // noDelay: answers are tiny; Nagle's algorithm would hold each one back for the peer's ACK.
  const socketOptions: Record<string, unknown> = tls
    ? {
        noDelay: true,
        ...serverName(url),
        credentials: amqp.credentials.external(),
      }
    : { noDelay: true };
  return {
    topicStyle: 'amqp',
    // The TLS context is built at the first connection (see deviceTlsContext), then reused.
    open: (handlers) => openSession(options, tls ? { ...socketOptions, secureContext: deviceTlsContext(options.credentials!) } : socketOptions, handlers),
  };
}

async function openSession(options: Amqp091TransportOptions, socketOptions: object, handlers: SessionHandlers): Promise<BrokerSession> {
  const queue = amqpDeviceQueue(options.deviceId);
  const model = await amqp.connect(options.url, socketOptions);
  let ending = false;
  let lastError: Error | undefined;
  model.on('error', (error: Error) => (lastError = error));
  model.on('close', () => {
    if (ending) return;
    ending = true;
    handlers.lost(lastError ?? new Error('connection closed by the broker'));
  });

  let channel: ConfirmChannel;
  try {
    channel = await model.createConfirmChannel();
  } catch (error) {
    ending = true;
    await model.close().catch(() => undefined);
    throw error;
  }
  // A channel error (e.g. the queue was deleted under us) leaves the device deaf: treat it as a
  // lost connection so the core reconnects and declares everything again.
  channel.on('error', (error: Error) => (lastError = error));
  channel.on('close', () => {
    if (!ending) model.close().catch(() => undefined);
  });

  return {
    async listen() {
      await ensureQueue(model, channel, queue, options.queue ?? { durable: true, autoDelete: false });
      await channel.bindQueue(queue, AMQP_EXCHANGE, deviceSubscription(options.deviceId, 'amqp'));
      await channel.prefetch(options.prefetch ?? 64);
      await channel.consume(queue, (message) => {
        if (message === null) {
          // The broker cancelled the consumer (queue deleted): reconnect and declare again.
          model.close().catch(() => undefined);
          return;
        }
        handlers.message(message.fields.routingKey, message.content);
        channel.ack(message); // handed over: from here on the device, not the broker, owns it
      });
    },
    send(routingKey, payload) {
      return new Promise<void>((resolve, reject) => {
        try {
          channel.publish(AMQP_EXCHANGE, routingKey, payload, { contentType: 'application/json' }, (error) => (error ? reject(error) : resolve()));
        } catch (error) {
          reject(error as Error); // the channel is already closed
        }
      });
    },
    destroy() {
      ending = true;
      // amqplib has no abort: end the socket under it, as a power cut would.
      (model.connection as unknown as { stream: Duplex }).stream.destroy();
    },
    async close() {
      ending = true;
      await model.close().catch(() => undefined);
    },
  };
}

/**
 * Use the queue as it is when it exists (an MQTT session or the server may have declared it
 * with its own arguments; redeclaring with others would fail), else declare it. A failed
 * passive check closes its channel, hence the throwaway one.
 */
async function ensureQueue(model: ChannelModel, channel: ConfirmChannel, queue: string, declaration: Options.AssertQueue): Promise<void> {
  const probe = await model.createChannel();
  probe.on('error', () => undefined); // the expected 404 when the queue does not exist
  try {
    await probe.checkQueue(queue);
    await probe.close().catch(() => undefined);
  } catch {
    await channel.assertQueue(queue, declaration);
  }
}
