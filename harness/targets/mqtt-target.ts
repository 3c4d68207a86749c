/**
 * Direct broker target: the harness connects to the broker as the server would, publishes
 * requests on `<deviceId>/<command>` and reads answers on `server/<deviceId>/<command>`.
 *
 * One connection serves any number of device targets (the load generator fans out over many
 * devices). Answers are matched with the protocol's PendingRequests; answers the codec refuses are
 * matched here too (by `cid`, else oldest request for that command), so a conformance case can say
 * "your answer was invalid because ..." instead of "no answer".
 */
import { randomBytes } from 'node:crypto';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import {
  decodeResponse,
  encodeRequest,
  isCommandName,
  parseResponseTopic,
  PendingRequests,
  requestTopic,
  responseTopic,
} from '../../firmware-protocol/index.ts';
import {
  payloadText,
  TargetSetupError,
  type AnswerSeen,
  type DeviceTarget,
  type ForeignAnswer,
  type HarnessOutcome,
  type InvalidAnswerOutcome,
  type RawAnswer,
  type RawOptions,
} from './types.ts';
import { readPem, type PemSource } from './pem.ts';

export interface MqttTargetOptions {
  /** `mqtt://host:port` or `mqtts://host:port`. */
  url: string;
  ca?: PemSource;
  cert?: PemSource;
  key?: PemSource;
  username?: string;
  password?: string;
  clientId?: string;
  /** How long to wait for the broker's CONNACK before giving up (setup error). Default 5000. */
  connectTimeoutMs?: number;
}

interface Inflight {
  cid: string;
  deviceId: string;
  command: string;
  startedAt: number;
  settleInvalid: (problem: string, answer: AnswerSeen) => void;
}

interface Collector {
  deviceId: string;
  push(answer: RawAnswer): void;
}

/** Remembers which cids we issued (for which device and command), bounded so long load runs stay flat. */
class IssuedCids {
  private readonly map = new Map<string, { deviceId: string; command: string }>();
  constructor(private readonly capacity = 10_000) {}
  remember(cid: string, deviceId: string, command: string): void {
    this.map.set(cid, { deviceId, command });
    if (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value!);
  }
  get(cid: string | undefined): { deviceId: string; command: string } | undefined {
    return cid === undefined ? undefined : this.map.get(cid);
  }
}

export class MqttConnection {
  private readonly pending = new PendingRequests();
  /** Requests in flight, in the order they were opened (Map keeps insertion order). */
  private readonly inflight = new Map<string, Inflight>();
  /** The raw answer that settled a cid, read back by command() after PendingRequests resolves. */
  private readonly answers = new Map<string, AnswerSeen>();
  private readonly issued = new IssuedCids();
  private readonly collectors = new Set<Collector>();
  private readonly targets = new Map<string, MqttTarget>();
  /** Commands asked per device, so an answer on a never-asked command's topic stands out. */
  private readonly asked = new Map<string, Set<string>>();
  /** False when the broker refused `server/+/+`: answers on other devices' topics go unseen. */
  watchesAllDevices = false;
  private closed = false;

  private constructor(
    private readonly client: MqttClient,
    readonly where: string,
  ) {
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
    // In-flight requests cannot be answered on a dead connection: fail them now, not at the deadline.
    client.on('close', () => this.pending.failAll('broker connection lost'));
  }

