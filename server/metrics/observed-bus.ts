/** A device bus that tells observers every command's outcome (for /metrics and the live channel). */
import type { CommandName, CommandOutcome } from '../../firmware-protocol/index.ts';
import type { BusCounters, DeviceBus, PresenceEvent } from '../bus/device-bus.ts';

export class ObservedBus implements DeviceBus {
  constructor(
    private readonly inner: DeviceBus,
    private readonly observe: (outcome: CommandOutcome) => void,
  ) {}

  get deviceUrl(): string {
    return this.inner.deviceUrl;
  }

  get serviceUrl(): string | undefined {
    return this.inner.serviceUrl;
  }

  async command(deviceId: string, command: CommandName, params: unknown, timeoutMs: number): Promise<CommandOutcome> {
    const outcome = await this.inner.command(deviceId, command, params, timeoutMs);
    this.observe(outcome);
    return outcome;
  }

  disconnectDevice(deviceId: string): Promise<void> {
    return this.inner.disconnectDevice(deviceId);
  }

  isConnected(deviceId: string): boolean {
    return this.inner.isConnected(deviceId);
  }

  onPresence(listener: (event: PresenceEvent) => void): void {
    this.inner.onPresence(listener);
  }

  counters(): BusCounters {
    return this.inner.counters();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
