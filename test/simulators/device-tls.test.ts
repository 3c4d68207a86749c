/**
 * The device side of TLS, over real handshakes: one context per device, reused; the server's
 * name still checked when only the leaf certificate is used for it; a foreign server refused.
 */
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEphemeralCertificateAuthority, type CertificateAuthority } from '../../certs/index.ts';
import { checkServerNameOnLeafOnly, deviceTlsContext, type Credentials } from '../../device-link/index.ts';

let ca: CertificateAuthority;
let server: tls.Server;
let port: number;
let credentials: Credentials;

beforeAll(async () => {
  ca = await createEphemeralCertificateAuthority();
  const serverCert = await ca.issueServerCertificate(['broker.example']);
  server = tls.createServer({ ca: ca.rootCertPem, cert: serverCert.certPem, key: serverCert.keyPem, requestCert: true, rejectUnauthorized: true }, (socket) => {
    socket.on('error', () => undefined);
    socket.end('hello');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
  const device = await ca.issueDeviceCertificate('dev-tls');
  credentials = { caPem: ca.rootCertPem, certPem: device.certPem, keyPem: device.keyPem };
});

afterAll(() => server.close());

/** Connects the way the transports do; resolves with the socket once secure, or the TLS error. */
async function handshake(servername: string, context = deviceTlsContext(credentials)): Promise<tls.TLSSocket> {
  const socket = tls.connect({ host: '127.0.0.1', port, servername, secureContext: context, rejectUnauthorized: true });
  checkServerNameOnLeafOnly(socket);
  try {
    await once(socket, 'secureConnect');
    return socket;
  } catch (error) {
    socket.destroy();
    throw error;
  }
}

describe('device TLS', () => {
  it('builds one context per device and reuses it for every connection', async () => {
    expect(deviceTlsContext(credentials)).toBe(deviceTlsContext(credentials));
    const first = await handshake('broker.example');
    const second = await handshake('broker.example');
    expect(first.authorized && second.authorized).toBe(true);
    first.destroy();
    second.destroy();
  });

  it('still refuses a server whose certificate does not name the host', async () => {
    await expect(handshake('other.example')).rejects.toMatchObject({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  });

  it('still refuses a server from another CA', async () => {
    const stranger = await createEphemeralCertificateAuthority();
    const strangerCredentials = { ...credentials, caPem: stranger.rootCertPem };
    await expect(handshake('broker.example', deviceTlsContext(strangerCredentials))).rejects.toThrow(/certificate/i);
  });

  it('gives later callers the full chain again', async () => {
    const socket = await handshake('broker.example');
    const detailed = socket.getPeerCertificate(true);
    expect(detailed.subjectaltname).toContain('broker.example');
    expect(detailed.issuerCertificate?.fingerprint256).toBe(new X509Certificate(ca.rootCertPem).fingerprint256);
    socket.destroy();
  });

  it('refuses a certificate or key that cannot be used, with the reason', () => {
    expect(() => deviceTlsContext({ ...credentials, keyPem: 'not a key' })).toThrow();
  });
});
