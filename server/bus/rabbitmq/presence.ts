/**
 * Device presence from RabbitMQ's event exchange. `connection.created` names the connection and
 * its user (the device id); `connection.closed` names only the connection, so the tracker keeps
 * which connection belongs to whom. A device is online while it holds at least one connection.
 */
import { isValidDeviceId } from '../../../firmware-protocol/index.ts';
import type { PresenceEvent } from '../device-bus.ts';

export interface ConnectionRecord {
  /** RabbitMQ's connection name, e.g. `127.0.0.1:52024 -> 127.0.0.1:8893`. */
  name: string;
  user: string;
}

export class PresenceTracker {
  private readonly owners = new Map<string, string>(); // connection name -> device id
  private readonly connections = new Map<string, Set<string>>(); // device id -> connection names

  constructor(private readonly emit: (event: PresenceEvent) => void) {}

  get deviceCount(): number {
    return this.connections.size;
  }

  isOnline(deviceId: string): boolean {
    return this.connections.has(deviceId);
  }

  opened(connection: ConnectionRecord, at = new Date()): void {
    // The server's own user and anything else that is not a device id is not a device.
    if (!isValidDeviceId(connection.user) || this.owners.has(connection.name)) return;
    this.owners.set(connection.name, connection.user);
    const names = this.connections.get(connection.user);
    if (names) return void names.add(connection.name);
    this.connections.set(connection.user, new Set([connection.name]));
    this.emit({ deviceId: connection.user, online: true, at });
  }

  closed(name: string, at = new Date()): void {
    const deviceId = this.owners.get(name);
    if (deviceId === undefined) return; // opened before we listened, or not a device
    this.owners.delete(name);
    const names = this.connections.get(deviceId)!;
    names.delete(name);
    if (names.size > 0) return;
    this.connections.delete(deviceId);
    this.emit({ deviceId, online: false, at });
  }

  /** Replace what we know with a full listing (after a reconnection), emitting only the changes. */
  reset(current: ConnectionRecord[], at = new Date()): void {
    const keep = new Set(current.map((connection) => connection.name));
    for (const name of [...this.owners.keys()]) if (!keep.has(name)) this.closed(name, at);
    for (const connection of current) this.opened(connection, at);
  }

  /** Forget everything: every device goes offline. */
  clear(at = new Date()): void {
    this.reset([], at);
  }
}
