/**
 * The console's live channel: per user, the state of their own devices and their command rate and
 * round trip, pushed to each open connection (SSE, see routes.ts).
 *
 * Only users with a connection open are followed: their devices' ids map to them, and a presence
 * event, registry change or command outcome for any other device is dropped at a Map lookup.
 * What a connection is owed is bounded: presence changes are coalesced per device (the latest
 * state wins) and flushed a few times a second; a connection whose socket buffer is full has its
 * backlog dropped and gets a fresh snapshot once it drains.
 */
import type { CommandOutcome } from '../../firmware-protocol/index.ts';
import type { DeviceViewBody } from '../api/device-view.ts';
import type { PresenceEvent } from '../bus/device-bus.ts';
import type { DeviceChange } from '../devices.ts';

export interface LiveStream {
  write(chunk: string): boolean;
  readonly writableLength: number;
  end(): void;
}

export interface LiveHubOptions {
  /** The user's devices, each with its online state now. */
  listDevices(userId: string): Promise<DeviceViewBody[]>;
  view(change: DeviceChange): DeviceViewBody;
  flushIntervalMs?: number;
  metricsIntervalMs?: number;
  /** Open connections per user; more are refused (429). Default 8. */
  maxConnectionsPerUser?: number;
  /** Open connections in all. Default 1000. */
  maxConnections?: number;
  /** Unsent bytes a connection may hold before its backlog is dropped for a snapshot. Default 1 MiB. */
  maxBufferedBytes?: number;
}

/** Command round trips kept per user per metrics interval for p50/p99 (beyond: counted only). */
const MAX_SAMPLES = 10_000;
/** Registry changes queued per connection before it is given a snapshot instead. */
const MAX_QUEUED_CHANGES = 1000;

interface Watcher {
  userId: string;
  ready: Promise<void>;
  devices: Set<string>;
  online: Set<string>;
  connections: Set<LiveConnection>;
  commands: number;
  failures: number;
  samples: number[];
}

export class LiveConnection {
  /** deviceId -> [online, at ms]: the latest state not yet sent. */
  readonly pending = new Map<string, [boolean, number]>();
  readonly changes: { kind: DeviceChange['kind']; device: DeviceViewBody }[] = [];
  needsSnapshot = false;
  snapshotting = false;

  constructor(
    readonly userId: string,
    readonly stream: LiveStream,
  ) {}

  send(event: string, data: unknown): void {
    this.stream.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }
}

export class LiveRefusal extends Error {}

export class LiveHub {
  private readonly watchers = new Map<string, Watcher>();
  /** deviceId -> owner, for the devices of followed users only. */
  private readonly owners = new Map<string, string>();
  private readonly timers: NodeJS.Timeout[];
  private connectionCount = 0;
  private readonly maxBuffered: number;

  constructor(private readonly options: LiveHubOptions) {
    this.maxBuffered = options.maxBufferedBytes ?? 1024 * 1024;
    this.timers = [setInterval(() => this.flush(), options.flushIntervalMs ?? 200), setInterval(() => this.sendMetrics(), options.metricsIntervalMs ?? 1000)];
    for (const timer of this.timers) timer.unref();
  }

  /** Start following this connection's user; sends a snapshot first. @throws LiveRefusal over the limits. */
  async open(userId: string, stream: LiveStream): Promise<LiveConnection> {
    if (this.connectionCount >= (this.options.maxConnections ?? 1000)) throw new LiveRefusal('the server has too many live connections open; retry later');
    let watcher = this.watchers.get(userId);
    if (watcher && watcher.connections.size >= (this.options.maxConnectionsPerUser ?? 8)) {
      throw new LiveRefusal(`you have ${watcher.connections.size} live connections open already; close a console tab`);
    }
    const connection = new LiveConnection(userId, stream);
    if (!watcher) {
      const created: Watcher = { userId, ready: Promise.resolve(), devices: new Set(), online: new Set(), connections: new Set(), commands: 0, failures: 0, samples: [] };
      created.ready = this.options.listDevices(userId).then((devices) => {
        for (const device of devices) this.follow(created, device);
      });
      this.watchers.set(userId, created);
      watcher = created;
    }
    watcher.connections.add(connection); // before the snapshot: events from now on are queued for after it
    this.connectionCount++;
    try {
      await watcher.ready;
    } catch (error) {
      this.close(connection);
      throw error;
    }
    connection.needsSnapshot = true;
    await this.snapshot(connection);
    return connection;
  }