  static async open(options: MqttTargetOptions): Promise<MqttConnection> {
    const url = parseBrokerUrl(options.url);
    const connectTimeoutMs = options.connectTimeoutMs ?? 5000;
    const clientOptions: IClientOptions = {
      clientId: options.clientId ?? `iotcloud-harness-${randomBytes(4).toString('hex')}`,
      clean: true,
      protocolVersion: 4,
      connectTimeout: connectTimeoutMs,
      reconnectPeriod: 1000,
      ...(options.ca ? { ca: readPem(options.ca, 'CA') } : {}),
      ...(options.cert ? { cert: readPem(options.cert, 'certificate') } : {}),
      ...(options.key ? { key: readPem(options.key, 'key') } : {}),
      ...(options.username !== undefined ? { username: options.username } : {}),
      ...(options.password !== undefined ? { password: options.password } : {}),
    };
    const where = redactUrl(url);
    const client = mqtt.connect(url.toString(), clientOptions);
    // Requests are small packets written in pieces: with Nagle on, each waits out the peer's delayed ACK (~40 ms).
    const noDelay = () => (client.stream as { setNoDelay?: (on: boolean) => void } | undefined)?.setNoDelay?.(true);
    noDelay();
    client.on('connect', noDelay);
    await new Promise<void>((resolve, reject) => {
      const fail = (why: string, cause?: Error) => {
        cleanup();
        client.end(true);
        reject(new TargetSetupError(`cannot connect to the broker at ${where}: ${why}`, cause ? { cause } : undefined));
      };
      const onConnect = () => {
        cleanup();
        resolve();
      };
      const onError = (error: Error) => fail(error.message, error);
      const onClose = () => fail('connection closed before CONNACK (broker down, wrong port, or TLS refused)');
      const timer = setTimeout(() => fail(`no CONNACK within ${connectTimeoutMs} ms`), connectTimeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        client.off('connect', onConnect);
        client.off('error', onError);
        client.off('close', onClose);
      };
      client.on('connect', onConnect);
      client.on('error', onError);
      client.on('close', onClose);
    });
    return MqttConnection.over(client, where);
  }

  /**
   * The harness side over a client already connected (any stream: a socket, or an in-process pair
   * for tests that exercise the answer-matching rules without a network).
   */
  static async over(client: MqttClient, where: string): Promise<MqttConnection> {
    // After setup, errors are reported through outcomes ('unavailable'), not as crashes.
    client.on('error', () => undefined);
    const connection = new MqttConnection(client, where);
    const granted = await client.subscribeAsync(serverWildcard, { qos: 1 }).catch(() => []);
    connection.watchesAllDevices = granted.some((grant) => grant.qos !== 128);
    return connection;
  }

  /** A target for one device over this connection. */
  async target(deviceId: string): Promise<MqttTarget> {
    const existing = this.targets.get(deviceId);
    if (existing) return existing;
    const topic = responseTopic(deviceId, '+');
    const granted = await this.client.subscribeAsync(topic, { qos: 1 });
    if (granted.some((grant) => grant.qos === 128)) {
      throw new TargetSetupError(`the broker at ${this.where} refused a subscription to ${topic}: connect with the server's credentials`);
    }
    const target = new MqttTarget(this, deviceId);
    this.targets.set(deviceId, target);
    return target;
  }

  async command(deviceId: string, command: string, params: unknown, timeoutMs: number): Promise<HarnessOutcome> {
    const { cid, outcome } = this.pending.open(deviceId, command, timeoutMs);
    let settleInvalid!: (problem: string, answer: AnswerSeen) => void;
    const startedAt = performance.now();
    const invalid = new Promise<InvalidAnswerOutcome>((resolve) => {
      settleInvalid = (problem, answer) =>
        resolve({ status: 'invalid-answer', deviceId, command, cid, elapsedMs: performance.now() - startedAt, problem, answer, source: 'device' });
    });
    this.inflight.set(cid, { cid, deviceId, command, startedAt, settleInvalid });
    this.issued.remember(cid, deviceId, command);
    this.noteAsked(deviceId, command);
    if (this.closed) this.pending.fail(cid, 'target closed');
    else {
      const { topic, payload } = encodePayload(deviceId, command, params, cid);
      this.client.publish(topic, payload, { qos: 1 }, (error) => {
        if (error) this.pending.fail(cid, `publish failed: ${error.message}`);
      });
    }
    const result = await Promise.race([outcome, invalid]);
    // An invalid answer won the race: release PendingRequests' timer (its own outcome is ignored).
    if (result.status === 'invalid-answer') this.pending.fail(cid, 'answer was invalid');
    this.inflight.delete(cid);
    const answer = this.answers.get(cid);
    this.answers.delete(cid);
    if (result.status === 'invalid-answer') return result;
    return {
      ...result,
      ...(answer ? { answer } : {}),
      ...(result.status === 'device-error' ? { source: 'device' as const } : {}),
    };
  }

