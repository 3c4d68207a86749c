/**
 * The live channel (SSE /api/v1/live): the user's devices and their states, kept in one Map and
 * updated in place; views re-render at most once per animation frame however fast events come.
 */
import type { DeviceRow } from './api.ts';

export interface MetricsPoint {
  at: number;
  devices: number;
  connected: number;
  commandsPerSecond: number;
  failuresPerSecond: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

export type LiveStatus = 'connecting' | 'live' | 'reconnecting' | 'refused' | 'closed';

const HISTORY = 300;

class LiveStore {
  readonly devices = new Map<string, DeviceRow>();
  readonly metrics: MetricsPoint[] = [];
  status: LiveStatus = 'closed';
  message = '';
  /** Bumped when devices are added or removed (lists re-sort); `version` on any change. */
  membership = 0;
  version = 0;
  private source: EventSource | undefined;
  private readonly listeners = new Set<() => void>();
  private scheduled = false;

  start(): void {
    if (this.source) return;
    this.status = 'connecting';
    const source = new EventSource('/api/v1/live');
    this.source = source;
    source.addEventListener('open', () => this.set('live'));
    source.addEventListener('error', () => this.set(source.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting'));
    source.addEventListener('snapshot', (event) => {
      const { devices } = JSON.parse((event as MessageEvent<string>).data) as { devices: DeviceRow[] };
      this.devices.clear();
      for (const device of devices) this.devices.set(device.deviceId, device);
      this.membership++;
      this.set('live');
    });
    source.addEventListener('presence', (event) => {
      for (const [deviceId, online, at] of JSON.parse((event as MessageEvent<string>).data) as [string, boolean, number][]) {
        const device = this.devices.get(deviceId);
        if (!device) continue;
        device.online = online;
        device.lastSeenAt = new Date(at).toISOString();
      }
      this.changed();
    });
    source.addEventListener('changes', (event) => {
      for (const change of JSON.parse((event as MessageEvent<string>).data) as { kind: 'registered' | 'unregistered'; device: DeviceRow }[]) {
        if (change.kind === 'registered') this.devices.set(change.device.deviceId, change.device);
        else this.devices.delete(change.device.deviceId);
      }
      this.membership++;
      this.changed();
    });
    source.addEventListener('metrics', (event) => {
      this.metrics.push(JSON.parse((event as MessageEvent<string>).data) as MetricsPoint);
      if (this.metrics.length > HISTORY) this.metrics.shift();
      this.changed();
    });
    source.addEventListener('refused', (event) => {
      this.message = (JSON.parse((event as MessageEvent<string>).data) as { message: string }).message;
      this.stop('refused');
    });
    source.addEventListener('logged-out', () => this.stop('closed'));
  }

  stop(status: LiveStatus = 'closed'): void {
    this.source?.close();
    this.source = undefined;
    this.set(status);
  }

  clear(): void {
    this.stop();
    this.devices.clear();
    this.metrics.length = 0;
    this.membership++;
    this.changed();
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private set(status: LiveStatus): void {
    this.status = status;
    this.changed();
  }

  private changed(): void {
    this.version++;
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => {
      this.scheduled = false;
      for (const listener of this.listeners) listener();
    });
  }
}

export const live = new LiveStore();
