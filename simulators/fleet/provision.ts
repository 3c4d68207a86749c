/**
 * Provisioning a fleet through the REST API, exactly as a user registers a board: one
 * `POST /api/v1/devices` per device, named `<prefix>-<n>`, a few in flight at once (the server
 * issues a certificate for each; more parallel requests only queue up there).
 */
import { RestError, type RestClient } from '../../rest-client/index.ts';
import type { FleetCredentials, FleetIdentity } from './credentials.ts';
import { fleetDeviceName } from './names.ts';

export interface ProvisionOptions {
  client: RestClient;
  count: number;
  /** Devices are named `<prefix>-0`, `<prefix>-1`, ... */
  prefix: string;
  /** Registrations in flight at once (default 8). */
  concurrency?: number;
  /** Each device as it is registered, in index order (so device n is named `<prefix>-n`), with where the fleet connects. */
  onDevice?(identity: FleetIdentity, index: number, platform: { caPem: string; mqttUrl: string }): void;
  /** Each registration as soon as it succeeds, in any order, even one never handed to onDevice: what a clean-up must unregister. */
  onRegistered?(deviceId: string): void;
  /** Stop registering more (those in flight complete); the result holds what was registered. */
  signal?: AbortSignal;
}

export class FleetProvisionError extends Error {
  override name = 'FleetProvisionError';
}

export async function provisionFleet(options: ProvisionOptions): Promise<FleetCredentials> {
  const { client, count, prefix } = options;
  const done = new Array<FleetIdentity | undefined>(count);
  let caPem: string | undefined;
  let mqttUrl: string | undefined;
  let next = 0;
  let emitted = 0;
  let failure: Error | undefined;

  // Registrations finish out of order; hand them on in order, so index n is always `<prefix>-n`.
  const flush = () => {
    while (emitted < count && done[emitted]) {
      options.onDevice?.(done[emitted]!, emitted, { caPem: caPem!, mqttUrl: mqttUrl! });
      emitted++;
    }
  };
  const worker = async () => {
    while (next < count && !failure && !options.signal?.aborted) {
      const index = next++;
      const name = fleetDeviceName(prefix, index);
      try {
        const registration = await client.registerDevice(name);
        options.onRegistered?.(registration.deviceId);
        caPem ??= registration.rootCa;
        mqttUrl ??= registration.mqttUrl;
        done[index] = { deviceId: registration.deviceId, name, certPem: registration.certificate, keyPem: registration.privateKey };
      } catch (error) {
        failure ??= new FleetProvisionError(`registering device "${name}" failed: ${explain(error)}`);
        continue;
      }
      try {
        flush();
      } catch (error) {
        failure ??= error instanceof Error ? error : new Error(String(error)); // the caller's own failure, not a registration's
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 8, count) }, worker));
  const identities = done.slice(0, emitted) as FleetIdentity[];
  if (failure instanceof FleetProvisionError) failure.message += ` (${identities.length} of ${count} devices were registered before it)`;
  if (failure) throw failure;
  if (identities.length === 0 || caPem === undefined) return { caPem: caPem ?? '', identities: [] };
  return { caPem, ...(mqttUrl ? { mqttUrl } : {}), identities };
}

function explain(error: unknown): string {
  if (error instanceof RestError) {
    if (error.status === 409) return `${error.message}; choose another --prefix, or reuse a saved fleet with --certs DIR`;
    if (error.status === 401) return `${error.message} (pass a fresh --token, or --user and --password)`;
    return error.message;
  }
  const cause = error as NodeJS.ErrnoException;
  return cause.code ? `${cause.message} (${cause.code})` : String(cause.message ?? error);
}