  async raw(deviceId: string, command: string, payload: Uint8Array | string, windowMs: number, options: RawOptions = {}): Promise<RawAnswer[]> {
    const answers: RawAnswer[] = [];
    const cid = peekCid(payload);
    if (cid !== undefined) this.issued.remember(cid, deviceId, command);
    this.noteAsked(deviceId, command);
    if (this.closed) return answers;
    await new Promise<void>((resolve) => {
      let quietTimer: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(windowTimer);
        clearTimeout(quietTimer);
        this.collectors.delete(collector);
        resolve();
      };
      const collector: Collector = {
        deviceId,
        push: (answer) => {
          answers.push(answer);
          if (options.quietMs !== undefined) {
            clearTimeout(quietTimer);
            quietTimer = setTimeout(done, options.quietMs);
          }
        },
      };
      const windowTimer = setTimeout(done, windowMs);
      this.collectors.add(collector);
      // Not awaited: the window bounds the call even when the broker never acknowledges.
      this.client.publish(requestTopic(deviceId, command), Buffer.from(payload), { qos: 1 }, () => undefined);
    });
    return answers;
  }

  async release(deviceId: string): Promise<void> {
    this.targets.delete(deviceId);
    if (this.targets.size > 0 || this.closed) return;
    this.closed = true;
    this.pending.failAll('target closed');
    await this.client.endAsync();
  }

  private noteAsked(deviceId: string, command: string): void {
    const set = this.asked.get(deviceId);
    if (set) set.add(command);
    else this.asked.set(deviceId, new Set([command]));
  }

  private onMessage(topic: string, payload: Buffer): void {
    const address = parseResponseTopic(topic);
    if (!address.ok) return;
    const { deviceId, command } = address.value;
    const cid = peekCid(payload);
    const seen: AnswerSeen = { topic, payload: payloadText(payload), ...(cid === undefined ? {} : { cid }) };
    const target = this.targets.get(deviceId);
    if (!target) {
      this.checkOtherDevice(topic, payload, cid);
      return;
    }
    for (const collector of this.collectors) if (collector.deviceId === deviceId) collector.push({ topic, payload });
    const collecting = [...this.collectors].some((collector) => collector.deviceId === deviceId);

    const byCid = cid === undefined ? undefined : this.inflight.get(cid);
    if (byCid && byCid.command !== command) {
      target.recordForeign(topic, payload, `answer to a ${byCid.command} request (cid ${cid}) published on the ${command} topic`);
      byCid.settleInvalid(`the answer carries this request's cid but was published on ${topic}, not ${responseTopic(deviceId, byCid.command)}`, seen);
      return;
    }
    const owner = byCid ?? (cid === undefined ? this.oldestInflight(deviceId, command) : undefined);
    if (!owner && cid !== undefined && !collecting && !this.issued.get(cid)) {
      // A cid we never issued while exactly one request for this command waits: the device mangled
      // its cid. With several waiting we cannot tell which; they time out rather than take a guess.
      const waiting = this.inflightFor(deviceId, command);
      if (waiting.length === 1) {
        const only = waiting[0]!;
        only.settleInvalid(`the answer carries cid "${cid}", which no request had; this request's cid was "${only.cid}" (copy it unchanged)`, seen);
        return;
      }
    }
    const decoded = decodeResponse(topic, payload);
    if (decoded.ok) {
      if (owner) this.answers.set(owner.cid, seen);
      if (this.pending.settle(decoded.value)) return;
    } else if (owner) {
      owner.settleInvalid(decoded.error.message, seen);
      return;
    }
    if (!collecting) this.checkUnsolicited(target, topic, payload, command, cid);
  }

  /** An answer nobody is waiting for: late (fine), or on a topic we never asked about (foreign). */
  private checkUnsolicited(target: MqttTarget, topic: string, payload: Buffer, command: string, cid: string | undefined): void {
    const issued = this.issued.get(cid);
    if (issued && issued.command !== command) {
      target.recordForeign(topic, payload, `answer to a ${issued.command} request (cid ${cid}) published on the ${command} topic`);
    } else if (!issued && !this.asked.get(target.deviceId)?.has(command)) {
      target.recordForeign(topic, payload, `answer on the topic of ${command}, which was never asked`);
    }
  }

  /** An answer on another device's topic is foreign when it carries one of our cids, or arrives while we wait. */
  private checkOtherDevice(topic: string, payload: Buffer, cid: string | undefined): void {
    const issued = this.issued.get(cid);
    if (issued) {
      this.targets.get(issued.deviceId)?.recordForeign(topic, payload, `answer to a ${issued.command} request for ${issued.deviceId} (cid ${cid}) published on another device's topic`);
      return;
    }
    if (cid !== undefined) return;
    // Without a cid we cannot tell whose answer it is; blame it only when exactly one device is being
    // asked something right now (the conformance run), never during multi-device load.
    const waiting = new Set([...this.inflight.values()].map((entry) => entry.deviceId));
    for (const collector of this.collectors) waiting.add(collector.deviceId);
    if (waiting.size === 1) {
      const [deviceId] = waiting;
      this.targets.get(deviceId!)?.recordForeign(topic, payload, `answer without cid on another device's topic while only ${deviceId} was being asked`);
    }
  }

  private oldestInflight(deviceId: string, command: string): Inflight | undefined {
    for (const entry of this.inflight.values()) if (entry.deviceId === deviceId && entry.command === command) return entry;
    return undefined;
  }

  private inflightFor(deviceId: string, command: string): Inflight[] {
    return [...this.inflight.values()].filter((entry) => entry.deviceId === deviceId && entry.command === command);
  }
}

