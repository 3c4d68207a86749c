/**
 * A simulated device: one board, one behaviour profile, one connection over any of the three
 * transports. The board decides what to answer; the profile decides when and how (or whether)
 * the answer leaves; the connection carries it. A reset answers first, then power-cycles: the
 * connection drops, the board comes back with power-on state, and the device connects again.
 */
import { EventEmitter } from 'node:events';
import { Board, type BoardOptions } from './board.ts';
import { Behaviour, parseProfile, type AnswerPlan, type MalformedKind, type Profile } from './profiles.ts';
import { seededRandom, seedFrom } from './prng.ts';
import {
  amqp091Transport,
  amqp10Transport,
  mqttTransport,
  ReconnectingConnection,
  type Amqp091TransportOptions,
  type Amqp10TransportOptions,
  type BackoffOptions,
  type Credentials,
  failureText,
  type DeviceConnection,
  type MqttTransportOptions,
  type Refusal,
  type TransportBinding,
} from '../device-link/index.ts';

import { transportNames, type TransportName } from './transport-names.ts';
export { transportNames, type TransportName } from './transport-names.ts';

/** The part of a pino logger the device uses (a pino logger fits). */
export interface DeviceLogger {
  debug(object: object, message?: string): void;
  info(object: object, message?: string): void;
  warn(object: object, message?: string): void;
}

export interface DeviceOptions {
  transport: TransportName;
  /** `mqtts://host:8883`, `amqps://host:5671` (or plain `mqtt://` / `amqp://` with `allowPlaintext`). */
  url: string;
  deviceId: string;
  credentials?: Credentials;
  allowPlaintext?: boolean;
  /** A profile or its text form, e.g. `delay=5-20,drop=0.1,legacy`. */
  profile?: Profile | string;
  logger?: DeviceLogger;
  board?: Omit<BoardOptions, 'topicStyle'>;
  /** How long a reset keeps the device away before it connects again. Default 100 ms. */
  bootMs?: number;
  reconnect?: Partial<BackoffOptions>;
  /** Stop reconnecting when the broker refuses the device for good (emits `refused`); a
   * single simulated device does, a fleet keeps trying (see simulators/fleet/fleet.ts). */
  stopWhenRefused?: boolean;
  mqtt?: Pick<MqttTransportOptions, 'clean' | 'keepaliveSeconds' | 'connectTimeoutMs'>;
  amqp091?: Pick<Amqp091TransportOptions, 'queue' | 'prefetch'>;
  amqp10?: Pick<Amqp10TransportOptions, 'source' | 'creditWindow' | 'connectTimeoutMs'>;
}

export interface DeviceCounters {
  /** Messages delivered by the broker. */
  received: number;
  /** Answers the broker accepted. */
  answered: number;
  /** Of those, protocol error answers. */
  errors: number;
  /** Requests lost on purpose (profile `drop`). */
  dropped: number;
  /** Messages not answered because they were not ours to answer. */
  ignored: number;
  /** Answers broken on purpose (profile `malformed`). */
  malformed: number;
  /** Answers held back on purpose (profile `late`). */
  late: number;
  /** Answers that could not be published (connection down). */
  sendFailures: number;
  /** Connections made after the first one. */
  reconnects: number;
  disconnects: number;
  resets: number;
}

export interface SentAnswer {
  topic: string;
  payload: Buffer;
  command: string;
  cid?: string;
  errorCode?: number;
  delayMs: number;
  late: boolean;
  malformed?: MalformedKind;
}

export interface DeviceEvents {
  connected: [];
  disconnected: [error: Error | undefined];
  reset: [];
  request: [topic: string, payload: Buffer];
  answer: [answer: SentAnswer];
  dropped: [topic: string];
  /** With `stopWhenRefused`: the broker refused a reconnection for good; the device is down. */
  refused: [error: Error, refusal: Refusal];
}

const DEFAULT_BOOT_MS = 100;

/** A device's counters before it has done anything. */
export function zeroCounters(): DeviceCounters {
  return {
    received: 0, answered: 0, errors: 0, dropped: 0, ignored: 0, malformed: 0, late: 0,
    sendFailures: 0, reconnects: 0, disconnects: 0, resets: 0,
  };
}

export class SimulatedDevice extends EventEmitter<DeviceEvents> {
  readonly deviceId: string;
  readonly transport: TransportName;
  readonly board: Board;
  readonly profile: Profile;
  readonly counters: DeviceCounters = zeroCounters();
  private readonly behaviour: Behaviour;
  private readonly connection: DeviceConnection;
  private readonly logger: DeviceLogger | undefined;
  private readonly bootMs: number;
  /** Answers waiting for their delay; a reset or stop cancels them, as power loss would. */
  private readonly delayed = new Set<NodeJS.Timeout>();
  private disconnectTimer: NodeJS.Timeout | undefined;
  private bootTimer: NodeJS.Timeout | undefined;
  private everConnected = false;
  private stopped = false;

