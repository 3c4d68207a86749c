/** `--tls-host` and IOTCLOUD_TLS_HOSTS turned into the server's certificate names and public host. */
import { afterEach, describe, expect, it } from 'vitest';
import { requestedTlsHosts, tlsHostConfig } from '../../cli/server-options.ts';
import { UsageError } from '../../cli/usage-error.ts';

describe('--tls-host', () => {
  const saved = process.env.IOTCLOUD_TLS_HOSTS;
  afterEach(() => {
    if (saved === undefined) delete process.env.IOTCLOUD_TLS_HOSTS;
    else process.env.IOTCLOUD_TLS_HOSTS = saved;
  });

  it('adds canonical names to the loopback ones; the first is the public host', () => {
    expect(tlsHostConfig(['Board-Host.LAN', '192.0.2.10', '127.0.0.1', '0:0:0:0:0:0:0:1', 'fd00:0::1'])).toEqual({
      tlsHosts: ['localhost', '127.0.0.1', '::1', 'board-host.lan', '192.0.2.10', 'fd00::1'],
      publicHost: 'board-host.lan',
    });
    expect(tlsHostConfig([])).toEqual({});
  });

  it('takes IOTCLOUD_TLS_HOSTS (comma-separated) when the flag is absent, the flag when given', () => {
    process.env.IOTCLOUD_TLS_HOSTS = ' 192.0.2.10, board-host.lan ,';
    expect(requestedTlsHosts(undefined)).toEqual(['192.0.2.10', 'board-host.lan']);
    expect(requestedTlsHosts(['flag.lan'])).toEqual(['flag.lan']);
    delete process.env.IOTCLOUD_TLS_HOSTS;
    expect(requestedTlsHosts(undefined)).toEqual([]);
  });

  it('refuses what is neither a name nor an address, as a usage error naming the flag', () => {
    for (const bad of ['not a host', 'fe80::1%eth0', 'http://board.lan', '-x.lan']) {
      expect(() => tlsHostConfig([bad])).toThrow(UsageError);
      expect(() => tlsHostConfig([bad])).toThrow(/^--tls-host: invalid host/);
    }
  });
});
