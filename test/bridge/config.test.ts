/**
 * Bridge settings are checked before anything opens, and a wrong one is named in the error:
 * a baud rate typo, a relative port path, a bad device id, missing or mismatched credentials.
 */
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { BridgeConfigError, startBridge, wireTimeMs, type BridgeOptions } from '../../ft900/bridge/index.ts';
import { createEphemeralCertificateAuthority } from '../../certs/index.ts';

const base: BridgeOptions = { port: '/dev/ttyUSB0', deviceId: 'ft900device1', url: 'mqtt://127.0.0.1:1', allowPlaintext: true, logger: pino({ level: 'silent' }) };
const refused = (overrides: Partial<BridgeOptions>) => {
  try {
    startBridge({ ...base, ...overrides }).close();
  } catch (error) {
    expect(error).toBeInstanceOf(BridgeConfigError);
    return (error as Error).message;
  }
  throw new Error('the bridge started');
};

describe('bridge settings', () => {
  it('accepts standard baud rates only, and suggests the nearest one', () => {
    expect(refused({ baudRate: 11520 })).toContain('baud rate 11520 is not a standard rate (did you mean 115200?)');
    expect(refused({ baudRate: 115201 })).toContain('did you mean 115200?');
    expect(refused({ baudRate: 1152000.5 })).toContain('not a standard rate');
    expect(refused({ baudRate: Number.NaN })).toContain('not a standard rate');
  });

  it('wants a device path for the port', () => {
    expect(refused({ port: 'ttyUSB0' })).toContain('not a device path; use e.g. /dev/ttyUSB0');
    expect(refused({ port: '' })).toContain('serial port is missing');
  });

  it('checks the device id', () => {
    expect(refused({ deviceId: 'a/b' })).toContain('device id "a/b" is not valid');
    expect(refused({ deviceId: '' })).toContain('is not valid');
  });

  it('checks the broker URL and wants credentials for mqtts', () => {
    expect(refused({ url: 'mqtts://localhost:8883' })).toContain('needs the device credentials');
    expect(refused({ url: 'mqtt://localhost:1883', allowPlaintext: false })).toContain('not encrypted');
    expect(refused({ url: 'http://x' })).toContain('unsupported URL scheme');
  });

  it('checks timings', () => {
    expect(refused({ requestTimeoutMs: 0 })).toContain('requestTimeoutMs must be a number above 0');
    expect(refused({ maxQueue: 1.5 })).toContain('maxQueue must be a whole number');
  });

  it('refuses credentials that the broker would refuse: wrong device, key of another certificate, not PEM', async () => {
    const ca = await createEphemeralCertificateAuthority();
    const mine = await ca.issueDeviceCertificate('ft900device1');
    const other = await ca.issueDeviceCertificate('ft900device2');
    const url = 'mqtts://127.0.0.1:1';
    const ok = { caPem: ca.rootCertPem, certPem: mine.certPem, keyPem: mine.keyPem };
    startBridge({ ...base, url, credentials: ok, allowPlaintext: false }).close(); // fine
    expect(refused({ url, credentials: { ...ok, certPem: other.certPem, keyPem: other.keyPem } })).toContain('the device certificate is for "ft900device2", not for device ft900device1');
    expect(refused({ url, credentials: { ...ok, keyPem: other.keyPem } })).toContain('the device key does not belong to the device certificate');
    expect(refused({ url, credentials: { ...ok, caPem: 'nope' } })).toContain('the root CA is not a PEM certificate');
    expect(refused({ url, credentials: { ...ok, keyPem: 'nope' } })).toContain('the device key is not a PEM private key');
  });

  it('sizes the default request deadline from the baud rate', () => {
    const at = (baudRate: number) => startBridge({ ...base, baudRate, pingIntervalMs: 0 });
    const slow = at(9600);
    const fast = at(921600);
    // Two worst-case frames (8376 bytes each) on the wire, plus a second for the board.
    expect(slow.settings.requestTimeoutMs).toBe(Math.ceil(1000 + wireTimeMs(2 * 8376, 9600)));
    expect(fast.settings.requestTimeoutMs).toBeLessThan(1200);
    void slow.close();
    void fast.close();
  });
});
