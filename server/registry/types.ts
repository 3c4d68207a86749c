/** The registry's public types: what the server stores about users, sessions and devices. */

export interface User {
  id: string;
  username: string;
  createdAt: Date;
}

export interface Device {
  /** Also the CN of the device's certificate. */
  id: string;
  ownerId: string;
  name: string;
  certFingerprint: string;
  /** The device certificate (public), when it was stored at registration (not for devices registered before it was). */
  certPem?: string;
  createdAt: Date;
  lastSeenAt: Date | null;
  online: boolean;
  revoked: boolean;
}

export interface NewDevice {
  id: string;
  ownerId: string;
  name: string;
  certFingerprint: string;
  certPem?: string;
}

export interface Session {
  userId: string;
  expiresAt: Date;
}

export interface RegistryStore {
  /** Applies pending versioned migrations (tracked in schema_migrations); a no-op when up to date. */
  migrate(): Promise<void>;
  /** @throws RegistryConflictError (field 'username') when the username is taken. */
  createUser(username: string, passwordHash: string): Promise<User>;
  findUserByUsername(username: string): Promise<(User & { passwordHash: string }) | null>;
  createSession(userId: string, tokenHash: string, expiresAt: Date): Promise<void>;
  /** null when missing or expired (a session expires at `expiresAt` exactly). */
  findSession(tokenHash: string, now: Date): Promise<Session | null>;
  deleteSession(tokenHash: string): Promise<void>;
  /** Deletes sessions expired at `now`; returns how many. */
  deleteExpiredSessions(now: Date): Promise<number>;
  /** @throws RegistryConflictError (field 'name' or 'id') on a duplicate (ownerId, name) among unrevoked devices, or a duplicate id. */
  createDevice(input: NewDevice): Promise<Device>;
  /** Any device, revoked ones included (callers check `revoked`). */
  getDevice(id: string): Promise<Device | null>;
  /** The unrevoked device with this name, if any. */
  findDeviceByName(ownerId: string, name: string): Promise<Device | null>;
  /** The owner's unrevoked devices, in registration order. */
  listDevices(ownerId: string): Promise<Device[]>;
  /** Unregisters: marks revoked, keeps the row for audit, frees the name. true when the device exists (also if already revoked). */
  revokeDevice(id: string): Promise<boolean>;
  /** The broker's auth check: registered, not revoked, and the certificate fingerprint matches. */
  isDeviceActive(id: string, certFingerprint: string): Promise<boolean>;
  /** Each id's certificate fingerprint, for the registered, unrevoked devices among `ids`. */
  activeFingerprints(ids: readonly string[]): Promise<Map<string, string>>;
  /** Every registered, unrevoked device's certificate fingerprint, by id. */
  allActiveFingerprints(): Promise<Map<string, string>>;
  /** Records a connect/disconnect; an event older than the last one recorded is ignored. */
  setDevicePresence(id: string, online: boolean, at: Date): Promise<void>;
  /** Many presence events in one statement (same rules as setDevicePresence). */
  recordPresence(updates: readonly PresenceUpdate[]): Promise<void>;
  /**
   * Calls `listener` when any server sharing this registry ends a session or unregisters a device,
   * so caches drop it at once instead of after their TTL. A no-op for a registry only one process opens.
   */
  onChange(listener: (change: RegistryChange) => void): Promise<void>;
  close(): Promise<void>;
}

export type RegistryChange = { kind: 'session-ended'; tokenHash: string } | { kind: 'device-revoked'; deviceId: string };

export interface PresenceUpdate {
  deviceId: string;
  online: boolean;
  at: Date;
}

/** A uniqueness rule was broken; `field` names the input at fault ('username', 'name' or 'id'). */
export class RegistryConflictError extends Error {
  override readonly name = 'RegistryConflictError';

  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}
