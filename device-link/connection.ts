/**
 * One connection core over thin transports (the shape MQTT.js uses): a transport only knows how
 * to open one session to its broker; this module owns the life cycle every device needs —
 * subscribe before reporting "up", reconnect with exponential backoff and jitter after a loss,
 * drop abruptly as a power cut would, and shut down cleanly.
 */
import type { Transport } from '../firmware-protocol/index.ts';
import { Backoff, defaultBackoff, type BackoffOptions } from './backoff.ts';
import type { Credentials } from './credentials.ts';
import { refusalOf, type Refusal } from './refusal.ts';

/** What every transport is given. */
export interface TransportOptions {
  url: string;
  deviceId: string;
  /** Mutual TLS material; required for `mqtts://` and `amqps://`. */
  credentials?: Credentials;
  /** Plain-text `mqtt://` / `amqp://` must be asked for: device traffic is meant to be encrypted. */
  allowPlaintext?: boolean;
}

/** Callbacks from a live session to the connection core. */
export interface SessionHandlers {
  message(topic: string, payload: Buffer): void;
  /** The session ended without being asked to (broker closed it, network failed). */
  lost(error?: Error): void;
}

/** One live broker connection, as made by a thin transport. */
export interface BrokerSession {
  /** Start receiving requests (subscribe / consume); resolves once they can arrive. */
  listen(): Promise<void>;
  /** Publish one answer; resolves when the broker has it (QoS 1 / publisher confirm). */
  send(topic: string, payload: Buffer): Promise<void>;
  /** Drop the connection with no goodbye, as a power cut or a pulled cable would. */
  destroy(): void;
  /** Say goodbye and close. */
  close(): Promise<void>;
}

export interface TransportBinding {
  /** Topic syntax on this transport: MQTT `a/b` or AMQP routing keys `a.b`. */
  topicStyle: Transport;
  open(handlers: SessionHandlers): Promise<BrokerSession>;
}

/** The shape the device sees, whatever the transport. */
export interface DeviceConnection {
  readonly topicStyle: Transport;
  readonly connected: boolean;
  /** Connect once; rejects when this first attempt fails (bad URL, refused certificate...). */
  connect(): Promise<void>;
  /** Connect in the background, retrying with backoff until it works (after a reboot). */
  resume(): void;
  /** Publish an answer; rejects when the connection is down. */
  send(topic: string, payload: Buffer): Promise<void>;
  /** Lose the connection abruptly, then reconnect with backoff (a network fault). */
  drop(): void;
  /** Lose the connection abruptly and stay down until `connect()`/`resume()` (a power cycle). */
  disconnect(): void;
  /** Close cleanly and stay down. */
  close(): Promise<void>;
}

export interface ConnectionEvents {
  message(topic: string, payload: Buffer): void;
  up(): void;
  down(error?: Error): void;
  /** A background (re)connection attempt failed; another is scheduled in `retryInMs`. */
  retry(error: Error, retryInMs: number): void;
  /**
   * Given: a background attempt the broker refused for good (see refusal.ts) ends the retries
   * and lands here instead of `retry`. Without it every failure is retried (a fleet, the bridge).
   */
  refused?(error: Error, refusal: Refusal): void;
}

export class ReconnectingConnection implements DeviceConnection {
  readonly topicStyle: Transport;
  private session: BrokerSession | undefined;
  /** Whether `up` was reported for the current session (so `down` pairs with it). */
  private reportedUp = false;
  /** Bumped whenever earlier attempts must be abandoned (disconnect, close). */
  private generation = 0;
  private wanted = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly backoff: Backoff;

  constructor(
    private readonly binding: TransportBinding,
    private readonly events: ConnectionEvents,
    backoff: Partial<BackoffOptions> = {},
    random: () => number = Math.random,
    /** A broker that accepts the connection but never confirms the subscription is a fault too. */
    private readonly listenTimeoutMs = 10_000,
  ) {
    this.topicStyle = binding.topicStyle;
    this.backoff = new Backoff({ ...defaultBackoff, ...backoff }, random);
  }

