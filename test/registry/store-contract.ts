/**
 * The contract every RegistryStore engine must meet. Each engine's test file calls
 * defineStoreContract with a factory; the tests share one store per file (opening PGlite costs
 * seconds), so each test makes its own users and devices with unique names.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryConflictError, type SqlRegistryStore, type User } from '../../server/registry/index.ts';
import { MIGRATIONS } from '../../server/registry/migrations.ts';

export interface StoreFactory {
  /** A store on an empty database; the contract migrates it. */
  open(): Promise<SqlRegistryStore>;
  /** Runs after the store is closed (e.g. drop a test schema). */
  cleanup?(): Promise<void>;
}

const unique = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;

/** Catches what a promise rejects with, failing the test if it resolves. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail('expected a rejection'),
    (error: unknown) => error,
  );
}

export function defineStoreContract(engine: string, factory: StoreFactory): void {
  describe(`RegistryStore contract: ${engine}`, () => {
    let store: SqlRegistryStore;

    beforeAll(async () => {
      store = await factory.open();
      await store.migrate();
    });

    afterAll(async () => {
      await store?.close();
      await factory.cleanup?.();
    });

    const newUser = (): Promise<User> => store.createUser(unique('user'), 'scrypt$hash');
    const newDevice = (ownerId: string, name = unique('device'), certFingerprint = unique('fp')) =>
      store.createDevice({ id: unique('dev'), ownerId, name, certFingerprint });

    describe('migrations', () => {
      it('records every migration once, and migrating again is a no-op that keeps the data', async () => {
        const before = await store.appliedMigrations();
        expect(before.map((m) => m.version)).toEqual(MIGRATIONS.map((m) => m.version));
        const user = await newUser();

        await store.migrate();
        await store.migrate();

        const after = await store.appliedMigrations();
        expect(after).toEqual(before); // same rows, same applied_at: nothing re-ran
        expect((await store.findUserByUsername(user.username))?.id).toBe(user.id);
      });
    });

    describe('users', () => {
      it('creates a user with a UUID id and finds it with its password hash', async () => {
        const username = unique('alice');
        const user = await store.createUser(username, 'scrypt$stored-hash');
        expect(user.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        expect(user.username).toBe(username);
        expect(user.createdAt).toBeInstanceOf(Date);
        expect(Math.abs(user.createdAt.getTime() - Date.now())).toBeLessThan(60_000);

        const found = await store.findUserByUsername(username);
        expect(found).toEqual({ ...user, passwordHash: 'scrypt$stored-hash' });
        expect(await store.findUserByUsername(unique('nobody'))).toBeNull();
      });

      it('refuses a duplicate username with a conflict on field "username"', async () => {
        const user = await newUser();
        const error = await rejection(store.createUser(user.username, 'other-hash'));
        expect(error).toBeInstanceOf(RegistryConflictError);
        expect((error as RegistryConflictError).field).toBe('username');
        expect((error as RegistryConflictError).message).toContain(user.username);
        // The original is untouched.
        expect((await store.findUserByUsername(user.username))?.passwordHash).toBe('scrypt$hash');
      });
    });

    describe('sessions', () => {
      it('finds a session until it expires, then not', async () => {
        const user = await newUser();
        const expiresAt = new Date('2031-05-01T12:00:00.000Z');
        await store.createSession(user.id, 'hash-a', expiresAt);

        expect(await store.findSession('hash-a', new Date('2031-05-01T11:59:59.999Z'))).toEqual({ userId: user.id, expiresAt });
        expect(await store.findSession('hash-a', expiresAt)).toBeNull(); // expired at the instant itself
        expect(await store.findSession('hash-a', new Date('2031-05-02T00:00:00.000Z'))).toBeNull();
        expect(await store.findSession('no-such-hash', new Date('2031-01-01T00:00:00.000Z'))).toBeNull();
      });

      it('deletes one session on logout', async () => {
        const user = await newUser();
        const now = new Date('2031-01-01T00:00:00.000Z');
        const expiresAt = new Date('2031-02-01T00:00:00.000Z');
        await store.createSession(user.id, 'hash-logout', expiresAt);
        await store.createSession(user.id, 'hash-other', expiresAt);

        await store.deleteSession('hash-logout');
        await store.deleteSession('hash-never-existed'); // not an error

        expect(await store.findSession('hash-logout', now)).toBeNull();
        expect(await store.findSession('hash-other', now)).toEqual({ userId: user.id, expiresAt });
      });

      it('deleteExpiredSessions removes only expired sessions and counts them', async () => {
        const user = await newUser();
        const now = new Date('2040-01-01T00:00:00.000Z');
        // Clear what earlier tests left behind, so the count below is ours alone.
        await store.deleteExpiredSessions(now);
        const at = (minutes: number) => new Date(now.getTime() + minutes * 60_000);
        await store.createSession(user.id, 'exp-1', at(1));
        await store.createSession(user.id, 'exp-2', at(2));
        await store.createSession(user.id, 'exp-edge', at(60)); // expires at the cutoff itself
        await store.createSession(user.id, 'live', at(120));

        expect(await store.deleteExpiredSessions(at(60))).toBe(3);
        expect(await store.deleteExpiredSessions(at(60))).toBe(0);
        // Gone for good, even when asked about a moment they were still valid.
        expect(await store.findSession('exp-1', now)).toBeNull();
        expect(await store.findSession('exp-2', now)).toBeNull();
        expect(await store.findSession('live', at(60))).toEqual({ userId: user.id, expiresAt: at(120) });
      });
    });

    describe('devices', () => {
      it('creates a device that starts offline, unrevoked, never seen', async () => {
        const owner = await newUser();
        const input = { id: unique('dev'), ownerId: owner.id, name: 'kitchen', certFingerprint: 'ab:cd' };
        const device = await store.createDevice(input);
        expect(device).toEqual({ ...input, createdAt: expect.any(Date), lastSeenAt: null, online: false, revoked: false });

        expect(await store.getDevice(input.id)).toEqual(device);
        expect(await store.findDeviceByName(owner.id, 'kitchen')).toEqual(device);
        expect(await store.getDevice(unique('missing'))).toBeNull();
        expect(await store.findDeviceByName(owner.id, 'garage')).toBeNull();
      });

      it('keeps the device certificate when given one (the original API lists it)', async () => {
        const owner = await newUser();
        const input = { id: unique('dev'), ownerId: owner.id, name: 'porch', certFingerprint: 'ef:01', certPem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' };
        expect(await store.createDevice(input)).toMatchObject({ certPem: input.certPem });
        expect((await store.listDevices(owner.id))[0]?.certPem).toBe(input.certPem);
      });

      it('refuses a duplicate name for the same owner (field "name"), allows it for another owner', async () => {
        const [alice, bob] = [await newUser(), await newUser()];
        await newDevice(alice.id, 'sensor');

        const error = await rejection(newDevice(alice.id, 'sensor'));
        expect(error).toBeInstanceOf(RegistryConflictError);
        expect((error as RegistryConflictError).field).toBe('name');

        const bobs = await newDevice(bob.id, 'sensor');
        expect(bobs.ownerId).toBe(bob.id);
        expect((await store.listDevices(alice.id)).map((d) => d.name)).toEqual(['sensor']);
      });

      it('refuses a duplicate device id (field "id"), even across owners', async () => {
        const [alice, bob] = [await newUser(), await newUser()];
        const device = await newDevice(alice.id);
        const error = await rejection(store.createDevice({ id: device.id, ownerId: bob.id, name: 'x', certFingerprint: 'y' }));
        expect(error).toBeInstanceOf(RegistryConflictError);
        expect((error as RegistryConflictError).field).toBe('id');
        expect((await store.getDevice(device.id))?.ownerId).toBe(alice.id);
      });

      it('lists only the owner’s devices, ordered by creation time', async () => {
        const [owner, other] = [await newUser(), await newUser()];
        expect(await store.listDevices(owner.id)).toEqual([]);
        // Created in non-alphabetical order, so sorting by name alone would fail.
        const created = [await newDevice(owner.id, 'zulu'), await newDevice(owner.id, 'alpha'), await newDevice(owner.id, 'mike')];
        await newDevice(other.id, 'bravo');

        const listed = await store.listDevices(owner.id);
        expect(listed).toEqual(created);
        expect(listed.map((d) => d.name)).toEqual(['zulu', 'alpha', 'mike']);
      });

      it('revoke keeps the row, hides the device from name lookup and lists, and frees the name', async () => {
        const owner = await newUser();
        const old = await newDevice(owner.id, 'thermostat', 'fp-old');

        expect(await store.revokeDevice(old.id)).toBe(true);
        const kept = await store.getDevice(old.id);
        expect(kept).toEqual({ ...old, revoked: true });
        expect(await store.findDeviceByName(owner.id, 'thermostat')).toBeNull();
        expect(await store.listDevices(owner.id)).toEqual([]);

        const replacement = await newDevice(owner.id, 'thermostat', 'fp-new');
        expect(await store.findDeviceByName(owner.id, 'thermostat')).toEqual(replacement);
        expect(await store.listDevices(owner.id)).toEqual([replacement]);
        // The name is taken again by the live device.
        expect(((await rejection(newDevice(owner.id, 'thermostat'))) as RegistryConflictError).field).toBe('name');

        expect(await store.revokeDevice(old.id)).toBe(true); // idempotent for a known device
        expect((await store.getDevice(old.id))?.revoked).toBe(true);
        expect(await store.revokeDevice(unique('unknown'))).toBe(false);
      });

      it('isDeviceActive is true only for a registered, unrevoked device with its own fingerprint', async () => {
        const owner = await newUser();
        const device = await newDevice(owner.id, 'lamp', 'fp-lamp');
        const other = await newDevice(owner.id, 'fan', 'fp-fan');

        expect(await store.isDeviceActive(device.id, 'fp-lamp')).toBe(true);
        expect(await store.isDeviceActive(device.id, 'fp-fan')).toBe(false); // another device's certificate
        expect(await store.isDeviceActive(device.id, 'FP-LAMP')).toBe(false);
        expect(await store.isDeviceActive(unique('unknown'), 'fp-lamp')).toBe(false);

        await store.revokeDevice(device.id);
        expect(await store.isDeviceActive(device.id, 'fp-lamp')).toBe(false);
        // Re-registering the name under a new id does not revive the old certificate.
        const again = await newDevice(owner.id, 'lamp', 'fp-lamp-2');
        expect(await store.isDeviceActive(device.id, 'fp-lamp')).toBe(false);
        expect(await store.isDeviceActive(again.id, 'fp-lamp-2')).toBe(true);
        expect(await store.isDeviceActive(other.id, 'fp-fan')).toBe(true);
      });

      it('records presence, and ignores an event older than the last one', async () => {
        const owner = await newUser();
        const device = await newDevice(owner.id);
        const t1 = new Date('2030-03-01T10:00:00.123Z');
        const t2 = new Date('2030-03-01T10:05:00.456Z');

        await store.setDevicePresence(device.id, true, t1);
        expect(await store.getDevice(device.id)).toMatchObject({ online: true, lastSeenAt: t1 });

        await store.setDevicePresence(device.id, false, t2);
        expect(await store.getDevice(device.id)).toMatchObject({ online: false, lastSeenAt: t2 });

        // A late "connected" from before the disconnect must not mark it online again.
        await store.setDevicePresence(device.id, true, t1);
        expect(await store.getDevice(device.id)).toMatchObject({ online: false, lastSeenAt: t2 });

        const t3 = new Date('2030-03-01T11:00:00.000Z');
        await store.setDevicePresence(device.id, true, t3);
        expect((await store.listDevices(owner.id))[0]).toMatchObject({ id: device.id, online: true, lastSeenAt: t3 });

        await expect(store.setDevicePresence(unique('unknown'), true, t3)).resolves.toBeUndefined();
      });

      it('answers many certificate checks in one query: only registered, unrevoked devices, each with its own fingerprint', async () => {
        const owner = await newUser();
        const lamp = await newDevice(owner.id, 'lamp', 'fp-lamp');
        const fan = await newDevice(owner.id, 'fan', 'fp-fan');
        const gone = await newDevice(owner.id, 'gone', 'fp-gone');
        await store.revokeDevice(gone.id);
        const unknown = unique('unknown');

        const active = await store.activeFingerprints([lamp.id, fan.id, gone.id, unknown, lamp.id]);
        expect(Object.fromEntries(active)).toEqual({ [lamp.id]: 'fp-lamp', [fan.id]: 'fp-fan' });
        expect((await store.activeFingerprints([])).size).toBe(0);
        const all = await store.allActiveFingerprints();
        expect([all.get(lamp.id), all.get(fan.id), all.has(gone.id), all.has(unknown)]).toEqual(['fp-lamp', 'fp-fan', false, false]);
      });

      it('a device registered or unregistered after the first certificate check is seen by the next one', async () => {
        const owner = await newUser();
        const early = await newDevice(owner.id, 'early', 'fp-early');
        expect(await store.isDeviceActive(early.id, 'fp-early')).toBe(true);

        const late = await newDevice(owner.id, 'late', 'fp-late');
        await store.revokeDevice(early.id);

        expect(await store.isDeviceActive(late.id, 'fp-late')).toBe(true);
        expect(await store.isDeviceActive(late.id, 'fp-early')).toBe(false);
        expect(await store.isDeviceActive(early.id, 'fp-early')).toBe(false);
        expect(Object.fromEntries(await store.activeFingerprints([early.id, late.id]))).toEqual({ [late.id]: 'fp-late' });
      });

      it('records a batch of presence events: the newest per device wins, older than recorded are ignored', async () => {
        const owner = await newUser();
        const lamp = await newDevice(owner.id, 'lamp');
        const fan = await newDevice(owner.id, 'fan');
        const t = (minute: number) => new Date(Date.UTC(2030, 3, 1, 10, minute, 0, 250));
        await store.setDevicePresence(fan.id, false, t(30));

        await store.recordPresence([
          { deviceId: lamp.id, online: true, at: t(1) },
          { deviceId: lamp.id, online: false, at: t(3) }, // newest for the lamp, listed in the middle
          { deviceId: lamp.id, online: true, at: t(2) },
          { deviceId: fan.id, online: true, at: t(5) }, // older than what the fan has: ignored
          { deviceId: unique('unknown'), online: true, at: t(5) },
        ]);
        expect(await store.getDevice(lamp.id)).toMatchObject({ online: false, lastSeenAt: t(3) });
        expect(await store.getDevice(fan.id)).toMatchObject({ online: false, lastSeenAt: t(30) });
        await expect(store.recordPresence([])).resolves.toBeUndefined();
      });
    });
  });
}
