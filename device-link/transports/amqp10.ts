/**
 * AMQP 1.0 transport (rhea), for RabbitMQ 3.10's rabbitmq_amqp1_0 plugin and its address scheme:
 *
 *   receive  source `/queue/mqtt-subscription-<id>qos1` (declared durable if missing), or with
 *            `source: 'exchange'`, `/exchange/amq.topic/<id>.#` (a private queue the plugin
 *            binds for the life of the link)
 *   answer   target `/exchange/amq.topic/server.<id>.<command>`, one sender link per routing key
 *
 * AMQP 1.0 has no bind operation in 3.10, so with `source: 'queue'` the iotcloud server binds the
 * queue to `amq.topic` with `<id>.#` when the node reports that the device declared it
 * (server/bus/rabbitmq.ts); until then requests do not reach it. Requests arrive with their routing key
 * in the `x-routing-key` message annotation; bodies travel as one data section, which the plugin
 * maps to and from plain AMQP 0-9-1 / MQTT payload bytes.
 */
import type { Socket } from 'node:net';
import rhea from 'rhea';
import type { Connection, ConnectionOptions, Delivery, EventContext, Message, Sender } from 'rhea';
import { AMQP_EXCHANGE, amqpDeviceQueue, deviceSubscription } from '../../firmware-protocol/index.ts';
import { type BrokerSession, type SessionHandlers, type TransportBinding, type TransportOptions } from '../connection.ts';
import { deviceTlsContext } from '../tls.ts';
import { checkUrl, serverName } from '../url.ts';

export interface Amqp10TransportOptions extends TransportOptions {
  /**
   * Consume the device queue by name (default) or a private queue bound to `amq.topic`.
   * `exchange` is for tests only on RabbitMQ 3.10: its plugin declares that queue non-exclusive
   * and not auto-delete, and never deletes it, so every attach leaves behind a queue (`amq.gen-…`)
   * that keeps collecting the device's requests and that any device knowing its name may read.
   */
  source?: 'queue' | 'exchange';
  /** Requests delivered before earlier ones are settled. */
  creditWindow?: number;
  /** Ms to wait for the connection to open. */
  connectTimeoutMs?: number;
}

/** Terminus durability "unsettled-state": the plugin then declares the queue durable. */
const DURABLE_TERMINUS = 2;

export function amqp10Transport(options: Amqp10TransportOptions): TransportBinding {
  const { url, tls } = checkUrl(options, { tls: 'amqps', plain: 'amqp' });
  const port = url.port === '' ? (tls ? 5671 : 5672) : Number(url.port);
  const connectionOptions: ConnectionOptions = {
    host: url.hostname,
    port,
    reconnect: false, // the connection core reconnects, with the same backoff for every transport
    idle_time_out: 60_000,
    ...(tls
      ? {
          transport: 'tls',
          // rhea offers SASL EXTERNAL only when `cert` is set; the connection itself uses the
          // device's shared TLS context (secureContext wins over cert in tls.connect).
          cert: options.credentials!.certPem,
          ...serverName(url),
          rejectUnauthorized: true,
          enable_sasl_external: true,
        }
      : {
          username: decodeURIComponent(url.username || 'guest'),
          password: decodeURIComponent(url.password || 'guest'),
        }),
  };
  const vhost = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (vhost !== '') connectionOptions.hostname = `vhost:${vhost}`;
  return {
    topicStyle: 'amqp',
    // The TLS context is built at the first connection (see deviceTlsContext), then reused.
    open: (handlers) =>
      openSession(options, tls ? ({ ...connectionOptions, secureContext: deviceTlsContext(options.credentials!) } as ConnectionOptions) : connectionOptions, `${url.hostname}:${port}`, handlers),
  };
}

