/** PGlite on disk keeps the registry across a close and reopen (a server restart). */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openPgliteStore, openStore } from '../../server/registry/index.ts';

describe('PGlite registry on disk', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('keeps users, sessions, devices and migrations after close and reopen', async () => {
    const root = await mkdtemp(join(tmpdir(), 'iotcloud-registry-'));
    dirs.push(root);
    const dataDir = join(root, 'nested', 'registry'); // created on open

    const first = await openPgliteStore(dataDir);
    await first.migrate();
    const user = await first.createUser('persisted-user', 'scrypt$hash');
    const expiresAt = new Date('2035-01-01T00:00:00.000Z');
    await first.createSession(user.id, 'token-hash', expiresAt);
    const device = await first.createDevice({ id: 'dev-persisted', ownerId: user.id, name: 'boiler', certFingerprint: 'fp-1' });
    await first.setDevicePresence(device.id, true, new Date('2030-01-01T00:00:00.000Z'));
    const migrations = await first.appliedMigrations();
    await first.close();

    // Reopen through openStore, the server's entry point: no databaseUrl means PGlite at dataDir.
    const second = await openStore({ dataDir });
    try {
      expect(await second.appliedMigrations()).toEqual(migrations);
      await second.migrate(); // a restart migrates again: must be a no-op
      expect(await second.appliedMigrations()).toEqual(migrations);

      expect(await second.findUserByUsername('persisted-user')).toEqual({ ...user, passwordHash: 'scrypt$hash' });
      expect(await second.findSession('token-hash', new Date('2034-01-01T00:00:00.000Z'))).toEqual({ userId: user.id, expiresAt });
      expect(await second.getDevice(device.id)).toEqual({ ...device, online: true, lastSeenAt: new Date('2030-01-01T00:00:00.000Z') });
      expect(await second.isDeviceActive(device.id, 'fp-1')).toBe(true);
    } finally {
      await second.close();
    }
  });
});
