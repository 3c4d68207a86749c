/** Real mutual TLS over loopback with Node's tls module, using certificates from the CA. */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createEphemeralCertificateAuthority, type CertificateAuthority, type IssuedCertificate } from '../../certs/index.ts';

interface Credentials {
  certPem: string;
  keyPem: string;
}

interface MutualTlsServer {
  port: number;
  /** Peer CN of every connection the server accepted as authorized. */
  accepted: string[];
  /** Messages of the TLS errors the server saw (refused handshakes). */
  refused: string[];
  close(): Promise<void>;
}

async function startServer(clientTrustPem: string, credentials: Credentials): Promise<MutualTlsServer> {
  const accepted: string[] = [];
  const refused: string[] = [];
  const server = tls.createServer({ key: credentials.keyPem, cert: credentials.certPem, ca: [clientTrustPem], requestCert: true, rejectUnauthorized: true }, (socket) => {
    const commonName = socket.getPeerCertificate().subject.CN;
    accepted.push(`${socket.authorized}:${commonName}`);
    socket.end(`hello ${commonName}`);
  });
  server.on('tlsClientError', (error) => refused.push(error.message));
  server.listen(0, '::');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    accepted,
    refused,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

interface Outcome {
  received: string;
  error?: string;
}

/** Connects, reads until the server closes, and reports what arrived and how it ended. */
async function exchange(options: tls.ConnectionOptions): Promise<Outcome> {
  return new Promise((resolve) => {
    let received = '';
    const socket = tls.connect(options);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('error', (error) => resolve({ received, error: error.message }));
    socket.on('close', () => resolve({ received }));
  });
}

let ca: CertificateAuthority;
let foreign: CertificateAuthority;
let server: MutualTlsServer;
let device: IssuedCertificate;

beforeAll(async () => {
  ca = await createEphemeralCertificateAuthority();
  foreign = await createEphemeralCertificateAuthority();
  device = await ca.issueDeviceCertificate('ft900-tls');
  server = await startServer(ca.clientTrustPem, await ca.issueServerCertificate(['localhost', '127.0.0.1', '::1']));
});
afterAll(() => server.close());

describe('mutual TLS with Node tls', () => {
  it.each([
    ['127.0.0.1', 'ecdsa-p256'],
    ['::1', 'rsa-2048'],
    ['localhost', 'ecdsa-p256'],
  ] as const)('succeeds over %s with a %s device certificate', async (host, algorithm) => {
    const deviceId = `dev-${algorithm}`;
    const credentials = await ca.issueDeviceCertificate(deviceId, { algorithm });
    const outcome = await exchange({ host, port: server.port, ca: [ca.rootCertPem], key: credentials.keyPem, cert: credentials.certPem });
    expect(outcome).toEqual({ received: `hello ${deviceId}` });
    expect(server.accepted).toContain(`true:${deviceId}`);
  });

  it('works with an RSA-2048 server certificate too', async () => {
    const rsaServer = await startServer(ca.clientTrustPem, await ca.issueServerCertificate(['localhost'], { algorithm: 'rsa-2048' }));
    try {
      const outcome = await exchange({ host: 'localhost', port: rsaServer.port, ca: [ca.rootCertPem], key: device.keyPem, cert: device.certPem });
      expect(outcome).toEqual({ received: 'hello ft900-tls' });
    } finally {
      await rsaServer.close();
    }
  });

  it('refuses a device certificate from a foreign CA', async () => {
    const intruder = await foreign.issueDeviceCertificate('ft900-tls');
    const before = { accepted: server.accepted.length, refused: server.refused.length };
    const outcome = await exchange({ host: '127.0.0.1', port: server.port, ca: [ca.rootCertPem], key: intruder.keyPem, cert: intruder.certPem });
    // Node verifies the client chain after the TLS 1.3 handshake and then drops the socket, so the
    // verdict shows as: nothing delivered, no accepted connection, one failed client on the server.
    expect(outcome.received).toBe('');
    await vi.waitFor(() => expect(server.refused.length).toBe(before.refused + 1));
    expect(server.accepted).toHaveLength(before.accepted);
  });

  it('refuses a client without a certificate', async () => {
    const refusedBefore = server.refused.length;
    const outcome = await exchange({ host: '127.0.0.1', port: server.port, ca: [ca.rootCertPem] });
    expect(outcome.received).toBe('');
    await vi.waitFor(() => expect(server.refused.slice(refusedBefore).join(' ')).toMatch(/peer did not return a certificate/i));
  });

  it('lets the device refuse a server certificate from a foreign CA', async () => {
    const impostor = await startServer(ca.clientTrustPem, await foreign.issueServerCertificate(['localhost', '127.0.0.1']));
    try {
      const outcome = await exchange({ host: '127.0.0.1', port: impostor.port, ca: [ca.rootCertPem], key: device.keyPem, cert: device.certPem });
      expect(outcome.received).toBe('');
      expect(outcome.error).toMatch(/certificate signature failure|unable to (get|verify)/i);
      expect(impostor.accepted).toEqual([]);
    } finally {
      await impostor.close();
    }
  });

  it('lets the device refuse a server name outside the certificate', async () => {
    const outcome = await exchange({ host: '127.0.0.1', servername: 'elsewhere.example', port: server.port, ca: [ca.rootCertPem], key: device.keyPem, cert: device.certPem });
    expect(outcome.error).toMatch(/does not match certificate's altnames/);
  });
});
