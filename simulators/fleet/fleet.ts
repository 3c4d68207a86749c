/**
 * A fleet of simulated devices in one process: every member is a full `SimulatedDevice` (the same
 * board, profiles and reconnection as `iotcloud sim`), connected at a paced rate with a bounded
 * number of connections in progress, so ten thousand devices ramp up the way a real fleet comes
 * back after an outage instead of flooding the broker with handshakes at once.
 *
 * Once a device's first connection is up it looks after itself (reconnection with backoff and
 * jitter). A first connection that fails is retried by the fleet, later, with its own backoff:
 * one refused handshake under load must not leave a device out for the rest of the run.
 */
import { EventEmitter } from 'node:events';
import { SimulatedDevice, type DeviceLogger, type DeviceOptions, type TransportName } from '../device.ts';
import { backoffDelay, deviceTlsContext, type BackoffOptions, type Credentials } from '../../device-link/index.ts';
import type { FleetIdentity } from './credentials.ts';
import { ErrorTally, type ErrorGroup } from './errors.ts';
import { eachLimited, Slots } from './limited.ts';
import { planProfiles, type ProfilePlan, type ProfileShare } from './shares.ts';

/** The malloc under the process: the caller knows (`iotcloud fleet` detects it, cli/process/allocator.ts). */
export type Allocator = 'jemalloc' | 'system';

export interface FleetOptions {
  /** Reported in progress (default 'system'). */
  allocator?: Allocator;
  /** How many devices this fleet will hold (profiles are planned over this size). */
  size: number;
  /** Broker URL for every device, e.g. `mqtts://127.0.0.1:8883`. */
  url: string;
  /** The platform root CA the broker's certificate must chain to. */
  caPem: string;
  transport?: TransportName;
  /** Connections started per second (the ramp-up). */
  rate: number;
  /** Most connections in progress at once. */
  concurrency: number;
  profiles?: readonly ProfileShare[];
  allowPlaintext?: boolean;
  /** The devices' own reconnection backoff. */
  reconnect?: Partial<BackoffOptions>;
  /** How the fleet retries a first connection that failed (default 1 s doubling to 30 s). */
  retry?: Partial<BackoffOptions>;
  bootMs?: number;
  mqtt?: DeviceOptions['mqtt'];
  /**
   * UART bytes each board keeps (default 4 KiB, not the single device's 64 KiB): a fleet hit with
   * write_uart must not grow by megabytes per device.
   */
  uartCapacityBytes?: number;
}

export type MemberState = 'queued' | 'connecting' | 'started' | 'retrying' | 'stopped';

export interface FleetMember {
  readonly index: number;
  readonly identity: FleetIdentity;
  /** Label of its behaviour group, e.g. `20%:drop=0.1` or `default`. */
  readonly profile: string;
  readonly group: number;
  state: MemberState;
  /** Failed first connections so far. */
  attempts: number;
  /** Set once connecting started; a new device replaces one whose first connection failed. */
  device: SimulatedDevice | undefined;
  /** What every device made for this member connects with (its TLS context is built at add). */
  readonly credentials: Credentials;
}

export type FleetPhase = 'connecting' | 'running' | 'stopping' | 'stopped';

/** A point-in-time view of the fleet: what the progress line and the JSON lines show. */
export interface FleetProgress {
  phase: FleetPhase;
  /** Since the fleet was created. */
  elapsedMs: number;
  size: number;
  /** Members known (provisioned or loaded). */
  provisioned: number;
  queued: number;
  connecting: number;
  connected: number;
  /** First connection failed; waiting to try again. */
  retrying: number;
  /** Failed first-connection attempts, in total. */
  failed: number;
  reconnects: number;
  disconnects: number;
  resets: number;
  received: number;
  /** Answers the broker accepted. */
  answered: number;
  /** Of those, protocol error answers. */
  protocolErrors: number;
  dropped: number;
  malformed: number;
  late: number;
  sendFailures: number;
  rssBytes: number;
  /** The malloc under the fleet: 'jemalloc' when `iotcloud fleet` found it (see cli/process/runtime.ts). */
  allocator: Allocator;
  heapUsedBytes: number;
  /** Most frequent errors (connect failures, reconnection attempts, unsent answers). */
  errors: ErrorGroup[];
}

export interface FleetEvents {
  connected: [member: FleetMember];
  disconnected: [member: FleetMember, error: Error | undefined];
  /** A first connection failed; the fleet will try again. */
  failed: [member: FleetMember, error: Error];
  /** Every device of `size` is connected (first time). */
  allConnected: [];
}

const DEFAULT_RETRY: BackoffOptions = { initialMs: 1000, maxMs: 30_000, factor: 2 };
const DEFAULT_UART_CAPACITY = 4096;
/** A paced loop that fell behind (timers fire late, slots were full) may catch up this much at once. */
const MAX_CATCH_UP_MS = 100;
/** Devices added between two turns of the event loop (see addAll). */
const ADD_CHUNK = 64;
/** Devices closed at once on shutdown. */
const CLOSE_CONCURRENCY = 500;