export class MqttTarget implements DeviceTarget {
  readonly kind = 'mqtt' as const;
  private readonly foreign: ForeignAnswer[] = [];

  constructor(
    private readonly connection: MqttConnection,
    readonly deviceId: string,
  ) {}

  command(command: string, params: unknown, timeoutMs: number): Promise<HarnessOutcome> {
    return this.connection.command(this.deviceId, command, params, timeoutMs);
  }

  raw(command: string, payload: Uint8Array | string, windowMs: number, options?: RawOptions): Promise<RawAnswer[]> {
    return this.connection.raw(this.deviceId, command, payload, windowMs, options);
  }

  foreignAnswers(): ForeignAnswer[] {
    return [...this.foreign];
  }

  /** True when answers on other devices' topics are visible too (the broker granted `server/+/+`). */
  get watchesAllDevices(): boolean {
    return this.connection.watchesAllDevices;
  }

  recordForeign(topic: string, payload: Buffer, reason: string): void {
    if (this.foreign.length < 100) this.foreign.push({ topic, payload: payloadText(payload, 200), reason });
  }

  describe(): string {
    return `MQTT ${this.connection.where}, device ${this.deviceId}`;
  }

  close(): Promise<void> {
    return this.connection.release(this.deviceId);
  }
}

/** Open a connection and a target for one device. */
export async function openMqttTarget(options: MqttTargetOptions & { deviceId: string }): Promise<MqttTarget> {
  const connection = await MqttConnection.open(options);
  return connection.target(options.deviceId);
}

/** Open one connection shared by targets for several devices. */
export async function openMqttTargets(options: MqttTargetOptions, deviceIds: string[]): Promise<MqttTarget[]> {
  const connection = await MqttConnection.open(options);
  const targets: MqttTarget[] = [];
  for (const deviceId of deviceIds) targets.push(await connection.target(deviceId));
  return targets;
}

// ---------------------------------------------------------------------------------------------

const serverWildcard = responseTopic('+', '+');

/** Encode with the codec when the params are valid; deliberately invalid ones are built by hand in the same shape. */
function encodePayload(deviceId: string, command: string, params: unknown, cid: string): { topic: string; payload: Buffer } {
  if (isCommandName(command) && isPlainObject(params) && !('cid' in params)) {
    const encoded = encodeRequest(deviceId, command, params as never, { cid });
    if (encoded.ok) return encoded.value;
  }
  const body = isPlainObject(params) ? { cid, ...params } : (params ?? {});
  return { topic: requestTopic(deviceId, command), payload: Buffer.from(JSON.stringify(body)) };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The `cid` of a payload when one can be read, even from JSON the codec refuses. */
export function peekCid(payload: Uint8Array | string): string | undefined {
  const text = payloadText(payload, Number.MAX_SAFE_INTEGER);
  try {
    const value: unknown = JSON.parse(text);
    return isPlainObject(value) && typeof value.cid === 'string' ? value.cid : undefined;
  } catch {
    return /"cid"\s*:\s*"([A-Za-z0-9_-]{1,32})"/.exec(text)?.[1];
  }
}

function parseBrokerUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new TargetSetupError(`broker url ${JSON.stringify(text)} is not a URL; use mqtt://host:1883 or mqtts://host:8883`);
  }
  if (url.protocol !== 'mqtt:' && url.protocol !== 'mqtts:') {
    throw new TargetSetupError(`broker url must start with mqtt:// or mqtts://, got ${url.protocol}//`);
  }
  return url;
}

function redactUrl(url: URL): string {
  return `${url.protocol}//${url.host}`;
}
