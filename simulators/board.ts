/**
 * A simulated FT900 board: real state behind the protocol, not canned replies. It reads raw
 * requests (topic + payload bytes) through the shared codec and returns at most one encoded
 * answer, exactly as firmware built from docs/protocol.md must. It has no I/O of its own: a
 * transport feeds it, and the device layer decides when (and whether) its answers leave.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import {
  correlationIdPattern,
  decodeRequest,
  encodeResponse,
  isValidDeviceId,
  limits,
  protocolError,
  restartingCommands,
  type CommandName,
  type EncodedMessage,
  type ProtocolError,
  type RequestOf,
  type ResponseOf,
  type Transport,
} from '../firmware-protocol/index.ts';
import { UartBuffer } from './uart.ts';

export interface NetworkConfig {
  ip: string;
  subnet: string;
  gateway: string;
}

export interface BoardOptions {
  /** Topic syntax of the transport the board is reached over: MQTT `id/cmd` or AMQP `id.cmd`. */
  topicStyle?: Transport;
  /** Wall clock in ms since the epoch; inject a fake one to test the RTC. */
  clock?: () => number;
  /** Power-on network configuration; missing fields are derived from the device id. */
  network?: Partial<NetworkConfig>;
  /** Override the MAC derived from the device id. */
  mac?: string;
  /** UART bytes kept for `uartOutput()` (the most recent ones). Default 64 KiB. */
  uartCapacityBytes?: number;
}

export interface BoardAnswer extends EncodedMessage {
  /** The command answered: the last level of the request topic. */
  command: string;
  /** The request's correlation id, echoed in the answer. */
  cid?: string;
  /** Set when the answer is a protocol error. */
  errorCode?: number;
  /** reset_device (or set_status) was accepted: drop the connection, then `reboot()` and connect again. */
  restart: boolean;
}

export interface BoardCounters {
  /** Messages handed to `handle`. */
  requests: number;
  /** Answers returned (results and errors). */
  answered: number;
  /** Answers that were protocol errors. */
  errors: number;
  /** Requests addressed to another device id: never answered (not ours to answer). */
  ignored: number;
  /** Our own messages with no topic to answer on (e.g. no command level). */
  unanswerable: number;
}

export type BoardStatus = 'running' | 'restarting';

export interface BoardEvents {
  uart: [text: string];
  gpio: [pin: number, value: 0 | 1];
  reboot: [];
}

const DEFAULT_UART_CAPACITY = 64 * 1024;
const RTC_MODULUS = limits.rtcMax + 1; // the FT900 RTC is an unsigned 32-bit counter: it wraps
const cidRegex = new RegExp(correlationIdPattern);

export class Board extends EventEmitter<BoardEvents> {
  readonly mac: string;
  readonly topicStyle: Transport;
  readonly counters: BoardCounters = { requests: 0, answered: 0, errors: 0, ignored: 0, unanswerable: 0 };
  private readonly clock: () => number;
  private readonly powerOnNetwork: NetworkConfig;
  private network: NetworkConfig;
  private readonly gpio = new Uint8Array(limits.gpioMax + 1);
  private readonly uart: UartBuffer;
  /** The RTC as (epoch seconds, clock ms when they were true): it ticks with the clock. */
  private rtcBase: number;
  private rtcSetAt: number;
  private state: BoardStatus = 'running';

  constructor(readonly deviceId: string, options: BoardOptions = {}) {
    super();
    if (!isValidDeviceId(deviceId)) throw new Error(`invalid device id ${JSON.stringify(deviceId)}`);
    this.topicStyle = options.topicStyle ?? 'mqtt';
    this.clock = options.clock ?? Date.now;
    const identity = createHash('sha256').update(`iotcloud-board:${deviceId}`).digest();
    this.mac = options.mac ?? macFrom(identity);
    this.powerOnNetwork = {
      // A distinct address per device so a fleet looks like a real LAN; .1 is the gateway.
      ip: options.network?.ip ?? `192.168.1.${2 + (identity[6]! % 253)}`,
      subnet: options.network?.subnet ?? '255.255.255.0',
      gateway: options.network?.gateway ?? '192.168.1.1',
    };
    // The derived defaults are valid by construction; a fleet builds a board per connect.
    if (options.mac !== undefined || options.network !== undefined) this.checkConfiguration();
    this.network = { ...this.powerOnNetwork };
    this.uart = new UartBuffer(options.uartCapacityBytes ?? DEFAULT_UART_CAPACITY);
    this.rtcSetAt = this.clock();
    this.rtcBase = Math.floor(this.rtcSetAt / 1000);
  }

