/**
 * Who may connect, answered from memory, for a registry no other process writes: PGlite, which
 * one process at a time opens. Each device CONNECT then costs no query — PGlite spent ~0.5 ms of
 * the server's one busy thread on each certificate check during a fleet ramp, a fifth of its
 * connect path (bench/fleet.ts). PostgreSQL registries are shared by several servers, so they are
 * asked every time (in batches, server/connect-path.ts).
 *
 * The table (id -> fingerprint of the active certificate, ~150 bytes a device) loads at the first
 * check; the two writes that change it, createDevice and revokeDevice, go through here.
 */
import type { SqlRegistryStore } from './sql-store.ts';

export function withActiveDevicesInMemory(store: SqlRegistryStore): SqlRegistryStore {
  let table: Promise<Map<string, string>> | undefined;
  const loaded = (): Promise<Map<string, string>> =>
    (table ??= store.allActiveFingerprints().catch((error: unknown) => {
      table = undefined; // the next check tries again
      throw error;
    }));

  return {
    ...store,

    async createDevice(input) {
      // Loaded first, so the load's SELECT cannot miss a device this INSERT adds after it.
      const active = await loaded();
      const device = await store.createDevice(input);
      active.set(device.id, device.certFingerprint);
      return device;
    },

    async revokeDevice(id) {
      const active = await loaded();
      active.delete(id); // refused from now on, also while the UPDATE runs
      try {
        return await store.revokeDevice(id);
      } catch (error) {
        // Not revoked after all: the database still says who may connect.
        const fingerprint = (await store.activeFingerprints([id]).catch(() => new Map<string, string>())).get(id);
        if (fingerprint !== undefined) active.set(id, fingerprint);
        throw error;
      }
    },

    async isDeviceActive(id, certFingerprint) {
      return (await loaded()).get(id) === certFingerprint;
    },

    async activeFingerprints(ids) {
      const active = await loaded();
      const found = new Map<string, string>();
      for (const id of ids) {
        const fingerprint = active.get(id);
        if (fingerprint !== undefined) found.set(id, fingerprint);
      }
      return found;
    },

    async allActiveFingerprints() {
      return new Map(await loaded());
    },
  };
}
