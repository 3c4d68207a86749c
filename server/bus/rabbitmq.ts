/**
 * The RabbitMQ device bus: the original libpyiotcloud architecture. Devices connect to RabbitMQ
 * (MQTTS or AMQPS, mutual TLS, authorised by the server's broker-auth endpoints); the server talks
 * AMQP 0-9-1 to the same node:
 *
 * - a command is published to `amq.topic` with routing key `<id>.<command>` (not persistent, not
 *   mandatory: a request nobody hears is a timeout, exactly as with MQTT QoS 1 to an absent device);
 * - answers arrive on this server's own exclusive, auto-delete queue bound to `server.*.*`, so
 *   several servers can share a node;
 * - presence comes from `rabbitmq_event_exchange` (connection.created / connection.closed);
 * - a device queue `mqtt-subscription-<id>qos1` declared by its own device is bound to
 *   `amq.topic` with `<id>.#` (queue.created): AMQP 1.0 devices cannot bind on RabbitMQ 3.10;
 * - closing a device's connections needs the node's CLI (`BrokerControl`): AMQP cannot do it.
 *
 * When the broker goes away, every command in flight answers 'unavailable' at once (the REST layer
 * says 503), new commands are refused the same way, and the bus reconnects with backoff.
 */
import amqp, { type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { backoffDelay, hostOf, serverName } from '../../device-link/index.ts';
import type { Logger } from 'pino';
import {
  AMQP_EXCHANGE,
  decodeResponse,
  deviceOfAmqpQueue,
  deviceSubscription,
  encodeRequest,
  isValidDeviceId,
  PendingRequests,
  serverSubscription,
  type CommandName,
  type CommandOutcome,
} from '../../firmware-protocol/index.ts';
import type { BusCounters, DeviceBus, PresenceEvent } from './device-bus.ts';
import { PresenceTracker, type ConnectionRecord } from './rabbitmq/presence.ts';

/** What the node's CLI can do that AMQP cannot (`broker/control.ts` implements it with rabbitmqctl). */
export interface BrokerControl {
  /** Close every connection of this user and forget its cached auth answers. */
  disconnectUser(username: string): Promise<void>;
  /** Every client connection on the node, to rebuild presence after a reconnection. */
  listConnections(): Promise<ConnectionRecord[]>;
  /** Queues and bindings, to bind device queues declared while no server was listening. */
  listQueues(): Promise<{ name: string; durable: boolean; autoDelete: boolean }[]>;
  listBindings(): Promise<{ source: string; destination: string; routingKey: string }[]>;
}

export interface RabbitmqBusOptions {
  /** `amqps://host:5681`: the node offers AMQP to devices and the server over TLS only. */
  url: string;
  /**
   * The platform CA, and the server's service client certificate: the login (SASL EXTERNAL, the
   * certificate CN is the node's internal service user). The node offers no password login.
   */
  tls: { caPem: string; certPem: string; keyPem: string };
  /** Where devices connect, e.g. `mqtts://127.0.0.1:8893`: reported as `deviceUrl`. */
  deviceUrl: string;
  control?: BrokerControl;
  logger: Logger;
  reconnect?: { initialMs?: number; maxMs?: number };
  /** AMQP heartbeat: how soon a silently dead broker is noticed (about twice this). */
  heartbeatSeconds?: number;
  /** How long disconnectDevice waits for the broker to report the device gone. */
  disconnectWaitMs?: number;
}

const EVENT_EXCHANGE = 'amq.rabbitmq.event';
/** Every answer, `server.<id>.<command>`. */
const ANSWER_BINDING = serverSubscription('amqp');

interface Live {
  model: ChannelModel;
  channel: Channel;
}

export async function startRabbitmqBus(options: RabbitmqBusOptions): Promise<DeviceBus> {
  const bus = new RabbitmqBus(options);
  await bus.start();
  return bus;
}

class RabbitmqBus implements DeviceBus {
  readonly deviceUrl: string;
  private readonly pending = new PendingRequests();
  private readonly listeners: ((event: PresenceEvent) => void)[] = [];
  /** disconnectDevice callers waiting for the broker to report a device gone. */
  private readonly offlineWaiters = new Map<string, Set<() => void>>();
  private readonly presence = new PresenceTracker((event) => {
    for (const listener of this.listeners) listener(event);
    if (!event.online) for (const wake of this.offlineWaiters.get(event.deviceId) ?? []) wake();
  });
  private readonly stats = { commandsSent: 0, answersMatched: 0, answersInvalid: 0 };
  private readonly log: Logger;
  private live: Live | undefined;
  private closing = false;
  private readonly background = new Set<Promise<void>>();
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: RabbitmqBusOptions) {
    this.deviceUrl = options.deviceUrl;
    this.log = options.logger;
  }

  /** The first connection: a wrong URL or password fails the server's start, loudly. */
  async start(): Promise<void> {
    await this.connect();
  }

  async command(deviceId: string, command: CommandName, params: unknown, timeoutMs: number): Promise<CommandOutcome> {
    const { cid, outcome } = this.pending.open(deviceId, command, timeoutMs);
    const encoded = encodeRequest(deviceId, command, params as never, { cid, transport: 'amqp' });
    if (!encoded.ok) {
      this.pending.fail(cid, encoded.error.message);
      return outcome;
    }
    const live = this.live;
    if (!live) {
      this.pending.fail(cid, 'the message broker is unavailable; reconnecting');
      return outcome;
    }
    try {
      // Returns false when the socket buffer is full; the message is still queued in order.
      live.channel.publish(AMQP_EXCHANGE, encoded.value.topic, encoded.value.payload, { persistent: false, mandatory: false, contentType: 'application/json' });
      this.stats.commandsSent++;
    } catch (error) {
      this.pending.fail(cid, `publish failed: ${(error as Error).message}`);
    }
    return outcome;
  }

  async disconnectDevice(deviceId: string): Promise<void> {
    if (!isValidDeviceId(deviceId)) return;
    if (!this.options.control) {
      this.log.warn({ deviceId }, 'cannot close the device connection: no broker control configured; it ends when the device reconnects');
      return;
    }
    try {
      await this.options.control.disconnectUser(deviceId);
    } catch (error) {
      // The registry already refuses the device; its cached allow expires with the cache TTL.
      this.log.warn({ deviceId, err: (error as Error).message }, 'could not close the device connection through the broker CLI');
      return;
    }
    await this.untilOffline(deviceId, this.options.disconnectWaitMs ?? 3000);
  }

  isConnected(deviceId: string): boolean {
    return this.presence.isOnline(deviceId);
  }

  onPresence(listener: (event: PresenceEvent) => void): void {
    this.listeners.push(listener);
  }

  counters(): BusCounters {
    return { ...this.stats, answersUnmatched: this.pending.unmatched, devicesConnected: this.presence.deviceCount };
  }

  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.retryTimer);
    this.pending.failAll('the server is shutting down');
    const live = this.live;
    this.live = undefined;
    await live?.model.close().catch(() => undefined);
    // A rabbitmqctl still running would outlive the bus and write into the node's folder
    // (its Erlang VM recreates $HOME/.erlang.cookie) while the node is stopped and removed.
    await Promise.allSettled([...this.background]);
  }

  /** Work started by an event, not by a caller: close() waits for it. */
  private inBackground(work: Promise<void>): void {
    this.background.add(work);
    const done = () => void this.background.delete(work);
    work.then(done, done);
  }

  // -------------------------------------------------------------------------------------------

  private async connect(): Promise<void> {
    const model = await amqp.connect(this.connectOptions(), this.socketOptions());
    if (this.closing) {
      await model.close().catch(() => undefined); // close() ran while we were connecting
      return;
    }
    try {
      const channel = await model.createChannel();
      await this.declare(channel);
      this.watch(model, channel);
      this.live = { model, channel };
      this.attempt = 0;
      this.log.info({ url: this.options.url }, 'connected to the message broker');
    } catch (error) {
      await model.close().catch(() => undefined);
      throw error;
    }
    if (this.options.control) {
      this.inBackground(this.resyncPresence());
      this.inBackground(this.bindMissedDeviceQueues());
    }
  }

  private async declare(channel: Channel): Promise<void> {
    // Server-named, exclusive, auto-delete: this server's private inbox, gone with its connection.
    const answers = await channel.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
    await channel.bindQueue(answers.queue, AMQP_EXCHANGE, ANSWER_BINDING);
    await channel.consume(answers.queue, (message) => message && this.onAnswer(message), { noAck: true });

    const events = await channel.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
    await channel.bindQueue(events.queue, EVENT_EXCHANGE, 'connection.created');
    await channel.bindQueue(events.queue, EVENT_EXCHANGE, 'connection.closed');
    await channel.bindQueue(events.queue, EVENT_EXCHANGE, 'queue.created');
    await channel.consume(events.queue, (message) => message && this.onEvent(message), { noAck: true });
  }

  private watch(model: ChannelModel, channel: Channel): void {
    let lastError: Error | undefined;
    model.on('error', (error: Error) => (lastError = error));
    channel.on('error', (error: Error) => (lastError = error));
    // A channel closed by an error leaves us deaf: drop the connection and build everything again.
    channel.on('close', () => void model.close().catch(() => undefined));
    model.on('close', () => {
      if (this.live?.model !== model) return;
      this.live = undefined;
      if (this.closing) return;
      const why = lastError?.message ?? 'connection closed';
      this.log.warn({ reason: why }, 'lost the message broker; commands fail until it is back');
      this.pending.failAll(`the message broker connection was lost (${why})`);
      this.presence.clear(); // we no longer hear connects and disconnects
      this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    if (this.closing) return;
    // jitter: many servers do not reconnect in step
    const delay = backoffDelay({ initialMs: this.options.reconnect?.initialMs ?? 100, maxMs: this.options.reconnect?.maxMs ?? 5000, factor: 2 }, this.attempt++);
    this.retryTimer = setTimeout(() => {
      this.connect().catch((error: unknown) => {
        this.log.debug({ err: (error as Error).message, attempt: this.attempt }, 'broker reconnection failed');
        this.scheduleReconnect();
      });
    }, delay);
  }

  private onAnswer(message: ConsumeMessage): void {
    const decoded = decodeResponse(message.fields.routingKey, message.content, { transport: 'amqp' });
    if (!decoded.ok) {
      this.stats.answersInvalid++;
      this.log.warn({ routingKey: message.fields.routingKey, error: decoded.error.message }, 'invalid device answer');
      this.pending.settleInvalid(decoded.error, message.fields.routingKey, message.content);
    } else if (this.pending.settle(decoded.value)) {
      this.stats.answersMatched++;
    }
  }

  private onEvent(message: ConsumeMessage): void {
    const headers = message.properties.headers ?? {};
    const name = typeof headers.name === 'string' ? headers.name : undefined;
    if (name === undefined) return;
    const at = typeof headers.timestamp_in_ms === 'number' ? new Date(headers.timestamp_in_ms) : new Date();
    if (message.fields.routingKey === 'connection.created' && typeof headers.user === 'string') {
      this.presence.opened({ name, user: headers.user }, at);
    } else if (message.fields.routingKey === 'connection.closed') {
      this.presence.closed(name, at);
    } else if (message.fields.routingKey === 'queue.created') {
      this.onQueueCreated(name, headers.user_who_performed_action, headers.auto_delete);
    }
  }

  /**
   * An AMQP 1.0 device consumes `/queue/mqtt-subscription-<id>qos1`; RabbitMQ 3.10's plugin
   * declares that queue but cannot bind it, so requests would never reach it. Bind it when its
   * own device declared it (the auth backend lets a device declare no other). Auto-delete queues
   * are MQTT clean sessions, which the MQTT plugin binds itself: skipping them keeps this off
   * the per-connect path.
   */
  private onQueueCreated(queue: string, declaredBy: unknown, autoDelete: unknown): void {
    const deviceId = deviceOfAmqpQueue(queue);
    if (deviceId && declaredBy === deviceId && autoDelete !== true) this.inBackground(this.bindDeviceQueue(queue, deviceId));
  }

  /** Bind a device queue to the device's requests (binding again is a no-op). */
  private async bindDeviceQueue(queue: string, deviceId: string): Promise<void> {
    const live = this.live;
    if (!live) return;
    try {
      // Its own channel: a failed bind (the queue went away meanwhile) closes the channel it ran on.
      const channel = await live.model.createChannel();
      channel.on('error', () => undefined);
      try {
        await channel.bindQueue(queue, AMQP_EXCHANGE, deviceSubscription(deviceId, 'amqp'));
        this.log.debug({ deviceId, queue }, 'bound a device queue to its requests');
      } finally {
        await channel.close().catch(() => undefined);
      }
    } catch (error) {
      this.log.warn({ deviceId, queue, err: (error as Error).message }, 'could not bind a device queue to its requests; it gets none until a server (re)connects to the broker and binds it');
    }
  }

  /**
   * After a (re)connection: an AMQP 1.0 device that declared its queue while no server listened
   * would never be bound (see onQueueCreated). Bind every durable device queue that lacks its
   * binding, one at a time.
   */
  private async bindMissedDeviceQueues(): Promise<void> {
    const live = this.live;
    try {
      const control = this.options.control!;
      const [queues, bindings] = await Promise.all([control.listQueues(), control.listBindings()]);
      const bound = new Set(bindings.filter((b) => b.source === AMQP_EXCHANGE).map((b) => `${b.destination}\n${b.routingKey}`));
      const missing = queues.flatMap((queue) => {
        const deviceId = deviceOfAmqpQueue(queue.name);
        const key = deviceId && deviceSubscription(deviceId, 'amqp');
        return deviceId && key && queue.durable && !queue.autoDelete && !bound.has(`${queue.name}\n${key}`) ? [{ queue: queue.name, deviceId }] : [];
      });
      if (missing.length === 0 || this.live !== live) return;
      this.log.info({ queues: missing.length }, 'binding device queues declared while no server was connected');
      for (const { queue, deviceId } of missing) await this.bindDeviceQueue(queue, deviceId);
    } catch (error) {
      this.log.warn({ err: (error as Error).message }, 'could not check device queue bindings; AMQP 1.0 devices that declared theirs meanwhile get no requests');
    }
  }

  /** After a (re)connection: events were missed while away, so ask the node who is connected. */
  private async resyncPresence(): Promise<void> {
    const live = this.live;
    try {
      // Listing takes a second or more (rabbitmqctl): events heard meanwhile may be newer than
      // it, and the tracker keeps them rather than let the listing undo them.
      const window = this.presence.beginListing();
      try {
        const connections = await this.options.control!.listConnections();
        if (this.live === live) this.presence.reset(connections);
      } finally {
        this.presence.endListing(window);
      }
    } catch (error) {
      this.log.warn({ err: (error as Error).message }, 'could not list broker connections; presence catches up as devices reconnect');
    }
  }

  private async untilOffline(deviceId: string, ms: number): Promise<void> {
    if (!this.presence.isOnline(deviceId)) return;
    const waiters = this.offlineWaiters.get(deviceId) ?? new Set<() => void>();
    this.offlineWaiters.set(deviceId, waiters);
    let wake!: () => void;
    const gone = new Promise<void>((resolve) => (wake = resolve));
    waiters.add(wake);
    const timer = setTimeout(wake, ms);
    try {
      await gone;
    } finally {
      clearTimeout(timer);
      waiters.delete(wake);
      if (waiters.size === 0) this.offlineWaiters.delete(deviceId);
    }
  }

  private connectOptions(): amqp.Options.Connect {
    const url = new URL(this.options.url);
    if (url.protocol !== 'amqps:') throw new Error(`broker URL must be amqps:// (the node logs the server in by its client certificate), got ${url.protocol}//`);
    if (url.username || url.password) throw new Error('the broker URL must not hold credentials: the server logs in with its service client certificate (SASL EXTERNAL)');
    const vhost = decodeURIComponent(url.pathname.slice(1)) || '/';
    return {
      protocol: 'amqps',
      hostname: hostOf(url),
      port: url.port ? Number(url.port) : 5671,
      vhost,
      heartbeat: this.options.heartbeatSeconds ?? 5,
    };
  }

  private socketOptions(): Record<string, unknown> {
    const url = new URL(this.options.url);
    return {
      noDelay: true, // commands are tiny; Nagle would hold each back for an ACK
      credentials: amqp.credentials.external(),
      ca: [this.options.tls.caPem],
      cert: this.options.tls.certPem,
      key: this.options.tls.keyPem,
      ...serverName(url),
    };
  }
}