  // --- what a test or a person can observe -----------------------------------------------------

  get status(): BoardStatus {
    return this.state;
  }

  pin(number: number): 0 | 1 {
    return this.gpio[number] === 1 ? 1 : 0;
  }

  /** RTC seconds now: the value last set plus the whole seconds elapsed since. */
  rtcSeconds(): number {
    const elapsed = Math.floor((this.clock() - this.rtcSetAt) / 1000);
    return (((this.rtcBase + elapsed) % RTC_MODULUS) + RTC_MODULUS) % RTC_MODULUS;
  }

  networkConfig(): Readonly<NetworkConfig> {
    return this.network;
  }

  /** The bytes written to the UART since power-on (the last `uartCapacityBytes` of them). */
  uartOutput(): string {
    return this.uart.text();
  }

  uartBytesWritten(): number {
    return this.uart.totalBytes;
  }

  /**
   * Power-on again: GPIO low, UART empty, network back to its power-on configuration, status
   * running. The RTC is battery-backed on the FT900 boards, so it keeps its time.
   */
  reboot(): void {
    this.gpio.fill(0);
    this.uart.clear();
    this.network = { ...this.powerOnNetwork };
    this.state = 'running';
    this.emit('reboot');
  }

  // --- the protocol ------------------------------------------------------------------------------

  /**
   * Handle one raw message from the broker. Returns the answer to publish, or undefined when
   * the message must not be answered (another device's, or nowhere to answer). Never throws.
   */
  handle(topic: string, payload: Uint8Array | string): BoardAnswer | undefined {
    this.counters.requests++;
    let command = '';
    try {
      const levels = String(topic).split(this.topicStyle === 'mqtt' ? '/' : '.');
      if (levels[0] !== this.deviceId) {
        this.counters.ignored++;
        return undefined;
      }
      if (levels.length >= 2) command = levels[levels.length - 1]!;
      return this.process(topic, command, payload);
    } catch (error) {
      // A fault in the simulated hardware must not take the device down: answer as firmware
      // with a failing HAL call would.
      return this.fail(command, protocolError('INTERNAL', `device fault: ${(error as Error).message}`), undefined);
    }
  }

  private process(topic: string, command: string, payload: Uint8Array | string): BoardAnswer | undefined {
    const decoded = decodeRequest(topic, payload, { transport: this.topicStyle });
    if (!decoded.ok) return this.fail(command, decoded.error, decoded.error.context?.cid ?? readableCid(decoded.error, payload));
    const request = decoded.value;
    if (this.state === 'restarting' && request.command !== 'get_status') {
      return this.fail(command, protocolError('DEVICE_BUSY', 'the device is restarting; retry when it is back'), request.cid);
    }
    const run = handlers[request.command] as (board: Board, params: unknown) => object;
    const result = run(this, request.params);
    const restart = restartingCommands.includes(request.command);
    if (restart) this.state = 'restarting';
    const encoded = encodeResponse(this.deviceId, request.command, { result } as never, { cid: request.cid, transport: this.topicStyle });
    if (!encoded.ok) return this.fail(command, protocolError('INTERNAL', `device produced an invalid answer: ${encoded.error.message}`), request.cid);
    this.counters.answered++;
    return { ...encoded.value, command: request.command, ...(request.cid === undefined ? {} : { cid: request.cid }), restart };
  }

