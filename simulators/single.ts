/**
 * Single-device mode, for `iotcloud sim --device <id>`: connect one simulated device, log every
 * request and answer, and stop cleanly when `signal` aborts (the CLI aborts it on SIGINT/SIGTERM).
 * A broker that is away is waited for (one log line per attempt, with back-off); a broker that
 * refuses the device for good (refusal.ts) ends the run with `DeviceRefusedError`, as the C
 * ft900-host does: retrying would only repeat the refusal.
 */
import { once } from 'node:events';
import pino, { type Logger } from 'pino';
import { SimulatedDevice, zeroCounters, type DeviceCounters, type DeviceOptions } from './device.ts';
import { formatProfile } from './profiles.ts';
import { Backoff, defaultBackoff, failureText, loadCredentials, refusalOf, type CredentialFiles, type Credentials, type Refusal } from '../device-link/index.ts';

export interface SingleDeviceOptions extends Omit<DeviceOptions, 'credentials' | 'logger' | 'stopWhenRefused'> {
  credentials?: Credentials | CredentialFiles;
  logger?: Logger;
  /** Stop when aborted (`iotcloud sim` aborts it on SIGINT/SIGTERM). */
  signal: AbortSignal;
  /** Longest payload text put in one log line. */
  maxLoggedPayload?: number;
}

/** The broker refused the device for good: on the first connection or a later one. */
export class DeviceRefusedError extends Error {
  override readonly name = 'DeviceRefusedError';
  constructor(
    readonly deviceId: string,
    readonly refusal: Refusal,
    readonly counters: DeviceCounters,
    options: ErrorOptions,
  ) {
    super(`the broker refused device ${deviceId}: ${refusal.detail}`, options);
  }
}

/** Run one device until `signal` aborts; resolves with its counters once stopped. */
export async function runSingleDevice(options: SingleDeviceOptions): Promise<DeviceCounters> {
  // The device names itself in its own lines (a fleet shares one logger); only this module's
  // lines get the id from a child logger, so no line carries it twice.
  const deviceLog = options.logger ?? pino({ name: 'iotcloud-sim' });
  const log = deviceLog.child({ deviceId: options.deviceId });
  const maxText = options.maxLoggedPayload ?? 512;
  const text = (payload: Buffer) => {
    const all = payload.toString('utf8');
    return all.length > maxText ? `${all.slice(0, maxText)}...` : all;
  };
  const credentials = options.credentials && 'caFile' in options.credentials ? await loadCredentials(options.credentials) : options.credentials;
  const { signal, maxLoggedPayload: _max, logger: _logger, credentials: _files, ...deviceOptions } = options;
  const stopped = signal.aborted ? Promise.resolve() : once(signal, 'abort').then(() => undefined);

  const device = await firstConnection(() => new SimulatedDevice({ ...deviceOptions, ...(credentials ? { credentials } : {}), logger: deviceLog, stopWhenRefused: true }), signal, stopped, log);
  if (!device) return zeroCounters();
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

  const refused = once(device, 'refused') as Promise<[Error, Refusal]>;
  const end = await Promise.race([stopped.then(() => undefined), refused]);
  await device.stop();
  if (end) throw new DeviceRefusedError(options.deviceId, end[1], { ...device.counters }, { cause: end[0] });
  log.info({ counters: device.counters }, 'simulated device stopped');
  return { ...device.counters };
}

/**
 * Connect a fresh device until one is up (undefined when stopped first). A failed first
 * attempt stops its device, so each retry gets a new one, its board still at power-on state.
 */
async function firstConnection(create: () => SimulatedDevice, signal: AbortSignal, stopped: Promise<void>, log: Logger): Promise<SimulatedDevice | undefined> {
  const backoff = new Backoff(defaultBackoff);
  while (!signal.aborted) {
    const device = create();
    try {
      await device.start();
      return device;
    } catch (error) {
      const refusal = refusalOf(error);
      if (refusal) throw new DeviceRefusedError(device.deviceId, refusal, { ...device.counters }, { cause: error });
      const retryInMs = backoff.next();
      log.warn({ reason: failureText(error), retryInMs: Math.round(retryInMs) }, 'connection attempt failed');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([stopped, new Promise((resolve) => (timer = setTimeout(resolve, retryInMs)))]);
      clearTimeout(timer);
    }
  }
  return undefined;
}
