/**
 * Bridge settings: defaults and the checks that turn a wrong setting into one clear message
 * before anything is opened, instead of a retry loop that can never succeed.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { isAbsolute } from 'node:path';
import { isValidDeviceId } from '../../firmware-protocol/index.ts';
import type { BackoffOptions, Credentials } from '../../device-link/index.ts';

export class BridgeConfigError extends Error {
  override readonly name = 'BridgeConfigError';
}

/** The termios rates (B50..B4000000) every Linux USB-serial driver and the FT900 UART divisor
 * calculator accept; anything else is most likely a typo (11520, 1152000 for 115200...). */
export const standardBaudRates: readonly number[] = [
  300, 600, 1200, 1800, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 500000, 576000, 921600,
  1000000, 1152000, 1500000, 2000000, 2500000, 3000000, 3500000, 4000000,
];

export const DEFAULT_BAUD = 115200;

export interface BridgeTimings {
  /** How long the board may take to answer one REQUEST. Default: 1000 ms plus the wire time of
   * the request and of the longest possible answer at the baud rate. */
  requestTimeoutMs?: number;
  /** PING the board this often while no request is in flight (0: only when the port opens). Default 5000 ms. */
  pingIntervalMs?: number;
  /** A board that has not answered a PING within this is reported silent. Default 2000 ms. */
  pongTimeoutMs?: number;
  /** Requests waiting for the board beyond this many are dropped (the server times them out). Default 64. */
  maxQueue?: number;
  /** A request that waited this long is dropped instead of run: the server gave up on it (5 s by
   * default) and running a stale set_gpio or reset_device late is worse than not running it. Default 10000 ms. */
  maxQueueAgeMs?: number;
  serialBackoff?: Partial<BackoffOptions>;
  brokerBackoff?: Partial<BackoffOptions>;
}

export interface CheckedSettings {
  port: string;
  baudRate: number;
  deviceId: string;
  requestTimeoutMs: number;
  pingIntervalMs: number;
  pongTimeoutMs: number;
  maxQueue: number;
  maxQueueAgeMs: number;
}

/** Time to send `bytes` at `baudRate` with 8N1 framing (10 bits a byte), in milliseconds. */
export function wireTimeMs(bytes: number, baudRate: number): number {
  return (bytes * 10 * 1000) / baudRate;
}

/** Serial device paths: absolute on Unix (`/dev/ttyUSB0`, a udev or socat link), `COM3` on Windows. */
export function checkPortPath(port: unknown): string {
  if (typeof port !== 'string' || port.trim() === '') throw new BridgeConfigError('the serial port is missing; pass e.g. --port /dev/ttyUSB0');
  if (isAbsolute(port) || /^(\\\\\.\\)?COM\d{1,3}$/i.test(port)) return port;
  throw new BridgeConfigError(`serial port ${JSON.stringify(port)} is not a device path; use e.g. /dev/ttyUSB0, /dev/ttyACM0 or COM3`);
}

export function checkBaudRate(baudRate: unknown): number {
  if (typeof baudRate === 'number' && standardBaudRates.includes(baudRate)) return baudRate;
  const near = typeof baudRate === 'number' && Number.isFinite(baudRate) ? nearestRate(baudRate) : undefined;
  throw new BridgeConfigError(
    `baud rate ${String(baudRate)} is not a standard rate${near ? ` (did you mean ${near}?)` : ''}; use one of ${standardBaudRates.join(', ')}`,
  );
}

export function checkDeviceId(deviceId: unknown): string {
  if (isValidDeviceId(deviceId)) return deviceId;
  throw new BridgeConfigError(`device id ${JSON.stringify(deviceId)} is not valid: 1-64 letters, digits, '_' or '-', starting with a letter or digit`);
}

/** What the user most likely meant: a digit dropped or doubled (11520), else the closest rate. */
function nearestRate(value: number): number {
  const typo = [value * 10, value / 10].find((candidate) => standardBaudRates.includes(candidate));
  if (typo !== undefined) return typo;
  return standardBaudRates.reduce((best, rate) => (Math.abs(Math.log(rate / value)) < Math.abs(Math.log(best / value)) ? rate : best));
}

function positive(value: number | undefined, fallback: number, name: string, allowZero = false): number {
  if (value === undefined) return fallback;
  if (Number.isFinite(value) && (value > 0 || (allowZero && value === 0))) return value;
  throw new BridgeConfigError(`${name} must be a number above 0${allowZero ? ' (or 0 to turn it off)' : ''}, got ${value}`);
}

export function checkSettings(options: { port: unknown; baudRate?: unknown; deviceId: unknown } & BridgeTimings): CheckedSettings {
  const port = checkPortPath(options.port);
  const baudRate = checkBaudRate(options.baudRate ?? DEFAULT_BAUD);
  const deviceId = checkDeviceId(options.deviceId);
  // A request frame plus the longest answer frame, both fully escaped, must fit the deadline.
  const defaultRequestTimeout = Math.ceil(1000 + wireTimeMs(2 * 8376, baudRate));
  const maxQueue = positive(options.maxQueue, 64, 'maxQueue');
  if (!Number.isInteger(maxQueue)) throw new BridgeConfigError(`maxQueue must be a whole number, got ${maxQueue}`);
  return {
    port,
    baudRate,
    deviceId,
    requestTimeoutMs: positive(options.requestTimeoutMs, defaultRequestTimeout, 'requestTimeoutMs'),
    pingIntervalMs: positive(options.pingIntervalMs, 5000, 'pingIntervalMs', true),
    pongTimeoutMs: positive(options.pongTimeoutMs, 2000, 'pongTimeoutMs'),
    maxQueue,
    maxQueueAgeMs: positive(options.maxQueueAgeMs, 10_000, 'maxQueueAgeMs'),
  };
}

/**
 * The PEM files must parse, the key must belong to the certificate, and the certificate must be
 * the device's (CN = device id, as the broker checks): otherwise the broker refuses every attempt
 * and the bridge would retry forever with a TLS error nobody reads.
 */
export function checkCredentials(credentials: Credentials, deviceId: string): void {
  let certificate: X509Certificate;
  try {
    new X509Certificate(credentials.caPem);
  } catch (error) {
    throw new BridgeConfigError(`the root CA is not a PEM certificate: ${(error as Error).message}`);
  }
  try {
    certificate = new X509Certificate(credentials.certPem);
  } catch (error) {
    throw new BridgeConfigError(`the device certificate is not a PEM certificate: ${(error as Error).message}`);
  }
  try {
    if (!certificate.checkPrivateKey(createPrivateKey(credentials.keyPem))) {
      throw new BridgeConfigError('the device key does not belong to the device certificate');
    }
  } catch (error) {
    if (error instanceof BridgeConfigError) throw error;
    throw new BridgeConfigError(`the device key is not a PEM private key: ${(error as Error).message}`);
  }
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(certificate.subject)?.[1];
  if (cn !== deviceId) throw new BridgeConfigError(`the device certificate is for ${JSON.stringify(cn ?? certificate.subject)}, not for device ${deviceId}`);
}
