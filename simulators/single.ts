/**
 * Single-device mode, for `iotcloud sim --device <id>`: connect one simulated device, log every
 * request and answer, and stop cleanly when `signal` aborts (the CLI aborts it on SIGINT/SIGTERM).
 */
import pino, { type Logger } from 'pino';
import { startDevice, type DeviceCounters, type DeviceOptions } from './device.ts';
import { formatProfile } from './profiles.ts';
import { loadCredentials, type CredentialFiles, type Credentials } from '../device-link/index.ts';

export interface SingleDeviceOptions extends Omit<DeviceOptions, 'credentials' | 'logger'> {
  credentials?: Credentials | CredentialFiles;
  logger?: Logger;
  /** Stop when aborted (`iotcloud sim` aborts it on SIGINT/SIGTERM). */
  signal: AbortSignal;
  /** Longest payload text put in one log line. */
  maxLoggedPayload?: number;
}

/** Run one device until `signal` aborts; resolves with its counters once stopped. */
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

  if (!signal.aborted) await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
  await device.stop();
  log.info({ counters: device.counters }, 'simulated device stopped');
  return { ...device.counters };
}
