/** Device registration: identity, certificate issuance, ownership, and unregistration (revocation). */
import { randomBytes } from 'node:crypto';
import type { CertificateAuthority, KeyAlgorithm } from '../certs/index.ts';
import type { Device, RegistryStore } from './registry/index.ts';
import { RegistryConflictError } from './registry/index.ts';
import type { DeviceBus } from './bus/device-bus.ts';
import { ApiError, conflict, forbidden, notFound } from './api/api-error.ts';
import { TtlCache } from './ttl-cache.ts';
import type { CostlyWork } from './costly-work.ts';

export interface Registration {
  device: Device;
  certificatePem: string;
  /** Shown once to the caller; never stored. */
  privateKeyPem: string;
}

/** A device was registered or unregistered (the console's live channel follows these). */
export interface DeviceChange {
  kind: 'registered' | 'unregistered';
  device: Device;
}

export interface DeviceRegistryOptions {
  /** Called with how long each registry operation took (register, unregister, list, lookup), for /metrics. */
  observeLatency?(operation: RegistryOperation, seconds: number): void;
}

export type RegistryOperation = 'register' | 'unregister' | 'list' | 'lookup';

export class DeviceRegistry {
  /** Registered (not revoked) devices by id: ownership checks on every command. */
  private readonly active = new TtlCache<string, Device>(5000);
  private readonly changeListeners: ((change: DeviceChange) => void)[] = [];

  constructor(
    private readonly store: RegistryStore,
    private readonly ca: CertificateAuthority,
    private readonly bus: DeviceBus,
    /** RSA key generation shares the bound with password hashing. */
    private readonly costly: CostlyWork,
    private readonly options: DeviceRegistryOptions = {},
  ) {
    // Unregistered through another server sharing the registry: forget it and close its connection here.
    void store.onChange((change) => {
      if (change.kind !== 'device-revoked') return;
      this.active.delete(change.deviceId);
      void this.bus.disconnectDevice(change.deviceId);
    }).catch(() => {}); // not listening: other servers' unregisters are seen within the cache's 5 s
  }

  onChange(listener: (change: DeviceChange) => void): void {
    this.changeListeners.push(listener);
  }

  private emit(change: DeviceChange): void {
    for (const listener of this.changeListeners) listener(change);
  }

  private async timed<T>(operation: RegistryOperation, work: () => Promise<T>): Promise<T> {
    const observe = this.options.observeLatency;
    if (!observe) return work();
    const start = performance.now();
    try {
      return await work();
    } finally {
      observe(operation, (performance.now() - start) / 1000);
    }
  }

  async register(ownerId: string, input: { name: string; deviceId?: string; keyAlgorithm?: KeyAlgorithm }): Promise<Registration> {
    const registration = await this.timed('register', () => this.registerNow(ownerId, input));
    this.emit({ kind: 'registered', device: registration.device });
    return registration;
  }

  private async registerNow(ownerId: string, input: { name: string; deviceId?: string; keyAlgorithm?: KeyAlgorithm }): Promise<Registration> {
    if (await this.store.findDeviceByName(ownerId, input.name)) {
      throw conflict(`you already have a device named ${JSON.stringify(input.name)}; choose another name or unregister it`, '/name');
    }
    const deviceId = input.deviceId ?? `dev-${randomBytes(8).toString('hex')}`;
    if (input.deviceId !== undefined && (await this.store.getDevice(deviceId))) {
      throw conflict(`device id ${JSON.stringify(deviceId)} is taken; choose another or leave it out to get a generated one`, '/deviceId');
    }
    const issue = () => this.ca.issueDeviceCertificate(deviceId, input.keyAlgorithm ? { algorithm: input.keyAlgorithm } : {});
    const issued = input.keyAlgorithm === 'rsa-2048' ? await this.costly.run(issue) : await issue();
    try {
      const device = await this.store.createDevice({ id: deviceId, ownerId, name: input.name, certFingerprint: issued.fingerprint, certPem: issued.certPem });
      return { device, certificatePem: issued.certPem, privateKeyPem: issued.keyPem };
    } catch (error) {
      if (error instanceof RegistryConflictError) {
        throw conflict(`${error.field === 'name' ? 'name' : 'device id'} is taken (registered concurrently)`, error.field === 'name' ? '/name' : '/deviceId');
      }
      throw error;
    }
  }

  /** The caller's device, or 404 (unknown or unregistered) / 403 (another user's). */
  async requireOwned(ownerId: string, deviceId: string): Promise<Device> {
    let device = this.active.get(deviceId);
    if (!device) {
      const stored = await this.timed('lookup', () => this.store.getDevice(deviceId));
      if (stored && !stored.revoked) this.active.set(deviceId, stored);
      device = stored ?? undefined;
    }
    if (!device || device.revoked) throw notFound(`no device ${JSON.stringify(deviceId)}; list yours with GET /api/v1/devices`);
    if (device.ownerId !== ownerId) throw forbidden(`device ${JSON.stringify(deviceId)} belongs to another user`);
    return device;
  }

  /** The caller's unrevoked device with this name (names are unique per user), or 404. */
  async requireNamed(ownerId: string, name: string): Promise<Device> {
    const device = await this.store.findDeviceByName(ownerId, name);
    if (!device) throw notFound(`you have no device named ${JSON.stringify(name)}`);
    return device;
  }

  async unregister(ownerId: string, deviceId: string): Promise<void> {
    await this.revoke(await this.requireOwned(ownerId, deviceId));
  }

  /**
   * Unregisters many of the caller's devices. Every id is checked first, so one that is another
   * user's (403) unregisters none; unknown or already unregistered ids are answered as notFound,
   * not refused, so a clean-up that was interrupted can simply be repeated.
   */
  async unregisterMany(ownerId: string, deviceIds: readonly string[]): Promise<{ unregistered: string[]; notFound: string[] }> {
    const owned: Device[] = [];
    const missing: string[] = [];
    for (const deviceId of new Set(deviceIds)) {
      try {
        owned.push(await this.requireOwned(ownerId, deviceId));
      } catch (error) {
        if (!(error instanceof ApiError && error.statusCode === 404)) throw error;
        missing.push(deviceId);
      }
    }
    for (const device of owned) await this.revoke(device);
    return { unregistered: owned.map((device) => device.id), notFound: missing };
  }

  private async revoke(device: Device): Promise<void> {
    this.active.delete(device.id);
    await this.timed('unregister', () => this.store.revokeDevice(device.id));
    await this.bus.disconnectDevice(device.id); // its certificate is refused from now on
    this.emit({ kind: 'unregistered', device: { ...device, revoked: true } });
  }

  /** When the device was last connected, read fresh (the cached record's copy goes stale). */
  async lastSeenAt(deviceId: string): Promise<Date | null> {
    return (await this.store.getDevice(deviceId))?.lastSeenAt ?? null;
  }

  async list(ownerId: string): Promise<Device[]> {
    return this.timed('list', () => this.store.listDevices(ownerId));
  }
}