  close(connection: LiveConnection): void {
    const watcher = this.watchers.get(connection.userId);
    if (!watcher || !watcher.connections.delete(connection)) return;
    this.connectionCount--;
    if (watcher.connections.size === 0) {
      this.watchers.delete(connection.userId);
      for (const deviceId of watcher.devices) this.owners.delete(deviceId);
    }
  }

  presence(event: PresenceEvent): void {
    const owner = this.owners.get(event.deviceId);
    if (owner === undefined) return;
    const watcher = this.watchers.get(owner)!;
    if (event.online) watcher.online.add(event.deviceId);
    else watcher.online.delete(event.deviceId);
    const at = event.at.getTime();
    for (const connection of watcher.connections) connection.pending.set(event.deviceId, [event.online, at]);
  }

  deviceChanged(change: DeviceChange): void {
    const watcher = this.watchers.get(change.device.ownerId);
    if (!watcher) return;
    const view = this.options.view(change);
    if (change.kind === 'registered') this.follow(watcher, view);
    else {
      watcher.devices.delete(view.deviceId);
      watcher.online.delete(view.deviceId);
      this.owners.delete(view.deviceId);
    }
    for (const connection of watcher.connections) {
      connection.pending.delete(view.deviceId);
      if (connection.changes.length < MAX_QUEUED_CHANGES) connection.changes.push({ kind: change.kind, device: view });
      else connection.needsSnapshot = true;
    }
  }

  command(outcome: CommandOutcome): void {
    const owner = this.owners.get(outcome.deviceId);
    if (owner === undefined) return;
    const watcher = this.watchers.get(owner)!;
    watcher.commands++;
    if (outcome.status !== 'ok') watcher.failures++;
    if ((outcome.status === 'ok' || outcome.status === 'device-error') && watcher.samples.length < MAX_SAMPLES) watcher.samples.push(outcome.elapsedMs);
  }

  stop(): void {
    for (const timer of this.timers) clearInterval(timer);
    for (const watcher of this.watchers.values()) for (const connection of watcher.connections) connection.stream.end();
    this.watchers.clear();
    this.owners.clear();
  }

  private follow(watcher: Watcher, device: DeviceViewBody): void {
    watcher.devices.add(device.deviceId);
    this.owners.set(device.deviceId, watcher.userId);
    if (device.online) watcher.online.add(device.deviceId);
  }

  private async snapshot(connection: LiveConnection): Promise<void> {
    if (connection.snapshotting) return;
    connection.snapshotting = true;
    try {
      connection.needsSnapshot = false;
      connection.pending.clear();
      connection.changes.length = 0;
      const devices = await this.options.listDevices(connection.userId);
      connection.send('snapshot', { devices });
    } finally {
      connection.snapshotting = false;
    }
  }

  private flush(): void {
    for (const watcher of this.watchers.values()) {
      for (const connection of watcher.connections) {
        if (connection.snapshotting) continue;
        if (connection.stream.writableLength > this.maxBuffered) {
          // The browser reads slower than things change: drop the backlog, send the state later.
          connection.pending.clear();
          connection.changes.length = 0;
          connection.needsSnapshot = true;
          continue;
        }
        if (connection.needsSnapshot) {
          void this.snapshot(connection).catch(() => connection.stream.end());
          continue;
        }
        if (connection.changes.length > 0) {
          connection.send('changes', connection.changes);
          connection.changes.length = 0;
        }
        if (connection.pending.size > 0) {
          const updates: [string, boolean, number][] = [];
          for (const [deviceId, [online, at]] of connection.pending) updates.push([deviceId, online, at]);
          connection.pending.clear();
          connection.send('presence', updates);
        }
      }
    }
  }

  private sendMetrics(): void {
    const seconds = (this.options.metricsIntervalMs ?? 1000) / 1000;
    for (const watcher of this.watchers.values()) {
      const samples = watcher.samples.sort((a, b) => a - b);
      const metrics = {
        at: Date.now(),
        devices: watcher.devices.size,
        connected: watcher.online.size,
        commandsPerSecond: watcher.commands / seconds,
        failuresPerSecond: watcher.failures / seconds,
        p50Ms: percentile(samples, 0.5),
        p99Ms: percentile(samples, 0.99),
      };
      watcher.commands = 0;
      watcher.failures = 0;
      watcher.samples = [];
      for (const connection of watcher.connections) if (connection.stream.writableLength <= this.maxBuffered) connection.send('metrics', metrics);
    }
  }
}

function percentile(sorted: number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! * 1000) / 1000;
}
