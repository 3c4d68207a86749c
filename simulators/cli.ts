/**
 * Single-device mode, for `iotcloud sim --device <id>`: connect one simulated device, log every
 * request and answer, and stop cleanly on SIGINT/SIGTERM (or when `signal` aborts).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { startDevice, type DeviceCounters, type DeviceOptions } from './device.ts';
import { formatProfile } from './profiles.ts';
import type { Credentials } from './transports/connection.ts';

/** Paths to the PEM files from device registration. */
export interface CredentialFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
}

export interface SingleDeviceOptions extends Omit<DeviceOptions, 'credentials' | 'logger'> {
  credentials?: Credentials | CredentialFiles;
  logger?: Logger;
  /** Stop when aborted (besides SIGINT/SIGTERM). */
  signal?: AbortSignal;
  /** Longest payload text put in one log line. */
  maxLoggedPayload?: number;
}

/** The files `iotcloud register --out DIR` writes, unless given one by one. */
export function credentialFilesIn(dir: string, deviceId: string, given: { ca?: string; cert?: string; key?: string } = {}): CredentialFiles {
  return {
    caFile: given.ca ?? join(dir, 'rootca.pem'),
    certFile: given.cert ?? join(dir, `${deviceId}_cert.pem`),
    keyFile: given.key ?? join(dir, `${deviceId}_pkey.pem`),
  };
}

/** Resolves on the first SIGINT or SIGTERM, or when `signal` aborts; listens from the moment it is called. */
export function untilStopped(signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const finish = () => {
      process.off('SIGINT', finish);
      process.off('SIGTERM', finish);
      signal?.removeEventListener('abort', finish);
      resolve();
    };
    process.once('SIGINT', finish);
    process.once('SIGTERM', finish);
    if (signal?.aborted) finish();
    else signal?.addEventListener('abort', finish, { once: true });
  });
}

export async function loadCredentials(files: CredentialFiles): Promise<Credentials> {
  const read = async (what: string, path: string) => {
    try {
      return await readFile(path, 'utf8');
    } catch (error) {
      throw new Error(`cannot read the ${what} ${path}: ${(error as Error).message}`);
    }
  };
  // One after the other, so a missing folder always reports the same (first) file.
  const caPem = await read('CA certificate', files.caFile);
  const certPem = await read('device certificate', files.certFile);
  const keyPem = await read('device key', files.keyFile);
  return { caPem, certPem, keyPem };
}

/** Run one device until SIGINT/SIGTERM or `signal`; resolves with its counters once stopped. */
export async function runSingleDevice(options: SingleDeviceOptions): Promise<DeviceCounters> {
  const log = (options.logger ?? pino({ name: 'iotcloud-sim' })).child({ deviceId: options.deviceId });
  const maxText = options.maxLoggedPayload ?? 512;
  const text = (payload: Buffer) => {
    const all = payload.toString('utf8');
    return all.length > maxText ? `${all.slice(0, maxText)}...` : all;
  };
  const credentials = options.credentials && 'caFile' in options.credentials ? await loadCredentials(options.credentials) : options.credentials;
  const { signal, maxLoggedPayload: _max, logger: _logger, credentials: _files, ...deviceOptions } = options;

  const device = await startDevice({ ...deviceOptions, ...(credentials ? { credentials } : {}), logger: log });
  log.info({ transport: options.transport, url: options.url, mac: device.board.mac, profile: formatProfile(device.profile) || 'none' }, 'simulated device running; Ctrl-C stops it');
  device.on('request', (topic, payload) => log.info({ topic, payload: text(payload) }, 'request'));
  device.on('dropped', (topic) => log.info({ topic }, 'request dropped (profile)'));
  device.on('answer', (answer) =>
    log.info(
      { topic: answer.topic, payload: text(answer.payload), delayMs: Math.round(answer.delayMs), ...(answer.late ? { late: true } : {}), ...(answer.malformed ? { malformed: answer.malformed } : {}) },
      'answer',
    ),
  );
  device.board.on('uart', (data) => log.debug({ data }, 'uart'));

  await untilStopped(signal);
  await device.stop();
  log.info({ counters: device.counters }, 'simulated device stopped');
  return { ...device.counters };
}