function openSession(options: Amqp10TransportOptions, connectionOptions: ConnectionOptions, where: string, handlers: SessionHandlers): Promise<BrokerSession> {
  return new Promise((resolve, reject) => {
    const container = rhea.create_container({ id: options.deviceId });
    // rhea re-emits unhandled link and connection errors on the container; an 'error' nobody
    // listens to would throw. The events below handle them; this one only absorbs the rest.
    container.on('error', () => undefined);
    const connection: Connection = container.connect(connectionOptions);
    let opened = false;
    let ending = false;
    let lastError: Error | undefined;
    const senders = new Map<string, Sender>();
    /** Answers sent and not yet settled by the broker, and answers waiting for link credit. */
    const unsettled = new Map<Delivery, { resolve: () => void; reject: (error: Error) => void }>();
    const waitingForCredit = new Map<Sender, ((error: Error) => void)[]>();
    const timer = setTimeout(() => fail(new Error(`AMQP 1.0 connection to ${where} did not open in time`)), options.connectTimeoutMs ?? 10_000);

    const destroySocket = () => (connection.socket as Socket | undefined)?.destroy();

    /** The connection is unusable: fail what waits on it and report it (or fail the open). */
    function fail(error: Error): void {
      clearTimeout(timer);
      if (ending) return;
      ending = true;
      destroySocket();
      if (!opened) return reject(error);
      for (const waiter of unsettled.values()) waiter.reject(error);
      unsettled.clear();
      for (const rejects of waitingForCredit.values()) for (const rejectSend of rejects) rejectSend(error);
      waitingForCredit.clear();
      handlers.lost(error);
    }

    /** A refused answer address fails the answers on that link only; the next answer retries it. */
    function senderFailed(sender: Sender, error: Error): void {
      for (const [key, value] of senders) if (value === sender) senders.delete(key);
      for (const rejectSend of waitingForCredit.get(sender) ?? []) rejectSend(error);
      waitingForCredit.delete(sender);
      for (const [delivery, waiter] of unsettled) {
        if (delivery.link !== sender) continue;
        unsettled.delete(delivery);
        waiter.reject(error);
      }
    }

    // SASL failures come in `context.error`, not `connection.error`.
    connection.on('connection_error', (context: EventContext) => (lastError = asError(context.error ?? context.connection.error, 'connection refused')));
    connection.on('connection_close', (context: EventContext) => fail(lastError ?? asError(context.connection.error, 'connection closed by the broker')));
    connection.on('disconnected', (context: EventContext) => fail(lastError ?? asError(context.error, 'disconnected')));
    connection.on('sender_error', (context: EventContext) => context.sender && senderFailed(context.sender, asError(context.sender.error, 'the broker refused the answer address')));
    connection.on('sender_close', (context: EventContext) => context.sender && senderFailed(context.sender, new Error('the broker closed the answer link')));
    const settle = (outcome: 'accepted' | 'rejected' | 'released' | 'modified') => (context: EventContext) => {
      const waiter = context.delivery && unsettled.get(context.delivery);
      if (!waiter) return;
      unsettled.delete(context.delivery!);
      if (outcome === 'accepted') waiter.resolve();
      else waiter.reject(new Error(`the broker ${outcome} the answer`));
    };
    for (const outcome of ['accepted', 'rejected', 'released', 'modified'] as const) connection.on(outcome, settle(outcome));

    function listen(): Promise<void> {
      const address =
        options.source === 'exchange'
          ? `/exchange/${AMQP_EXCHANGE}/${deviceSubscription(options.deviceId, 'amqp')}`
          : `/queue/${amqpDeviceQueue(options.deviceId)}`;
      return new Promise((resolveListen, rejectListen) => {
        const receiver = connection.open_receiver({
          source: { address, durable: options.source === 'exchange' ? 0 : DURABLE_TERMINUS },
          credit_window: options.creditWindow ?? 64,
          autoaccept: true, // handed over: from here on the device, not the broker, owns the request
        });
        let listening = false;
        receiver.on('message', (context: EventContext) => {
          if (context.message) handlers.message(routingKeyOf(context.message), bodyOf(context.message));
        });
        receiver.once('receiver_open', () => {
          listening = true;
          resolveListen();
        });
        // Refused at attach, or detached later (queue deleted): either way the device is deaf,
        // so the connection is treated as lost and the core connects and attaches again.
        const refused = (context: EventContext) => {
          const error = asError(context.receiver?.error, `the broker ${listening ? 'detached' : 'refused'} ${address}`);
          if (!listening) rejectListen(error);
          fail(error);
        };
        receiver.on('receiver_error', refused);
        receiver.on('receiver_close', refused);
      });
    }

    function send(routingKey: string, payload: Buffer): Promise<void> {
      return new Promise<void>((resolveSend, rejectSend) => {
        if (ending) return rejectSend(new Error('not connected'));
        const sender = senderFor(connection, senders, routingKey);
        const transmit = () => {
          if (ending) return rejectSend(new Error('not connected'));
          const delivery = sender.send({ body: rhea.message.data_section(payload), content_type: 'application/json' } as Message);
          unsettled.set(delivery, { resolve: resolveSend, reject: rejectSend });
        };
        if (sender.sendable()) return transmit();
        const rejects = waitingForCredit.get(sender) ?? [];
        rejects.push(rejectSend);
        waitingForCredit.set(sender, rejects);
        sender.once('sendable', () => {
          const list = waitingForCredit.get(sender);
          list?.splice(list.indexOf(rejectSend), 1);
          transmit();
        });
      });
    }

    connection.once('connection_open', () => {
      clearTimeout(timer);
      opened = true;
      resolve({
        listen,
        send,
        destroy() {
          ending = true;
          destroySocket();
        },
        close: () =>
          new Promise<void>((resolveClose) => {
            ending = true;
            const late = setTimeout(() => {
              destroySocket();
              resolveClose();
            }, 2_000);
            connection.once('connection_close', () => {
              clearTimeout(late);
              resolveClose();
            });
            connection.close();
          }),
      });
    });
  });
}

/** One sender link per routing key (answers use a handful: one per command). */
function senderFor(connection: Connection, senders: Map<string, Sender>, routingKey: string): Sender {
  let sender = senders.get(routingKey);
  if (!sender) {
    sender = connection.open_sender({ target: { address: `/exchange/${AMQP_EXCHANGE}/${routingKey}` } });
    senders.set(routingKey, sender);
  }
  return sender;
}

function routingKeyOf(message: Message): string {
  const annotated = message.message_annotations?.['x-routing-key'];
  return typeof annotated === 'string' ? annotated : (message.subject ?? '');
}

/** A data section's bytes (what AMQP 0-9-1 and MQTT publishers produce), or a text body. */
function bodyOf(message: Message): Buffer {
  const body: unknown = message.body;
  if (Buffer.isBuffer(body)) return body;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  const content = (body as { content?: unknown } | null)?.content;
  if (Buffer.isBuffer(content)) return content;
  if (Array.isArray(content) && content.every((part) => Buffer.isBuffer(part))) return Buffer.concat(content);
  if (typeof content === 'string') return Buffer.from(content, 'utf8');
  // Not bytes (an AMQP value or sequence): no protocol payload, and its text form makes the
  // board answer MALFORMED as it must.
  return Buffer.from(String(body), 'utf8');
}

function asError(error: unknown, fallback: string): Error {
  if (error instanceof Error) return error;
  const amqpError = error as { condition?: string; description?: string } | undefined;
  if (amqpError?.condition) return new Error(`${fallback}: ${amqpError.condition}${amqpError.description ? ` (${amqpError.description})` : ''}`);
  return new Error(fallback);
}
