/**
 * The in-memory "who may connect" table over a real PGlite store: what happens when the database
 * fails under it (the contract suite covers the normal path on every engine).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPgliteStore, type SqlRegistryStore } from '../../server/registry/index.ts';
import { withActiveDevicesInMemory } from '../../server/registry/active-devices-in-memory.ts';

describe('who may connect, kept in memory for PGlite', () => {
  let database: SqlRegistryStore;
  let ownerId: string;
  beforeAll(async () => {
    database = await openPgliteStore(undefined);
    await database.migrate();
    ownerId = (await database.createUser('owner', 'scrypt$hash')).id;
  });
  afterAll(() => database.close());

  it('a revocation the database refused leaves the device allowed, as the database says', async () => {
    const failing = withActiveDevicesInMemory({ ...database, revokeDevice: () => Promise.reject(new Error('disk full')) });
    await failing.createDevice({ id: 'dev-kept', ownerId, name: 'kept', certFingerprint: 'fp-kept' });

    await expect(failing.revokeDevice('dev-kept')).rejects.toThrow('disk full');
    expect(await failing.isDeviceActive('dev-kept', 'fp-kept')).toBe(true);
  });

  it('a device is refused while its revocation is being written', async () => {
    let finishRevocation!: () => void;
    const slow = withActiveDevicesInMemory({
      ...database,
      revokeDevice: async (id) => {
        await new Promise<void>((resolve) => (finishRevocation = resolve));
        return database.revokeDevice(id);
      },
    });
    await slow.createDevice({ id: 'dev-going', ownerId, name: 'going', certFingerprint: 'fp-going' });

    const revoking = slow.revokeDevice('dev-going');
    await expect.poll(() => finishRevocation).toBeTypeOf('function'); // the UPDATE is under way
    expect(await slow.isDeviceActive('dev-going', 'fp-going')).toBe(false);
    finishRevocation();
    await expect(revoking).resolves.toBe(true);
    expect(await database.isDeviceActive('dev-going', 'fp-going')).toBe(false);
  });

  it('a failed first load is retried at the next check', async () => {
    let failNextLoad = true;
    const flaky = withActiveDevicesInMemory({
      ...database,
      allActiveFingerprints: () => (failNextLoad ? ((failNextLoad = false), Promise.reject(new Error('busy'))) : database.allActiveFingerprints()),
    });
    await database.createDevice({ id: 'dev-flaky', ownerId, name: 'flaky', certFingerprint: 'fp-flaky' });

    await expect(flaky.isDeviceActive('dev-flaky', 'fp-flaky')).rejects.toThrow('busy');
    expect(await flaky.isDeviceActive('dev-flaky', 'fp-flaky')).toBe(true);
  });
});
