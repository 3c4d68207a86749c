/**
 * The registry work every device CONNECT and disconnect causes — the certificate check and the
 * presence record — batched, so a fleet coming back after an outage costs the database a few
 * hundred statements instead of two per device.
 */
import type { Logger } from 'pino';
import { Batcher, type BatcherOptions } from './batcher.ts';
import type { DeviceAuthority, PresenceEvent } from './bus/device-bus.ts';
import type { RegistryStore } from './registry/types.ts';

/**
 * A CONNECT waits at most 2 ms for company, and only while a batch is in flight: with PostgreSQL.
 * A PGlite store answers from memory (registry/active-devices-in-memory.ts), so its batches end
 * at once and nothing waits.
 */
const CERTIFICATE_CHECKS: BatcherOptions = { lingerMs: 2, lingerOnlyWhenBusy: true };
/**
 * Presence is history (who is online right now comes from the bus), so it may wait a quarter of a
 * second: during a fleet ramp a batch then holds ~100 devices, at ~25 us of PGlite CPU each
 * instead of ~135 us in the ~20-device batches a 50 ms wait made.
 */
const PRESENCE_WRITES: BatcherOptions = { lingerMs: 250 };

interface CertificateCheck {
  deviceId: string;
  fingerprint: string;
}

/** Answers the bus's "is this certificate still good?" with one query per batch of CONNECTs. */
export function batchedDeviceAuthority(store: Pick<RegistryStore, 'activeFingerprints'>): DeviceAuthority {
  const checks = new Batcher<CertificateCheck, boolean>(async (batch) => {
    const active = await store.activeFingerprints([...new Set(batch.map((check) => check.deviceId))]);
    return batch.map((check) => active.get(check.deviceId) === check.fingerprint);
  }, CERTIFICATE_CHECKS);
  return { isDeviceActive: (deviceId, fingerprint) => checks.add({ deviceId, fingerprint }) };
}

export interface PresenceRecorder {
  record(event: PresenceEvent): void;
  /** Resolves once every event recorded so far is in the database (or failed and was logged). */
  flush(): Promise<void>;
}

/** Writes presence events in batches; a failed batch is logged, never thrown at the bus. */
export function presenceRecorder(store: Pick<RegistryStore, 'recordPresence'>, log: Logger): PresenceRecorder {
  const writes = new Batcher<PresenceEvent, void>(async (batch) => {
    // One warning per failed batch, not one per device of it.
    await store.recordPresence(batch).catch((error: unknown) => log.warn({ err: error, devices: batch.length }, 'presence update failed'));
    return batch.map(() => undefined);
  }, PRESENCE_WRITES);
  return {
    record(event) {
      void writes.add(event);
    },
    flush: () => writes.drain(),
  };
}