  private fail(command: string, error: ProtocolError, cid: string | undefined): BoardAnswer | undefined {
    const body = { code: error.code, name: error.name, message: shorten(error.message), ...(error.field === undefined ? {} : { field: error.field }) };
    const encoded = encodeResponse(this.deviceId, command, { error: body }, { cid, transport: this.topicStyle });
    if (!encoded.ok) {
      this.counters.unanswerable++; // e.g. `<id>/` or a command level with characters no topic may hold
      return undefined;
    }
    this.counters.answered++;
    this.counters.errors++;
    return { ...encoded.value, command, ...(cid === undefined ? {} : { cid }), errorCode: error.code, restart: false };
  }

  // --- the hardware behind the commands ----------------------------------------------------------

  setPin(number: number, value: 0 | 1): void {
    this.gpio[number] = value;
    this.emit('gpio', number, value);
  }

  setRtc(seconds: number): void {
    this.rtcBase = seconds;
    this.rtcSetAt = this.clock();
  }

  writeUart(text: string): void {
    this.uart.write(text);
    this.emit('uart', text);
  }

  /** Refuse a configuration the protocol could not carry, at construction rather than on the wire. */
  private checkConfiguration(): void {
    const checks: [string, CommandName, string][] = [
      ['mac', 'get_mac', this.mac],
      ['network.ip', 'get_ip', this.powerOnNetwork.ip],
      ['network.subnet', 'get_subnet', this.powerOnNetwork.subnet],
      ['network.gateway', 'get_gateway', this.powerOnNetwork.gateway],
    ];
    for (const [option, command, value] of checks) {
      const encoded = encodeResponse(this.deviceId, command, { result: { value } } as never);
      if (!encoded.ok) throw new Error(`board option ${option} ${JSON.stringify(value)} is not valid: ${encoded.error.message}`);
    }
  }
}

/** One handler per command: what the hardware does, given valid parameters. */
const handlers: { [C in CommandName]: (board: Board, params: RequestOf<C>) => ResponseOf<C> } = {
  get_gpio: (board, { number }) => ({ number, value: board.pin(number) }),
  set_gpio: (board, { number, value }) => {
    board.setPin(number, value);
    return { number, value: board.pin(number) };
  },
  get_rtc: (board) => ({ value: board.rtcSeconds() }),
  set_rtc: (board, { value }) => {
    board.setRtc(value);
    return { value };
  },
  get_mac: (board) => ({ value: board.mac }),
  get_ip: (board) => ({ value: board.networkConfig().ip }),
  get_subnet: (board) => ({ value: board.networkConfig().subnet }),
  get_gateway: (board) => ({ value: board.networkConfig().gateway }),
  get_status: (board) => ({ status: board.status }),
  reset_device: () => ({ status: 'restarting' }),
  set_status: () => ({ status: 'restarting' }), // the original devices' restart
  write_uart: (board, { data }) => {
    board.writeUart(data);
    return { data };
  },
};

/** A stable, locally administered, unicast MAC: bit 1 of the first octet set, bit 0 clear. */
function macFrom(identity: Buffer): string {
  const octets = [...identity.subarray(0, 6)];
  octets[0] = (octets[0]! | 0x02) & 0xfe;
  return octets.map((octet) => octet.toString(16).padStart(2, '0')).join(':');
}

/**
 * The cid of a request the codec refused before reading it (a bad topic): echo it when the
 * payload is a small JSON object with a valid cid, so the sender can still match the error.
 */
function readableCid(error: ProtocolError, payload: Uint8Array | string): string | undefined {
  if (error.name !== 'INVALID_TOPIC') return undefined;
  const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength;
  if (size > limits.maxPayloadBytes) return undefined;
  try {
    const value: unknown = JSON.parse(typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8'));
    const cid = (value as { cid?: unknown } | null)?.cid;
    return typeof cid === 'string' && cidRegex.test(cid) ? cid : undefined;
  } catch {
    return undefined;
  }
}

/** The protocol asks devices to keep error messages under 128 bytes. */
function shorten(message: string): string {
  const max = limits.maxErrorMessageLength - 1;
  if (Buffer.byteLength(message) <= max) return message;
  let cut = message.slice(0, max - 3);
  while (Buffer.byteLength(cut) > max - 3) cut = cut.slice(0, -1);
  return `${cut}...`;
}
