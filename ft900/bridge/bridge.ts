/**
 * The FT900 serial bridge: a board without a network stack speaks FRAMING.md on a serial line,
 * and the bridge is its network connection. It connects to the broker AS the device (client id =
 * device id, the device's own certificate), subscribes `<id>/#`, hands each request to the board
 * as a REQUEST frame, and publishes each RESPONSE frame the board sends back.
 *
 *   server --MQTTS--> bridge --REQUEST frame--> board
 *   server <--MQTTS-- bridge <--RESPONSE frame-- board
 *
 * The bridge adds no protocol logic of its own: the board validates and answers everything, and
 * the server times out whatever the board does not answer. What the bridge does own is the link:
 * one request outstanding at a time (a small MCU's UART buffer cannot take a burst), a deadline
 * per request, PING/PONG to notice a dead board, and reconnecting both sides on its own.
 */
import { EventEmitter } from 'node:events';
import pino, { type Logger } from 'pino';
import { errorCodes, limits, responseTopic, restartingCommands } from '../../firmware-protocol/index.ts';
import { ReconnectingConnection, mqttTransport, type Credentials, type MqttTransportOptions, type TransportBinding } from '../../device-link/index.ts';
import { BridgeConfigError, checkCredentials, checkSettings, type BridgeTimings, type CheckedSettings } from './config.ts';
import { encodeFrame, FrameDecoder, FrameType, MAX_PAYLOAD, messagePayload, splitMessage, type DecodeEvent } from './frame.ts';
import { SerialLink } from './serial.ts';

export interface BridgeOptions extends BridgeTimings {
  /** Serial device, e.g. `/dev/ttyUSB0`. */
  port: string;
  /** Default 115200 (FRAMING.md section 1). */
  baudRate?: number;
  deviceId: string;
  /** Broker URL, `mqtts://host:8883`. */
  url: string;
  /** The device's credentials from registration (required for mqtts://). */
  credentials?: Credentials;
  /** Allow plain `mqtt://` (loopback tests only). */
  allowPlaintext?: boolean;
  logger?: Logger;
  mqtt?: Pick<MqttTransportOptions, 'keepaliveSeconds' | 'connectTimeoutMs' | 'clean'>;
}

export interface BridgeCounters {
  /** Valid frames from the board / frames written to it. */
  framesIn: number;
  framesOut: number;
  crcErrors: number;
  overlong: number;
  malformed: number;
  noiseBytes: number;
  /** Requests received from the broker. */
  requests: number;
  /** Answers published for the board. */
  responses: number;
  /** RESPONSE frames not published: not `server/<id>/<command>`, no topic line, or too large. */
  rejected: number;
  /** Requests the board did not answer within the deadline. */
  timeouts: number;
  /** Requests in flight when the board restarted or the port closed. */
  lost: number;
  /** Requests never sent to the board: queue full, waited too long, or a topic that cannot be framed. */
  dropped: number;
  /** Requests too large for one frame, answered PAYLOAD_TOO_LARGE on the board's behalf. */
  oversized: number;
  /** Answers the broker did not take (connection down). */
  publishFailures: number;
  hellos: number;
  boardLogs: number;
  missedPongs: number;
  brokerReconnects: number;
  serialReopens: number;
}

export type LineError = Exclude<DecodeEvent['kind'], 'frame'>;

export interface BridgeEvents {
  serial: [open: boolean];
  broker: [up: boolean];
  /** The board answered after being silent (true), or missed a PONG (false). */
  board: [alive: boolean];
  hello: [deviceId: string];
  log: [text: string];
  /** A request arrived from the broker. */
  received: [topic: string, payload: Buffer];
  /** A request was not sent to the board (see `dropped` in the counters). */
  dropped: [topic: string, reason: string];
  /** A REQUEST frame went to the board. */
  request: [topic: string, payload: Buffer];
  /** An answer from the board was published. */
  response: [topic: string, payload: Buffer];
  rejected: [topic: string, reason: string];
  timeout: [topic: string];
  lineError: [kind: LineError];
}