export class Fleet extends EventEmitter<FleetEvents> {
  readonly members: FleetMember[] = [];
  readonly plan: ProfilePlan;
  private readonly options: FleetOptions;
  private readonly usesTls: boolean;
  private readonly retry: BackoffOptions;
  private readonly errors = new ErrorTally();
  private readonly slots: Slots;
  private readonly createdAt = performance.now();
  /** Members waiting for their turn; `head` is the next one (no O(n) shift on 10,000 entries). */
  private queue: FleetMember[] = [];
  private head = 0;
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private wake: (() => void) | undefined;
  private connectedCount = 0;
  private failedCount = 0;
  private stopping = false;
  private stopped: Promise<void> | undefined;
  private finished = false;
  private firstConnectAt: number | undefined;
  private allConnectedAt: number | undefined;
  /** One logger for every device: their warnings become grouped fleet errors. */
  private readonly deviceLogger: DeviceLogger = {
    debug: () => undefined,
    info: () => undefined,
    warn: (object, message) => {
      const { deviceId, reason, err } = object as { deviceId?: string; reason?: string; err?: unknown };
      this.errors.add(`${message ?? 'warning'}: ${reason ?? errorText(err)}`, deviceId);
    },
  };

  constructor(options: FleetOptions) {
    super();
    if (!(Number.isInteger(options.size) && options.size >= 0)) throw new RangeError('fleet size must be a whole number');
    if (!(options.rate > 0)) throw new RangeError('connect rate must be above 0 per second');
    if (!(Number.isInteger(options.concurrency) && options.concurrency > 0)) throw new RangeError('connect concurrency must be a whole number above 0');
    this.options = options;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.plan = planProfiles(options.size, options.profiles ?? []);
    this.slots = new Slots(options.concurrency);
    // A wrong URL fails the same way for every device: refuse it now, not once per device. The
    // device constructor checks the URL against the transport and connects nothing.
    new SimulatedDevice({
      transport: options.transport ?? 'mqtt',
      url: options.url,
      deviceId: 'fleet-url-check',
      credentials: { caPem: options.caPem, certPem: '', keyPem: '' },
      ...(options.allowPlaintext === undefined ? {} : { allowPlaintext: options.allowPlaintext }),
    });
    this.usesTls = /^(mqtts|amqps):/i.test(options.url);
    void this.pump();
  }

  /**
   * Add many devices, letting the event loop breathe between chunks: building TLS contexts for
   * ten thousand devices takes seconds, and progress and signals must keep flowing meanwhile.
   */
  async addAll(identities: Iterable<FleetIdentity>): Promise<void> {
    let sinceYield = 0;
    for (const identity of identities) {
      this.add(identity);
      if (++sinceYield === ADD_CHUNK) {
        sinceYield = 0;
        await new Promise((resolve) => setImmediate(resolve));
        if (this.stopping) return;
      }
    }
  }

  /**
   * Add the next device; it connects when its turn comes. Its TLS context is built now (about
   * 1 ms of CPU), so the ramp spends its time on handshakes; a certificate or key that cannot be
   * used is refused here, with the device named.
   */
  add(identity: FleetIdentity): FleetMember {
    if (this.stopping) throw new Error('the fleet is stopping');
    const index = this.members.length;
    if (index >= this.options.size) throw new RangeError(`the fleet holds ${this.options.size} devices`);
    const credentials: Credentials = { caPem: this.options.caPem, certPem: identity.certPem, keyPem: identity.keyPem };
    if (this.usesTls) {
      try {
        deviceTlsContext(credentials);
      } catch (error) {
        throw new Error(`device ${identity.deviceId}: its certificate or key cannot be used (${errorText(error)}); provision it again`);
      }
    }
    const group = this.plan.groupOf[index]!;
    const member: FleetMember = { index, identity, group, profile: this.plan.groups[group]!.label, state: 'queued', attempts: 0, device: undefined, credentials };
    this.members.push(member);
    this.enqueue(member);
    return member;
  }

  /** Connected devices right now. */
  get connected(): number {
    return this.connectedCount;
  }

  /** Ms from the first connection started until every device was connected at once (undefined until then). */
  get rampMs(): number | undefined {
    return this.allConnectedAt === undefined || this.firstConnectAt === undefined ? undefined : this.allConnectedAt - this.firstConnectAt;
  }

  progress(): FleetProgress {
    const states: Record<MemberState, number> = { queued: 0, connecting: 0, started: 0, retrying: 0, stopped: 0 };
    const sums = { reconnects: 0, disconnects: 0, resets: 0, received: 0, answered: 0, protocolErrors: 0, dropped: 0, malformed: 0, late: 0, sendFailures: 0 };
    for (const member of this.members) {
      states[member.state]++;
      const counters = member.device?.counters;
      if (!counters) continue;
      sums.reconnects += counters.reconnects;
      sums.disconnects += counters.disconnects;
      sums.resets += counters.resets;
      sums.received += counters.received;
      sums.answered += counters.answered;
      sums.protocolErrors += counters.errors;
      sums.dropped += counters.dropped;
      sums.malformed += counters.malformed;
      sums.late += counters.late;
      sums.sendFailures += counters.sendFailures;
    }
    const memory = process.memoryUsage();
    return {
      phase: this.phase(),
      elapsedMs: Math.round(performance.now() - this.createdAt),
      size: this.options.size,
      provisioned: this.members.length,
      queued: states.queued,
      connecting: states.connecting,
      connected: this.connectedCount,
      retrying: states.retrying,
      failed: this.failedCount,
      ...sums,
      rssBytes: memory.rss,
      allocator: this.options.allocator ?? 'system',
      heapUsedBytes: memory.heapUsed,
      errors: this.errors.top(5),
    };
  }