  constructor(options: DeviceOptions) {
    super();
    this.deviceId = options.deviceId;
    this.transport = options.transport;
    this.logger = options.logger;
    this.bootMs = options.bootMs ?? DEFAULT_BOOT_MS;
    this.profile = typeof options.profile === 'string' ? parseProfile(options.profile) : (options.profile ?? {});
    const binding = bindingFor(options);
    this.board = new Board(options.deviceId, { ...options.board, topicStyle: binding.topicStyle });
    this.behaviour = new Behaviour(this.profile, options.deviceId, binding.topicStyle);
    // Methods, not arrows: tsx names every closure assigned to a name (esbuild keepNames), which
    // gives each its own property store, per device in a fleet of thousands.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const device = this;
    this.connection = new ReconnectingConnection(
      binding,
      {
        message(topic, payload) {
          device.receive(topic, payload);
        },
        up() {
          device.onUp();
        },
        down(error) {
          device.onDown(error);
        },
        retry(error, retryInMs) {
          // The reason, not the stack: this repeats once per attempt while the broker is away.
          device.logger?.warn({ deviceId: device.deviceId, reason: failureText(error), retryInMs: Math.round(retryInMs) }, 'connection attempt failed');
        },
        ...(options.stopWhenRefused
          ? {
              refused(error: Error, refusal: Refusal) {
                device.emit('refused', error, refusal);
              },
            }
          : {}),
      },
      options.reconnect,
      seededRandom(seedFrom(this.profile.seed ?? 0, options.deviceId, 'backoff')),
    );
  }

  get connected(): boolean {
    return this.connection.connected;
  }

  /** Connect; rejects when the first connection fails (the device is then stopped). */
  async start(): Promise<void> {
    try {
      await this.connection.connect();
    } catch (error) {
      this.stopped = true;
      throw error;
    }
    this.scheduleDisconnect();
  }

  /** Lose the connection now, as a network fault would; it comes back with backoff. */
  dropConnection(): void {
    this.connection.drop();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.cancelDelayedAnswers();
    clearTimeout(this.disconnectTimer);
    clearTimeout(this.bootTimer);
    await this.connection.close();
  }

  private receive(topic: string, payload: Buffer): void {
    this.counters.received++;
    this.emit('request', topic, payload);
    if (!this.behaviour.admit()) {
      this.counters.dropped++;
      this.emit('dropped', topic);
      return;
    }
    const answer = this.board.handle(topic, payload);
    if (!answer) {
      this.counters.ignored++;
      return;
    }
    const plan = this.behaviour.plan(answer);
    if (plan.malformed) this.counters.malformed++;
    if (plan.late) this.counters.late++;
    const sent: SentAnswer = {
      topic: plan.topic, payload: plan.payload, command: answer.command, delayMs: plan.delayMs, late: plan.late,
      ...(answer.cid === undefined ? {} : { cid: answer.cid }),
      ...(answer.errorCode === undefined ? {} : { errorCode: answer.errorCode }),
      ...(plan.malformed === undefined ? {} : { malformed: plan.malformed }),
    };
    if (plan.delayMs <= 0) return this.transmit(sent, plan, answer.restart);
    const timer = setTimeout(() => {
      this.delayed.delete(timer);
      this.transmit(sent, plan, answer.restart);
    }, plan.delayMs);
    this.delayed.add(timer);
  }

  private transmit(sent: SentAnswer, plan: AnswerPlan, restart: boolean): void {
    this.connection.send(plan.topic, plan.payload).then(
      () => {
        this.counters.answered++;
        if (sent.errorCode !== undefined) this.counters.errors++;
        this.emit('answer', sent);
        if (restart) this.powerCycle();
      },
      (error: unknown) => {
        this.counters.sendFailures++;
        this.logger?.warn({ deviceId: this.deviceId, topic: plan.topic, reason: failureText(error) }, 'answer not sent');
        if (restart) this.powerCycle(); // the board is restarting whether or not its answer left
      },
    );
  }

  /** What a real board does on reset: connection gone, state back to power-on, then back online. */
  private powerCycle(): void {
    if (this.stopped) return;
    this.cancelDelayedAnswers();
    this.connection.disconnect();
    this.board.reboot();
    this.counters.resets++;
    this.logger?.info({ deviceId: this.deviceId, bootMs: this.bootMs }, 'device reset');
    this.emit('reset');
    clearTimeout(this.bootTimer);
    this.bootTimer = setTimeout(() => {
      if (!this.stopped) this.connection.resume();
    }, this.bootMs);
  }

  private onUp(): void {
    if (this.everConnected) this.counters.reconnects++;
    this.everConnected = true;
    this.logger?.info({ deviceId: this.deviceId, transport: this.transport }, 'device connected');
    this.emit('connected');
  }

  private onDown(error: Error | undefined): void {
    this.counters.disconnects++;
    this.logger?.info({ deviceId: this.deviceId, reason: error?.message }, 'device disconnected');
    this.emit('disconnected', error);
  }

  private scheduleDisconnect(): void {
    const inMs = this.behaviour.nextDisconnectInMs();
    if (inMs === undefined || this.stopped) return;
    this.disconnectTimer = setTimeout(() => {
      if (this.stopped) return;
      if (this.connection.connected) {
        this.logger?.info({ deviceId: this.deviceId }, 'random disconnect (profile)');
        this.connection.drop();
      }
      this.scheduleDisconnect();
    }, inMs);
  }

  private cancelDelayedAnswers(): void {
    for (const timer of this.delayed) clearTimeout(timer);
    this.delayed.clear();
  }
}

/** Create a device and connect it. */
export async function startDevice(options: DeviceOptions): Promise<SimulatedDevice> {
  const device = new SimulatedDevice(options);
  await device.start();
  return device;
}

function bindingFor(options: DeviceOptions): TransportBinding {
  const common = {
    url: options.url,
    deviceId: options.deviceId,
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    ...(options.allowPlaintext === undefined ? {} : { allowPlaintext: options.allowPlaintext }),
  };
  switch (options.transport) {
    case 'mqtt':
      return mqttTransport({ ...common, ...options.mqtt });
    case 'amqp091':
      return amqp091Transport({ ...common, ...options.amqp091 });
    case 'amqp10':
      return amqp10Transport({ ...common, ...options.amqp10 });
    default:
      throw new Error(`unknown transport ${JSON.stringify(options.transport)}; expected one of ${transportNames.join(', ')}`);
  }
}
