/**
 * The device bus: how the server reaches devices. One interface, two engines (the embedded aedes
 * broker and RabbitMQ), both held to the same contract tests.
 */
import type { CommandName, CommandOutcome } from '../../firmware-protocol/index.ts';

export interface PresenceEvent {
  deviceId: string;
  online: boolean;
  at: Date;
}

export interface BusCounters {
  commandsSent: number;
  answersMatched: number;
  /** Answers that failed validation (bad JSON, wrong types, wrong topic shape). */
  answersInvalid: number;
  /** Valid answers that matched no request in flight (late, or never asked for). */
  answersUnmatched: number;
  devicesConnected: number;
}

export interface DeviceBus {
  /** Where devices connect, e.g. `mqtts://127.0.0.1:8883`. */
  readonly deviceUrl: string;
  /** Loopback-only listener for trusted services acting as the server (embedded engine, when enabled). */
  readonly serviceUrl?: string;
  /** Publish a command and wait for its answer or the deadline; resolves, never rejects. */
  command(deviceId: string, command: CommandName, params: unknown, timeoutMs: number): Promise<CommandOutcome>;
  /** Close a device's connection now (it was unregistered). */
  disconnectDevice(deviceId: string): Promise<void>;
  isConnected(deviceId: string): boolean;
  onPresence(listener: (event: PresenceEvent) => void): void;
  counters(): BusCounters;
  close(): Promise<void>;
}

/** What the bus asks the registry when a device connects: is this certificate still good? */
export interface DeviceAuthority {
  isDeviceActive(deviceId: string, certFingerprint: string): Promise<boolean>;
}
