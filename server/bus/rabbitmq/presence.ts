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

/** What the events said while a listing of the node's connections was being taken. */
export interface ListingWindow {
  openedSince: Set<string>;
  closedSince: Set<string>;
}

export class PresenceTracker {
  private readonly owners = new Map<string, string>(); // connection name -> device id
  private readonly connections = new Map<string, Set<string>>(); // device id -> connection names
  private listing: ListingWindow | undefined;

  constructor(private readonly emit: (event: PresenceEvent) => void) {}

  get deviceCount(): number {
    return this.connections.size;
  }

  isOnline(deviceId: string): boolean {
    return this.connections.has(deviceId);
  }

  opened(connection: ConnectionRecord, at = new Date()): void {
    if (this.listing) {
      this.listing.openedSince.add(connection.name);
      this.listing.closedSince.delete(connection.name);
    }
    // The server's own user and anything else that is not a device id is not a device.
    if (!isValidDeviceId(connection.user) || this.owners.has(connection.name)) return;
    this.owners.set(connection.name, connection.user);
    const names = this.connections.get(connection.user);
    if (names) return void names.add(connection.name);
    this.connections.set(connection.user, new Set([connection.name]));
    this.emit({ deviceId: connection.user, online: true, at });
  }

  closed(name: string, at = new Date()): void {
    if (this.listing) {
      this.listing.closedSince.add(name); // even one opened before we listened: the listing may still hold it
      this.listing.openedSince.delete(name);
    }
    const deviceId = this.owners.get(name);
    if (deviceId === undefined) return; // opened before we listened, or not a device
    this.owners.delete(name);
    const names = this.connections.get(deviceId)!;
    names.delete(name);
    if (names.size > 0) return;
    this.connections.delete(deviceId);
    this.emit({ deviceId, online: false, at });
  }

  /**
   * Call before asking the node for its connections: events that arrive while the listing is
   * taken may be newer than it, and `reset` must not undo them.
   */
  beginListing(): ListingWindow {
    this.listing = { openedSince: new Set(), closedSince: new Set() };
    return this.listing;
  }

  /** The listing failed or no longer applies: stop recording for it (a newer one carries on). */
  endListing(window: ListingWindow): void {
    if (this.listing === window) this.listing = undefined;
  }

  /**
   * Replace what we know with a full listing (after a reconnection), emitting only the changes.
   * Connections opened since `beginListing` stay even if the listing missed them; those closed
   * since stay closed even if the listing still held them.
   */
  reset(current: ConnectionRecord[], at = new Date()): void {
    const window = this.listing;
    this.listing = undefined;
    const listed = window ? current.filter((connection) => !window.closedSince.has(connection.name)) : current;
    const keep = new Set([...listed.map((connection) => connection.name), ...(window?.openedSince ?? [])]);
    for (const name of [...this.owners.keys()]) if (!keep.has(name)) this.closed(name, at);
    for (const connection of listed) this.opened(connection, at);
  }

  /** Forget everything: every device goes offline (a listing under way no longer applies). */
  clear(at = new Date()): void {
    this.listing = undefined;
    this.reset([], at);
  }
}