  get connected(): boolean {
    return this.reportedUp;
  }

  async connect(): Promise<void> {
    this.wanted = true;
    try {
      await this.attempt(this.generation);
    } catch (error) {
      this.wanted = false;
      throw error;
    }
  }

  resume(): void {
    this.wanted = true;
    if (this.session === undefined && this.retryTimer === undefined) this.tryInBackground(0);
  }

  send(topic: string, payload: Buffer): Promise<void> {
    if (!this.session) return Promise.reject(new Error('not connected'));
    return this.session.send(topic, payload);
  }

  drop(): void {
    if (!this.session) return;
    this.release(new Error('connection dropped (simulated network fault)'))?.destroy();
    this.tryInBackground(this.backoff.next());
  }

  disconnect(): void {
    this.stop();
    this.release()?.destroy();
  }

  async close(): Promise<void> {
    this.stop();
    await this.release()?.close();
  }

  private stop(): void {
    this.wanted = false;
    this.generation++;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  /** Forget the current session (reporting `down` if it was up) and hand it back to be ended. */
  private release(error?: Error): BrokerSession | undefined {
    const session = this.session;
    const wasUp = this.reportedUp;
    this.session = undefined;
    this.reportedUp = false;
    if (wasUp) this.events.down(error);
    return session;
  }

  /** One attempt: open, then listen; only then is the device "up". */
  private async attempt(generation: number): Promise<void> {
    const mine: { session?: BrokerSession } = {}; // set once the opened session is ours
    let early: [string, Buffer][] | undefined = [];
    let lostEarly: { error?: Error } | undefined;
    // Methods, not arrows: tsx names every closure assigned to a name (esbuild keepNames), giving
    // each its own property store; a fleet holds these for every device.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const connection = this;
    const handlers: SessionHandlers = {
      message(topic, payload) {
        if (early) early.push([topic, payload]); // arrived before the session was ours
        else if (mine.session === connection.session) connection.events.message(topic, payload);
      },
      lost(error) {
        if (mine.session === undefined || mine.session !== connection.session || !connection.reportedUp) {
          lostEarly = { error }; // still connecting: the attempt itself fails
          return;
        }
        connection.release(error);
        if (connection.wanted) connection.tryInBackground(connection.backoff.next());
      },
    };
    const session = await this.binding.open(handlers);
    if (generation !== this.generation || !this.wanted) {
      session.destroy(); // stopped while connecting
      return;
    }
    // Ours before listening: requests may arrive before `listen()` resolves (a persistent
    // session's queue), and their answers need a session to leave on.
    mine.session = session;
    this.session = session;
    const queued = early;
    early = undefined;
    for (const [topic, payload] of queued) this.events.message(topic, payload);
    try {
      await withinTime(session.listen(), this.listenTimeoutMs, 'the broker did not confirm the subscription');
      if (lostEarly) throw lostEarly.error ?? new Error('connection lost while subscribing');
    } catch (error) {
      if (this.session === session) this.session = undefined;
      session.destroy();
      throw error;
    }
    if (this.session !== session) return; // stopped while subscribing
    this.reportedUp = true;
    this.backoff.reset();
    this.events.up();
  }

  private tryInBackground(delayMs: number): void {
    clearTimeout(this.retryTimer);
    const generation = this.generation;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (generation !== this.generation || !this.wanted) return;
      this.attempt(generation).catch((error: unknown) => {
        if (generation !== this.generation || !this.wanted) return;
        const failure = error instanceof Error ? error : new Error(String(error));
        const refusal = this.events.refused ? refusalOf(failure) : undefined;
        if (refusal) {
          this.stop();
          this.events.refused!(failure, refusal);
          return;
        }
        const retryInMs = this.backoff.next();
        this.events.retry(failure, retryInMs);
        this.tryInBackground(retryInMs);
      });
    }, delayMs);
  }
}

async function withinTime<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}