export interface BridgeState {
  serialOpen: boolean;
  brokerUp: boolean;
  /** Last we heard, the board was answering. */
  boardAlive: boolean;
  /** Requests waiting for the board (not counting the one in flight). */
  queued: number;
}

interface Pending {
  topic: string;
  payload: Buffer;
  receivedAt: number;
}

interface InFlight extends Pending {
  sentAt: number;
  timer: NodeJS.Timeout;
}

const commandLevel = /^[A-Za-z0-9_-]{1,64}$/;
/** Line errors are counted always, but logged at most this often: a noisy line must not flood the log. */
const LINE_ERROR_LOG_EVERY_MS = 5000;

export class Bridge extends EventEmitter<BridgeEvents> {
  readonly settings: CheckedSettings;
  private readonly url: string;
  private readonly log: Logger;
  private readonly serial: SerialLink;
  private readonly decoder = new FrameDecoder();
  private readonly connection: ReconnectingConnection;
  private readonly own = {
    framesOut: 0, requests: 0, responses: 0, rejected: 0, timeouts: 0, lost: 0, dropped: 0, oversized: 0,
    publishFailures: 0, hellos: 0, boardLogs: 0, missedPongs: 0, brokerReconnects: 0,
  };
  private readonly queue: Pending[] = [];
  private inFlight: InFlight | undefined;
  /** Set between relaying a reset_device answer and the board's HELLO: requests wait meanwhile. */
  private rebooting: NodeJS.Timeout | undefined;
  private brokerUp = false;
  private brokerEverUp = false;
  private boardAlive = false;
  private pingTimer: NodeJS.Timeout | undefined;
  private ping: { payload: Buffer; timer: NodeJS.Timeout } | undefined;
  private pingCount = 0;
  private lastLineErrorLog = 0;
  private closed = false;

  constructor(options: BridgeOptions) {
    super();
    this.settings = checkSettings(options);
    this.url = options.url;
    const { deviceId, port, baudRate } = this.settings;
    if (options.credentials) checkCredentials(options.credentials, deviceId);
    this.log = (options.logger ?? pino({ name: 'iotcloud-bridge' })).child({ deviceId, port });
    let binding: TransportBinding;
    try {
      binding = mqttTransport({
        url: options.url,
        deviceId,
        ...(options.credentials ? { credentials: options.credentials } : {}),
        ...(options.allowPlaintext ? { allowPlaintext: true } : {}),
        ...options.mqtt,
      });
    } catch (error) {
      throw new BridgeConfigError((error as Error).message);
    }
    this.connection = new ReconnectingConnection(
      binding,
      {
        message: (topic, payload) => this.onRequest(topic, payload),
        up: () => this.onBrokerUp(),
        down: (error) => this.onBrokerDown(error),
        retry: (error, retryInMs) => this.log.warn({ err: error.message, retryInMs }, 'broker connection attempt failed'),
      },
      options.brokerBackoff,
    );
    this.serial = new SerialLink({ path: port, baudRate, ...(options.serialBackoff ? { backoff: options.serialBackoff } : {}) });
    this.serial.on('open', () => this.onSerialOpen());
    this.serial.on('data', (chunk) => this.onSerialData(chunk));
    this.serial.on('lost', (error, retryInMs) => this.onSerialLost(error, retryInMs));
    this.serial.on('retry', (error, retryInMs) => this.log.warn({ err: error.message, retryInMs }, 'cannot open the serial port; retrying'));
  }

  get counters(): Readonly<BridgeCounters> {
    const { frames, crcErrors, overlong, malformed, noiseBytes } = this.decoder.stats;
    return { framesIn: frames, crcErrors, overlong, malformed, noiseBytes, ...this.own, serialReopens: this.serial.reopens };
  }

  get state(): BridgeState {
    return { serialOpen: this.serial.isOpen, brokerUp: this.brokerUp, boardAlive: this.boardAlive, queued: this.queue.length };
  }