  /** Stop connecting and close every device (a clean MQTT DISCONNECT each). */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.stopping = true;
      this.wake?.();
      this.slots.releaseWaiters();
      for (const timer of this.retryTimers) clearTimeout(timer);
      this.retryTimers.clear();
      await eachLimited(this.members, CLOSE_CONCURRENCY, async (member) => {
        member.state = 'stopped';
        // One device failing to close must not leave the others open.
        await member.device?.stop().catch((error: unknown) => this.errors.add(`close failed: ${errorText(error)}`, member.identity.deviceId));
      });
      this.finished = true;
    })();
    return this.stopped;
  }

  private phase(): FleetPhase {
    if (this.finished) return 'stopped';
    if (this.stopping) return 'stopping';
    return this.allConnectedAt === undefined ? 'connecting' : 'running';
  }

  private enqueue(member: FleetMember): void {
    member.state = 'queued';
    this.queue.push(member);
    this.wake?.();
  }

  private take(): FleetMember | undefined {
    if (this.head >= this.queue.length) return undefined;
    const member = this.queue[this.head++]!;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return member;
  }

  /** Resolves after `ms` (forever when undefined), or as soon as a member is queued or the fleet stops. */
  private pause(ms?: number): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(timer);
        if (this.wake === done) this.wake = undefined;
        resolve();
      };
      if (ms !== undefined) timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  /** The ramp: one connection every 1/rate s, at most `concurrency` in progress. */
  private async pump(): Promise<void> {
    const intervalMs = 1000 / this.options.rate;
    let due = performance.now();
    while (!this.stopping) {
      const member = this.take();
      if (!member) {
        await this.pause();
        due = Math.max(due, performance.now()); // idle time is not credit for a burst
        continue;
      }
      // A member queued meanwhile wakes the pause early: wait again until the turn is due.
      for (let wait = due - performance.now(); wait > 0 && !this.stopping; wait = due - performance.now()) await this.pause(wait);
      if (this.stopping) break;
      await this.slots.acquire();
      if (this.stopping) {
        this.slots.release();
        break;
      }
      due = Math.max(due + intervalMs, performance.now() - MAX_CATCH_UP_MS);
      void this.connect(member).finally(() => this.slots.release());
    }
  }

  private async connect(member: FleetMember): Promise<void> {
    member.state = 'connecting';
    this.firstConnectAt ??= performance.now();
    try {
      const device = this.createDevice(member);
      member.device = device;
      await device.start();
      if (this.stopping) return;
      member.state = 'started';
    } catch (error) {
      if (this.stopping) return;
      const failure = error instanceof Error ? error : new Error(String(error));
      this.failedCount++;
      this.errors.add(`connect failed: ${failure.message}`, member.identity.deviceId);
      member.device = undefined; // start() stopped it; a fresh device takes the next attempt
      member.attempts++;
      member.state = 'retrying';
      this.emit('failed', member, failure);
      this.retryLater(member);
    }
  }

  private retryLater(member: FleetMember): void {
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      if (!this.stopping) this.enqueue(member);
    }, backoffDelay(this.retry, member.attempts - 1));
    this.retryTimers.add(timer);
  }

  private createDevice(member: FleetMember): SimulatedDevice {
    const { options } = this;
    const device = new SimulatedDevice({
      transport: options.transport ?? 'mqtt',
      url: options.url,
      deviceId: member.identity.deviceId,
      credentials: member.credentials,
      profile: this.plan.groups[member.group]!.profile,
      logger: this.deviceLogger,
      board: { uartCapacityBytes: options.uartCapacityBytes ?? DEFAULT_UART_CAPACITY },
      ...(options.allowPlaintext === undefined ? {} : { allowPlaintext: options.allowPlaintext }),
      ...(options.reconnect === undefined ? {} : { reconnect: options.reconnect }),
      ...(options.bootMs === undefined ? {} : { bootMs: options.bootMs }),
      ...(options.mqtt === undefined ? {} : { mqtt: options.mqtt }),
    });
    device.on('connected', () => {
      this.connectedCount++;
      this.emit('connected', member);
      if (this.allConnectedAt === undefined && this.connectedCount === this.options.size) {
        this.allConnectedAt = performance.now();
        this.emit('allConnected');
      }
    });
    device.on('disconnected', (error) => {
      this.connectedCount--;
      this.emit('disconnected', member, error);
    });
    return device;
  }
}

function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  return error === undefined ? 'no details' : String(error);
}