  /** Open both sides in the background; each keeps retrying until it works. */
  start(): void {
    this.log.info({ url: redact(this.url), baudRate: this.settings.baudRate }, 'bridge starting');
    this.serial.start();
    this.connection.resume();
    if (this.settings.pingIntervalMs > 0) this.pingTimer = setInterval(() => this.pingIfIdle(), this.settings.pingIntervalMs);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.pingTimer);
    this.clearPing();
    this.endHold();
    if (this.inFlight) clearTimeout(this.inFlight.timer);
    this.inFlight = undefined;
    this.queue.length = 0;
    await Promise.all([this.connection.close(), this.serial.close()]);
    this.log.info({ counters: this.counters }, 'bridge stopped');
  }

  // ---- broker -> board ---------------------------------------------------------------------

  private onRequest(topic: string, payload: Buffer): void {
    this.own.requests++;
    this.emit('received', topic, payload);
    // The board splits at the first `\n` and reads a C string: such a topic would reach it mangled.
    if (topic.includes('\n') || topic.includes('\0')) return this.drop(topic, 'the topic contains a newline or NUL');
    const size = Buffer.byteLength(topic) + 1 + payload.length;
    if (size > MAX_PAYLOAD) return this.answerOversized(topic, payload.length);
    if (this.queue.length >= this.settings.maxQueue) return this.drop(topic, `${this.settings.maxQueue} requests already wait for the board`);
    this.queue.push({ topic, payload, receivedAt: performance.now() });
    this.pump();
  }

  /** FRAMING.md 6.5: never truncate; answer what the board would have answered to the whole thing. */
  private answerOversized(topic: string, size: number): void {
    const command = topic.slice(topic.lastIndexOf('/') + 1);
    if (!commandLevel.test(command)) return this.drop(topic, 'too large for a frame, and no topic to answer on');
    this.own.oversized++;
    const error = { code: errorCodes.PAYLOAD_TOO_LARGE, name: 'PAYLOAD_TOO_LARGE', message: `payload is ${size} bytes, the limit is ${limits.maxPayloadBytes}` };
    this.log.info({ topic, size }, 'request too large for a frame: answered PAYLOAD_TOO_LARGE for the board');
    this.publish(responseTopic(this.settings.deviceId, command), Buffer.from(JSON.stringify({ error })));
  }

  private drop(topic: string, reason: string): void {
    this.own.dropped++;
    this.log.warn({ topic, reason }, 'request not sent to the board');
    this.emit('dropped', topic, reason);
  }

  /** Send the next request when the line is free: one outstanding at a time (FRAMING.md 6.2). */
  private pump(): void {
    while (!this.inFlight && !this.rebooting && this.serial.isOpen && this.queue.length > 0) {
      const next = this.queue.shift()!;
      const waitedMs = performance.now() - next.receivedAt;
      if (waitedMs > this.settings.maxQueueAgeMs) {
        this.drop(next.topic, `it waited ${Math.round(waitedMs)} ms for the board; the server has given up on it`);
        continue;
      }
      const sentAt = performance.now();
      const timer = setTimeout(() => this.onRequestTimeout(), this.settings.requestTimeoutMs);
      this.inFlight = { ...next, sentAt, timer };
      this.send(FrameType.REQUEST, messagePayload(next.topic, next.payload));
      this.emit('request', next.topic, next.payload);
    }
  }

  private onRequestTimeout(): void {
    const request = this.inFlight;
    if (!request) return;
    this.own.timeouts++;
    this.log.warn({ topic: request.topic, timeoutMs: this.settings.requestTimeoutMs }, 'the board did not answer in time');
    this.emit('timeout', request.topic);
    this.settle();
  }

  /** The request in flight is over (answered, refused, lost or timed out): the line is free. */
  private settle(lost?: string): void {
    const request = this.inFlight;
    if (!request) return;
    clearTimeout(request.timer);
    this.inFlight = undefined;
    if (lost) {
      this.own.lost++;
      this.log.warn({ topic: request.topic, reason: lost }, 'request lost; the server will time it out');
    }
    this.pump();
  }

  // ---- board -> broker ---------------------------------------------------------------------

  private onSerialData(chunk: Buffer): void {
    for (const event of this.decoder.push(chunk)) {
      if (event.kind === 'frame') this.onFrame(event.type, event.payload);
      else this.onLineError(event.kind);
    }
  }

  private onFrame(type: number, payload: Buffer): void {
    this.heardFromBoard();
    switch (type) {
      case FrameType.RESPONSE:
        return this.onResponse(payload);
      case FrameType.HELLO:
        return this.onHello(payload.toString('utf8'));
      case FrameType.LOG: {
        const text = payload.toString('utf8');
        this.own.boardLogs++;
        this.log.info({ text }, 'board log');
        this.emit('log', text);
        // FRAMING.md 6.2: a board that cannot answer a request says so in a LOG instead.
        return this.settle();
      }
      case FrameType.PING:
        this.send(FrameType.PONG, payload);
        return;
      case FrameType.PONG:
        if (this.ping && this.ping.payload.equals(payload)) this.clearPing();
        return;
      default:
        this.log.debug({ type, bytes: payload.length }, 'ignoring a frame of unknown type');
    }
  }

  private onResponse(payload: Buffer): void {
    const message = splitMessage(payload);
    // Only the board's own answer topics: anything else would make the broker close our
    // connection, and a board publishing elsewhere is a bug to see, not to relay.
    const prefix = `server/${this.settings.deviceId}/`;
    let reason: string | undefined;
    if (!message) reason = 'no topic line';
    else if (!message.topic.startsWith(prefix) || !commandLevel.test(message.topic.slice(prefix.length))) reason = `not an answer topic of ${this.settings.deviceId}`;
    else if (message.payload.length > limits.maxPayloadBytes) reason = `payload of ${message.payload.length} bytes is over the ${limits.maxPayloadBytes}-byte limit`;
    if (reason || !message) {
      this.own.rejected++;
      const topic = message?.topic ?? '';
      this.log.warn({ topic, reason }, 'RESPONSE from the board not published');
      this.emit('rejected', topic, reason ?? '');
    } else {
      this.publish(message.topic, message.payload);
      if (this.inFlight) this.log.debug({ topic: message.topic, boardMs: Math.round(performance.now() - this.inFlight.sentAt) }, 'answer');
      if (isRestarting(message.topic, message.payload)) this.holdUntilHello();
    }
    this.settle();
  }

  /**
   * FRAMING.md 6.3: after answering reset_device (or set_status) the board restarts, then says HELLO. A request
   * sent in between would land in a rebooting UART and be lost, so the queue waits for the HELLO
   * (or, should it never come, for one request deadline).
   */
  private holdUntilHello(): void {
    this.endHold();
    this.rebooting = setTimeout(() => {
      this.rebooting = undefined;
      this.log.warn({ waitedMs: this.settings.requestTimeoutMs }, 'the board answered reset_device but sent no HELLO; carrying on');
      this.pump();
    }, this.settings.requestTimeoutMs);
  }

  private endHold(): void {
    clearTimeout(this.rebooting);
    this.rebooting = undefined;
  }

  private publish(topic: string, payload: Buffer): void {
    this.connection.send(topic, payload).then(
      () => {
        this.own.responses++;
        this.emit('response', topic, payload);
      },
      (error: Error) => {
        this.own.publishFailures++;
        this.log.warn({ topic, err: error.message }, 'answer not published (broker connection down); the server will time the request out');
      },
    );
  }

  private onHello(id: string): void {
    this.own.hellos++;
    if (id === this.settings.deviceId) this.log.info('board (re)started: HELLO');
    else this.log.warn({ boardId: id }, `board (re)started as ${JSON.stringify(id)}, not ${this.settings.deviceId}: it will ignore every request; flash it with the right id`);
    this.emit('hello', id);
    this.endHold();
    // FRAMING.md 6.1: whatever was in flight before the HELLO is gone with the old boot.
    if (this.inFlight) this.settle('the board restarted');
    else this.pump();
  }

  private onLineError(kind: LineError): void {
    this.emit('lineError', kind);
    const now = performance.now();
    if (now - this.lastLineErrorLog < LINE_ERROR_LOG_EVERY_MS) return;
    this.lastLineErrorLog = now;
    const { crcErrors, overlong, malformed, noiseBytes } = this.decoder.stats;
    this.log.warn({ kind, crcErrors, overlong, malformed, noiseBytes }, 'serial line errors (noise, a cut frame, or a baud rate mismatch)');
  }

  // ---- liveness ------------------------------------------------------------------------------

  private pingIfIdle(): void {
    if (!this.ping && !this.inFlight && this.serial.isOpen) this.sendPing();
  }

  private sendPing(): void {
    this.clearPing();
    const payload = Buffer.alloc(4);
    payload.writeUInt32BE(this.pingCount++ >>> 0);
    const timer = setTimeout(() => {
      this.ping = undefined;
      this.own.missedPongs++;
      if (this.boardAlive) {
        this.boardAlive = false;
        this.log.warn({ pongTimeoutMs: this.settings.pongTimeoutMs }, 'the board does not answer PING: unpowered, wedged, or at another baud rate');
        this.emit('board', false);
      }
    }, this.settings.pongTimeoutMs);
    this.ping = { payload, timer };
    this.send(FrameType.PING, payload);
  }

  private clearPing(): void {
    if (this.ping) clearTimeout(this.ping.timer);
    this.ping = undefined;
  }

  private heardFromBoard(): void {
    if (this.boardAlive) return;
    this.boardAlive = true;
    this.log.info('the board is answering');
    this.emit('board', true);
  }

  // ---- the two sides coming and going ------------------------------------------------------

  private onSerialOpen(): void {
    this.decoder.resync();
    this.log.info('serial port open');
    this.emit('serial', true);
    // A board that was already running will not say HELLO: ask whether anyone is there.
    this.sendPing();
    this.pump();
  }

  private onSerialLost(error: Error, retryInMs: number): void {
    this.log.warn({ err: error.message, retryInMs }, 'serial port closed; reopening');
    this.clearPing();
    if (this.boardAlive) {
      this.boardAlive = false;
      this.emit('board', false);
    }
    this.emit('serial', false);
    this.endHold();
    this.settle('the serial port closed');
  }

  private onBrokerUp(): void {
    this.brokerUp = true;
    if (this.brokerEverUp) this.own.brokerReconnects++;
    this.brokerEverUp = true;
    this.log.info(`connected to the broker as ${this.settings.deviceId}`);
    this.emit('broker', true);
  }

  private onBrokerDown(error?: Error): void {
    this.brokerUp = false;
    if (this.closed) this.log.info('disconnected from the broker');
    else this.log.warn({ err: error?.message }, 'broker connection lost; reconnecting');
    this.emit('broker', false);
  }

  private send(type: number, payload: Buffer): void {
    if (this.serial.write(encodeFrame(type, payload))) this.own.framesOut++;
  }
}

/** An answer saying the board is about to restart. */
function isRestarting(topic: string, payload: Buffer): boolean {
  if (!restartingCommands.some((command) => topic.endsWith(`/${command}`))) return false;
  try {
    return (JSON.parse(payload.toString('utf8')) as { status?: unknown }).status === 'restarting';
  } catch {
    return false;
  }
}

/** The broker URL for logs: without any user or password in it. */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return '(invalid URL)';
  }
}

/** Validate the options (BridgeConfigError on a bad one), then open both sides in the background. */
export function startBridge(options: BridgeOptions): Bridge {
  const bridge = new Bridge(options);
  bridge.start();
  return bridge;
}
